"""Step 3 of the app: writing captions, their safety badges, the OpenAI key box, the seed.

Driven as a user would, from the Python side, against the fake pipeline (tests/fakes.py);
shared fixtures and helpers are in tests/ui_helpers.py. tests/test_ui_w7.py runs every
tests/test_ui_*.py once more under ipywidgets 7.7.1.
"""

from __future__ import annotations

import ipywidgets
import pytest

import memer.captioning
from memer import ui
from memer.errors import CaptionError
from tests.fakes import CAPTION_TEXTS
from tests.ui_helpers import (
    Gate,
    all_widgets,
    picked,
    renders,
    searched,
    type_caption,
    visible,
    with_captions,
)

pytestmark = pytest.mark.usefixtures("quick")


def test_write_captions_lists_them_with_badges_and_uses_the_first_safe_one(app, fake):
    with_captions(app, pick=2)
    _step, args, kwargs = next(call for call in fake.calls if call[0] == "captions")
    assert args[0] is app.result.candidates[2]
    assert kwargs["theme"] == "apple pie" and kwargs["engine"] == "local" and kwargs["style"] == "funny"
    assert kwargs["api_key"] is None
    labels = [button.description for button in app.captions.buttons]
    assert len(labels) == 10 and labels[0] == f"1. ✅ safe · {CAPTION_TEXTS[0]}"
    assert labels[2].startswith("3. ⚠️ sensitive · ") and labels[6].startswith("7. ⛔ unsafe · ")
    assert "offline word list (weaker)" in app.captions.safety_note.value
    assert app.captions.buttons[0].button_style == "info"
    assert app.editor.text.value == CAPTION_TEXTS[0]
    assert renders(fake)[-1][0] == CAPTION_TEXTS[0] and app.preview.meme is not None
    assert app.captions.write_button.description == "More captions"
    assert "10 new captions" in app.captions.status.line.value and not visible(app.captions.status.bar)


def test_more_captions_adds_a_batch_and_keeps_the_text_in_use(app, fake):
    with_captions(app)
    type_caption(app, "my edit")
    app.captions.write_button.click()
    app.wait()
    assert len(app.captions.buttons) == 20 and app.captions.buttons[10].description.startswith("11. ")
    assert app.editor.text.value == "my edit"


def test_a_failed_batch_keeps_the_list_and_says_why_under_the_button(app, fake):
    with_captions(app)
    fake.fail["captions"] = CaptionError("the model ran out of memory", "Try again.")
    app.captions.write_button.click()
    app.wait()
    assert len(app.captions.buttons) == 10 and app.editor.text.value == CAPTION_TEXTS[0]
    assert "The model ran out of memory" in app.captions.status.error.value  # a capital letter first
    assert app.search.status.error.value == ""


def test_captions_and_the_edit_stay_with_their_picture(app, fake):
    with_captions(app, pick=2)
    type_caption(app, "edited for picture three")
    picked(app, 4)
    assert app.captions.buttons == [] and app.editor.text.value == ""
    assert app.captions.write_button.description == "Write captions"
    picked(app, 2)
    assert len(app.captions.buttons) == 10 and app.editor.text.value == "edited for picture three"
    assert renders(fake)[-1][0] == "edited for picture three"


def test_a_click_on_the_chosen_caption_brings_its_original_text_back(app, fake):
    with_captions(app)
    type_caption(app, "ruined it")
    app.captions.buttons[0].click()
    app.wait()
    assert app.editor.text.value == CAPTION_TEXTS[0] and renders(fake)[-1][0] == CAPTION_TEXTS[0]


def test_an_unsafe_caption_needs_a_confirm_that_says_why(app, fake):
    with_captions(app)
    app.captions.buttons[6].click()
    app.wait()
    assert visible(app.captions.confirm) and app.editor.text.value == CAPTION_TEXTS[0]
    assert "violence" in app.captions.confirm_text.value and "offline word list" in app.captions.confirm_text.value
    app.captions.confirm_no.click()
    assert not visible(app.captions.confirm) and app.editor.text.value == CAPTION_TEXTS[0]
    app.captions.buttons[6].click()
    app.captions.confirm_yes.click()
    app.wait()
    assert app.editor.text.value == CAPTION_TEXTS[6] and app.captions.buttons[6].button_style == "info"


def test_an_unsafe_caption_is_never_chosen_for_you(fake, no_key):
    fake.levels = [2] * 10
    app = with_captions(ui.App(pipeline=fake))
    assert app.editor.text.value == "" and app.preview.meme is None


def test_cancel_while_writing_keeps_the_captions_there_were(app, fake):
    with_captions(app)
    gate = Gate(fake, "captions")
    app.captions.write_button.click()
    assert gate.entered.wait(5)
    assert visible(app.captions.cancel_button) and app.captions.write_button.disabled
    app.captions.cancel_button.click()
    assert "Cancelled" in app.captions.status.line.value and not app.captions.write_button.disabled
    gate.release.set()
    app.wait()
    assert len(app.captions.buttons) == 10


def test_controls_set_while_writing_cannot_land_after_the_batch_is_done(app, fake, monkeypatch):
    """The kernel's thread (the engine changed) and the caption worker (done) both settle the controls. The one
    that read "writing" must not write after the one that read "done": Write captions would stay disabled."""
    import threading
    import time

    from memer.ui import captions_panel

    with_captions(app)
    gate = Gate(fake, "captions")
    app.captions.write_button.click()
    assert gate.entered.wait(5)
    read_busy, go_on = threading.Event(), threading.Event()
    plain_show = captions_panel.show

    def slow_show(widget, shown):  # the kernel thread's settle pauses between reading "busy" and writing it
        if threading.current_thread().name == "kernel" and widget is app.captions.cancel_button and shown:
            read_busy.set()
            assert go_on.wait(10)
        plain_show(widget, shown)

    monkeypatch.setattr(captions_panel, "show", slow_show)
    kernel = threading.Thread(target=lambda: setattr(app.captions.engine, "value", "openai"), name="kernel")
    kernel.start()
    assert read_busy.wait(5)
    gate.release.set()  # the batch finishes; the worker settles the controls as "done"
    time.sleep(0.3)
    go_on.set()
    kernel.join(5)
    app.wait()
    assert not app.captions.write_button.disabled and not visible(app.captions.cancel_button)
    assert len(app.captions.buttons) == 20 and visible(app.captions.list)


def test_with_a_key_found_there_is_no_key_box_and_openai_is_the_default(fake, with_key):
    app = ui.App(pipeline=fake)
    assert app.captions.engine.value == "openai" and not visible(app.captions.key_box)
    searched(app)
    picked(app)
    app.captions.write_button.click()
    app.wait()
    kwargs = next(kw for step, _, kw in fake.calls if step == "captions")
    assert kwargs["engine"] == "openai" and kwargs["api_key"] is None
    assert "OpenAI moderation" in app.captions.safety_note.value


def test_without_a_key_the_box_shows_only_for_openai_and_says_what_to_do(app, fake):
    assert app.captions.engine.value == "local" and not visible(app.captions.key_box)
    searched(app)
    picked(app)
    app.captions.engine.value = "openai"
    assert visible(app.captions.key_box) and isinstance(app.captions.key_box, ipywidgets.Password)
    app.captions.write_button.click()
    app.wait()
    assert "Paste one in the key box, or choose Engine: local." in app.captions.status.error.value
    assert "captions" not in fake.steps()


def test_a_typed_key_goes_to_the_pipeline_and_nowhere_else(app, fake):
    key = "sk-typed-secret-123"
    app.captions.key_box.value = key  # what the front end syncs on Enter or leaving the box
    assert app.captions.key_box.value == ""
    for widget in all_widgets(app.widget):
        assert key not in repr(widget.get_state())
    searched(app)
    picked(app)
    app.captions.engine.value = "openai"
    app.captions.write_button.click()
    app.wait()
    app.captions.write_button.click()
    app.wait()
    assert [kw["api_key"] for step, _, kw in fake.calls if step == "captions"] == [key, key]


def test_an_error_never_echoes_the_typed_key_or_one_found_elsewhere(app, fake):
    key = "sk-typed-secret-456"
    found = "sk-" + "proj-foundintheenvironment0123456789"
    fake.fail["captions"] = CaptionError(f"OpenAI refused the key {key} and {found}.", "Check it.")
    searched(app)
    picked(app)
    app.captions.engine.value = "openai"
    app.captions.key_box.value = key
    app.captions.write_button.click()
    app.wait()
    shown = app.captions.status.error.value
    assert "OpenAI refused the key" in shown and key not in shown and found not in shown


def test_a_failing_key_lookup_opens_the_app_with_the_key_box(fake, monkeypatch):
    def refuse(explicit=None):
        raise PermissionError("the notebook was not granted access to the secret")

    monkeypatch.setattr(memer.captioning, "find_openai_key", refuse)
    app = ui.App(pipeline=fake)
    app.captions.engine.value = "openai"
    assert not app.captions.key_found and visible(app.captions.key_box)


def test_what_the_model_saw_shows_with_the_captions_and_goes_into_the_png(app, fake):
    with_captions(app)
    assert "What the model sees: a picture of apple pie" in app.captions.description.value
    assert renders(fake)[-1][1]["description"] == "a picture of apple pie"
    assert "Safety check: offline word list (weaker)." in app.captions.safety_note.value


@pytest.mark.parametrize(
    ("typed", "sent", "error"),
    [("", None, ""), ("42", 42, ""), ("forty-two", None, "is not a whole number. Type a whole number, e.g. 42")],
)
def test_the_seed_box_is_checked_and_passed_on(app, fake, typed, sent, error):
    searched(app)
    picked(app)
    app.captions.seed.value = typed
    app.captions.write_button.click()
    app.wait()
    calls = [kw for step, _, kw in fake.calls if step == "captions"]
    if error:
        assert (
            error in app.captions.status.error.value and calls == [] and "--seed" not in app.captions.status.error.value
        )
    else:
        assert calls and calls[0]["seed"] == sent
