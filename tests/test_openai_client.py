"""The OpenAI key and client shared by the caption engine and the generated source."""

from __future__ import annotations

import pytest

from memer import openai_client
from tests.standins.settings import override


@pytest.mark.parametrize(
    ("key", "bad"),
    [("sk-proj-abc123", False), ("sk-abc 123", True), ('"sk-abc"', False), ("sk-abc\n", True), ("sk-ключ", True)],
)
def test_key_problem_spots_what_no_key_has(key, bad):
    assert (openai_client.key_problem(key) is not None) is bad


def test_the_client_gets_memers_timeout_and_retries_and_no_base_url(monkeypatch):
    override(monkeypatch, OPENAI_TIMEOUT=7.5, OPENAI_MAX_RETRIES=1)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    client = openai_client.new_client("sk-test")
    try:
        assert client.timeout == 7.5 and client.max_retries == 1
        assert str(client.base_url).startswith("http://127.0.0.1:9/v1")  # the SDK read the seam itself
    finally:
        client.close()


def test_redact_cuts_the_key_out():
    assert (
        openai_client.redact("Incorrect API key provided: sk-123", "sk-123") == "Incorrect API key provided: [redacted]"
    )
    assert openai_client.redact("nothing here", "") == "nothing here"
