"""memer.hub: the one check of the Hugging Face hub, against silent and closed local ports (never the internet)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from memer import hub
from memer.errors import ModelError
from tests.standins.settings import override


@pytest.fixture(autouse=True)
def _fresh_check(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    override(monkeypatch, HUB_TIMEOUT=0.3)
    hub.forget()
    yield
    hub.forget()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_a_silent_hub_is_unreachable_within_the_timeout(monkeypatch, silent_port):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent_port}")
    started = time.monotonic()
    status = hub.hub_status()
    assert time.monotonic() - started < 2.0
    assert not status.reachable and status.reason == "no answer within 0.3 s"
    assert "HF_HUB_OFFLINE=1" in hub.OFFLINE_HINT
    assert f"127.0.0.1:{silent_port}" in hub.unreachable_message(status)


def test_a_closed_port_is_unreachable_at_once(monkeypatch, closed_port):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port}/")
    status = hub.hub_status()
    assert not status.reachable and status.reason == "connection refused"
    assert status.endpoint == f"http://127.0.0.1:{closed_port}"


def test_the_hub_is_asked_once_per_process(monkeypatch, server):
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    assert hub.hub_status().reachable  # any HTTP answer (a 404 here) means it is there
    assert hub.hub_status().reachable
    assert len(server.requests) == 1


def test_hf_hub_offline_skips_the_check(monkeypatch, server):
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    status = hub.hub_status()
    assert status.offline_requested and not status.reachable
    assert server.requests == []


def test_an_unreachable_hub_turns_on_offline_mode_for_the_load_only(monkeypatch, closed_port):
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    with hub.offline_if_unreachable() as status:
        assert not status.reachable and constants.HF_HUB_OFFLINE is True
    assert constants.HF_HUB_OFFLINE is False


def test_clip_with_a_silent_hub_fails_fast_with_one_clear_line(monkeypatch, silent_port):
    """A model id that is not a local folder, the hub silent: a clear ModelError, no retries waited out."""
    import huggingface_hub.constants as constants
    import open_clip  # noqa: F401 - imported before the clock starts: the import is not the wait measured

    from memer.clip import load_clip

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent_port}")
    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        load_clip("RN50", "openai", "cpu")
    assert time.monotonic() - started < 5.0  # today: huggingface_hub's retries, 50 s
    message = str(caught.value)
    assert "cannot be reached (no answer within 0.3 s)" in message and "HF_HUB_OFFLINE=1" in message
    assert "\n" not in message and caught.value.__cause__ is None
