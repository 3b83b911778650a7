"""OpenAI answers within one wall-clock budget and under a size cap (issue 19, items 6 and 9).

The SDK's ``timeout`` bounds each read, not a request: a server that trickles its answer
a byte at a time never trips it. memer's budget (MEMER_OPENAI_TIMEOUT) is a deadline over
the whole run, for captions, moderation and pictures alike; and an answer is read raw,
up to a cap, before anything parses it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from PIL import Image

from memer import settings
from memer.captioning import generate_captions
from memer.errors import CaptionError, SourceError
from memer.sources.generated import search_generated
from tests.standins.openai_api import FAKE_KEY, huge_image_answer
from tests.standins.settings import override

BUDGET = 1.5
SLACK = 2.0  # a busy machine (two cores shared by many tests)


def _trickle(openai_api, path: str) -> None:
    """One byte a second: each read gets a byte, so a per-read timeout never fires (the server stops after 10 s)."""
    openai_api.server.fault(path, "trickle", size=1, seconds=1.0)


# --- item 9: one deadline --------------------------------------------------------------------


def test_a_trickled_caption_answer_ends_at_the_budget(openai_api, monkeypatch):
    override(monkeypatch, OPENAI_TIMEOUT=BUDGET)
    _trickle(openai_api, "/v1/chat/completions")
    started = time.monotonic()
    with pytest.raises(CaptionError, match=rf"did not answer within {BUDGET:g} s in total") as caught:
        generate_captions("apple pie", engine="openai")
    assert time.monotonic() - started < BUDGET + SLACK
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_a_trickled_description_ends_at_the_budget(openai_api, monkeypatch):
    """Describing the picture is an OpenAI call too: the same deadline, not the SDK's per-read timeout."""
    from memer.captioning import describe_picture

    override(monkeypatch, OPENAI_TIMEOUT=BUDGET)
    _trickle(openai_api, "/v1/chat/completions")
    started = time.monotonic()
    with pytest.raises(CaptionError, match=rf"did not answer within {BUDGET:g} s in total") as caught:
        describe_picture(Image.new("RGB", (64, 48), "orange"), engine="openai")
    assert time.monotonic() - started < BUDGET + SLACK
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_a_trickled_moderation_answer_falls_back_to_the_word_list_at_the_budget(openai_api, monkeypatch):
    override(monkeypatch, OPENAI_TIMEOUT=BUDGET)
    _trickle(openai_api, "/v1/moderations")
    started = time.monotonic()
    batch = generate_captions("apple pie", engine="openai")
    assert time.monotonic() - started < BUDGET + SLACK
    assert "OpenAI moderation failed" in batch.safety_check and "did not answer within" in batch.safety_check
    assert len(batch.captions) == 10


def test_a_trickled_picture_answer_ends_at_the_budget(openai_api, monkeypatch):
    override(monkeypatch, OPENAI_TIMEOUT=BUDGET, GENERATOR="openai")
    _trickle(openai_api, "/v1/images/generations")
    started = time.monotonic()
    with pytest.raises(SourceError, match=rf"did not draw within {BUDGET:g} s") as caught:
        search_generated("apple pie")
    assert time.monotonic() - started < BUDGET + SLACK
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_the_command_line_ends_at_the_budget_with_one_line(openai_api, tmp_path):
    """``memer caption --engine openai`` in a fresh process, MEMER_OPENAI_TIMEOUT=2, a one-byte-a-second server."""
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (300, 200), (180, 90, 30)).save(photo)
    _trickle(openai_api, "/v1/chat/completions")
    env = {
        **os.environ,
        "OPENAI_BASE_URL": openai_api.server.url + "/v1",
        "OPENAI_API_KEY": FAKE_KEY,
        "MEMER_OPENAI_TIMEOUT": "2",
        "MEMER_OPENAI_MAX_RETRIES": "0",
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "memer", "caption", str(photo), "--theme", "pie", "--engine", "openai"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], env=env, timeout=60,
    )  # fmt: skip
    took = time.monotonic() - started
    assert done.returncode == 1
    assert took < 8.0, took  # 2 s of budget and the start of a Python process; the server trickles for 10 s
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "did not answer within 2 s in total" in lines[0], done.stderr
    assert "Traceback" not in done.stderr and FAKE_KEY not in done.stdout + done.stderr


# --- item 6: capped before parsing, no more pictures than asked for ----------------------------


def test_a_huge_picture_answer_is_refused_without_being_read_whole(openai_api, monkeypatch):
    override(monkeypatch, GENERATOR="openai", MAX_IMAGE_BYTES=100_000, GENERATE_N=2)
    openai_api.image_body = huge_image_answer(40 * 1024 * 1024)  # built before measuring
    import openai  # noqa: F401 - imported before measuring too: the SDK's own import takes about 20 MB

    tracemalloc.start()
    try:
        with pytest.raises(SourceError) as caught:
            search_generated("apple pie")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * 1024 * 1024, f"{peak / 2**20:.0f} MiB held for a 40 MiB answer"
    assert "more than" in str(caught.value) and "MEMER_MAX_IMAGE_BYTES" in str(caught.value)


def test_a_thousand_pictures_for_two_asked_decodes_and_saves_two(openai_api, monkeypatch):
    override(monkeypatch, GENERATOR="openai", GENERATE_N=2)
    openai_api.image_mode = "extra"
    found = search_generated("apple pie")
    assert len(found) == 2
    saved = list((settings.download_dir() / "generated").iterdir())
    assert len(saved) == 2


def test_a_huge_caption_answer_is_refused_at_the_cap(openai_api, monkeypatch):
    from memer.captioning import openai_answers

    monkeypatch.setattr(openai_answers, "MAX_ANSWER_BYTES", 50_000)
    openai_api.captions = ["x" * 1000] * 200  # a 200 KB answer
    with pytest.raises(CaptionError, match="far more than any caption answer"):
        generate_captions("apple pie", engine="openai")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "web page instead of pictures"),
        (b'{"data": [{"b64_json": "AAAA"', "not JSON"),
        (b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper than"),
        (b'{"data": {"b64_json": "AAAA"}}', "without any picture"),
    ],
)
def test_a_broken_picture_answer_is_one_clear_line(openai_api, monkeypatch, body, message):
    override(monkeypatch, GENERATOR="openai")
    openai_api.image_body = body
    with pytest.raises(SourceError, match=message) as caught:
        search_generated("apple pie")
    assert caught.value.__cause__ is None and caught.value.__context__ is None
