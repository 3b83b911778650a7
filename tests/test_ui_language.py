"""The app's Language box: English by default (or MEMER_LANGUAGE), any language typed, the last choice kept.

Driven as a user would against the fake pipeline (tests/fakes.py); tests/test_ui_w7.py runs this
file again under ipywidgets 7.7.1.
"""

from __future__ import annotations

import pytest

from memer import settings, ui
from memer.ui import captions_panel
from tests.ui_helpers import picked, renders, searched, with_captions

pytestmark = pytest.mark.usefixtures("quick")


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    """Each test is a new session: no language chosen yet (the module keeps the session's choice)."""
    monkeypatch.setattr(captions_panel, "_last_language", [])
    monkeypatch.setattr(settings, "LANGUAGE", "")


def _captions_calls(fake) -> list[dict]:
    return [kwargs for step, _, kwargs in fake.calls if step == "captions"]


def test_english_is_the_default_and_common_languages_are_offered(app):
    box = app.captions.language
    assert box.value == "English" and box.description == "Language"
    assert {"Hindi (हिन्दी)", "Japanese (日本語)", "Arabic (العربية)", "Thai (ไทย)"} <= set(box.options)
    assert box in app.captions.widget.children[0].children  # beside the engine and the style


def test_a_chosen_language_goes_to_the_captions_and_the_preview(app, fake):
    searched(app)
    picked(app)
    app.captions.engine.value = "local"
    app.captions.language.value = "Turkish (Türkçe)"
    app.captions.write_button.click()
    app.wait()
    assert _captions_calls(fake)[-1]["language"] == "tr"
    assert "almost unchecked" in app.captions.safety_note.value  # the local check says it is English-only
    assert renders(fake)[-1][1]["language"] == "tr"  # the preview upper-cases by Turkish rules


def test_changing_the_language_redraws_the_preview_in_its_case(app, fake):
    with_captions(app)
    before = len(renders(fake))
    app.captions.language.value = "Turkish (Türkçe)"
    app.wait()
    assert len(renders(fake)) > before and renders(fake)[-1][1]["language"] == "tr"


def test_a_typed_code_or_name_works(app, fake):
    searched(app)
    picked(app)
    app.captions.engine.value = "local"
    for typed, code in (("pt-BR", "pt-BR"), ("swahili", "sw"), ("Deutsch", "de")):
        app.captions.language.value = typed
        app.captions.write_button.click()
        app.wait()
        assert _captions_calls(fake)[-1]["language"] == code


def test_a_value_that_is_not_a_language_is_one_line_naming_the_box(app, fake):
    searched(app)
    picked(app)
    app.captions.language.value = "Elvish"
    app.captions.write_button.click()
    app.wait()
    error = app.captions.status.error.value
    assert "is not a language memer knows" in error and "Language box" in error and "--language" not in error
    assert _captions_calls(fake) == []  # nothing was asked


def test_the_last_choice_is_kept_for_the_session(fake, no_key):
    first = ui.App(pipeline=fake)
    first.captions.language.value = "Japanese (日本語)"
    again = ui.App(pipeline=fake)  # the app cell run again in the same session
    assert again.captions.language.value == "Japanese (日本語)"


def test_memer_language_sets_the_first_choice(fake, no_key, monkeypatch):
    monkeypatch.setattr(settings, "LANGUAGE", "hi")
    assert ui.App(pipeline=fake).captions.language.value == "Hindi (हिन्दी)"
    monkeypatch.setattr(settings, "LANGUAGE", "Elvish")  # shown as set; writing captions says why it fails
    app = ui.App(pipeline=fake)
    assert app.captions.language.value == "Elvish"
    picked(searched(app))
    app.captions.write_button.click()
    app.wait()
    assert "is not a language memer knows" in app.captions.status.error.value


def test_english_batches_keep_their_plain_safety_note(app, fake):
    with_captions(app)
    assert _captions_calls(fake)[-1]["language"] == "en"
    assert "almost unchecked" not in app.captions.safety_note.value
