"""The app's words for memer's errors: from each error's code, naming the app's own controls.

The key tests drive the real caption step (memer.pipeline.captions and the
OpenAI engine) against the OpenAI stand-in, so a change in what the engine
raises shows here; the pictures come from the fake pipeline (tests/fakes.py).
"""

from __future__ import annotations

import pytest

from memer import pipeline, ui
from memer.errors import CODES, CaptionError, MemerError
from memer.ui import messages
from tests.fakes import FakePipeline
from tests.standins.settings import override


class RealCaptions(FakePipeline):
    """The fake's search and pictures; the real captions step, against whatever OPENAI_BASE_URL points at."""

    def captions(self, candidate, **kwargs):
        self.calls.append(("captions", (candidate,), kwargs))
        return pipeline.captions(candidate, **kwargs)


@pytest.fixture
def real(tmp_path, monkeypatch) -> RealCaptions:
    override(monkeypatch, UI_SETTLE=0.0, UI_PREVIEW_DELAY=0.0, UI_TICK=0.02, OUTPUT_SIZE=320, UI_PREVIEW_SIZE=240)
    return RealCaptions(tmp_path / "pictures")


def _write_with_openai(app: ui.App, pasted: str | None = None) -> str:
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    app.wait()
    app.gallery.buttons[1].click()
    app.wait()
    app.captions.engine.value = "openai"
    if pasted is not None:
        app.captions.key_box.value = pasted
    app.captions.write_button.click()
    app.wait()
    return app.captions.status.error.value


def test_a_pasted_key_openai_refuses_is_named_as_the_pasted_key(real, openai_api, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")  # nothing found: the app shows its key box
    app = ui.App(pipeline=real)
    shown = _write_with_openai(app, pasted="sk-pasted-but-wrong-123")
    assert openai_api.completion_requests, "the real engine never asked the stand-in"
    assert openai_api.completion_requests[0].headers["authorization"] == "Bearer sk-pasted-but-wrong-123"
    assert "did not accept the key you pasted" in shown
    assert "OPENAI_API_KEY" not in shown and "--engine" not in shown and "sk-pasted" not in shown


def test_a_key_found_in_the_environment_that_openai_refuses_says_where_to_fix_it(real, openai_api, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-found-but-wrong-456")
    app = ui.App(pipeline=real)
    shown = _write_with_openai(app)
    assert openai_api.completion_requests
    assert "key found in your Colab secrets or environment (OPENAI_API_KEY)" in shown
    assert "you pasted" not in shown and "sk-found" not in shown


def test_a_rate_limit_points_at_the_engine_menu_not_a_flag(real, openai_api):
    openai_api.server.fault("/v1/chat/completions", "status", status=429, retry_after="0")
    app = ui.App(pipeline=real)
    shown = _write_with_openai(app)
    assert "too many requests" in shown and "(Engine: local, above)" in shown and "--engine" not in shown


# --- each code's line -------------------------------------------------------------------


def test_every_app_row_is_a_known_code():
    assert set(messages.LINES) <= set(CODES)


@pytest.mark.parametrize(
    ("err", "shown", "never"),
    [
        (CaptionError("x", "h", code="openai.key_refused", fix="api_key"), "the key you pasted", "OPENAI_API_KEY"),
        (CaptionError("x", "h", code="openai.key_refused", fix="OPENAI_API_KEY"), "Colab secrets", "pasted"),
        (CaptionError("x", "h", code="openai.key_malformed", fix="api_key"), "The key you pasted has", "OPENAI"),
        (CaptionError("x", "h", code="openai.no_key", fix="OPENAI_API_KEY"), "Paste one in the key box", "export"),
        (
            CaptionError(
                "OpenAI did not answer within 5 s in total.", "raise MEMER_OPENAI_TIMEOUT", code="openai.timeout"
            ),
            "in total. Try again later, or use the free local engine (Engine: local, above).",
            "MEMER_",
        ),
        (
            CaptionError("could not connect to the OpenAI API.", "(--engine local)", code="openai.unavailable"),
            "Could not connect",
            "--engine",
        ),
        (
            CaptionError("the seed 'x' is not a whole number.", "Use --seed 42.", code="caption.bad_seed", fix="seed"),
            "Type a whole number, e.g. 42, or leave the box empty.",
            "--seed",
        ),
        (
            CaptionError("unknown caption engine 'x'.", "Use --engine.", code="caption.unknown_engine"),
            "Engine menu",
            "--",
        ),
    ],
)
def test_each_code_is_said_in_the_apps_words(err, shown, never):
    text = messages.error_for_app(err)
    assert shown in text and never not in text


def test_an_error_without_an_app_row_is_the_librarys_words_as_a_sentence():
    err = MemerError("the cache is old.", "Rebuild it.", code="cache.error")
    assert messages.error_for_app(err) == "The cache is old. Rebuild it."


def test_a_missing_cache_is_a_calm_line_by_its_code_whatever_the_words():
    assert messages.source_note("openimages", False, "cache.missing") == messages.OPENIMAGES_NOT_SET_UP
    assert messages.source_note("openimages", False, "cache.error") is None
    assert messages.source_note("commons", False, "cache.missing") is None


def test_no_message_is_reworded_by_pattern():
    import inspect

    source = inspect.getsource(messages)
    assert "import re" not in source and "re.compile" not in source
