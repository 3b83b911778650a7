"""The notebook app driven as a user would: type, press Enter, click, from the Python side.

Runs against a fake pipeline (tests/fakes.py) with real image files, so every
step can be made to fail or to hang on purpose. Run under ipywidgets 8 (the
test environment) and 7.7.1 (what Colab ships): .ci/run runs this file in
.venv-w7 too. Each step runs in a background thread; ``app.wait()`` waits for
the app to be idle.
"""

from __future__ import annotations

import base64
import datetime
import io
import re
import sys
import threading
import types

import ipywidgets
import pytest
from PIL import Image

import memer.captioning
from memer import settings, ui
from memer.errors import CaptionError, MemerError, RenderError, SourceError
from memer.ui import compat, logs, messages
from memer.ui.editor import credit_needed, text_for_position
from tests.fakes import CAPTION_TEXTS, FakePipeline
from tests.standins.settings import override

IPYWIDGETS_MAJOR = int(ipywidgets.__version__.split(".")[0])


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    """No settle or preview delay unless a test asks for one; a fast clock."""
    override(monkeypatch, UI_SETTLE=0.0, UI_PREVIEW_DELAY=0.0, UI_TICK=0.02, OUTPUT_SIZE=320, UI_PREVIEW_SIZE=240)


@pytest.fixture
def fake(tmp_path) -> FakePipeline:
    return FakePipeline(tmp_path / "pictures")


@pytest.fixture
def no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr(memer.captioning, "find_openai_key", lambda explicit=None: None)


@pytest.fixture
def with_key(monkeypatch):
    monkeypatch.setattr(memer.captioning, "find_openai_key", lambda explicit=None: "sk-found-elsewhere")


@pytest.fixture
def app(fake, no_key) -> ui.App:
    return ui.App(pipeline=fake)


class Gate:
    """Holds a fake step until released, to look at the app while it works."""

    def __init__(self, fake: FakePipeline, step: str) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.step = step
        fake.on_call = self._on_call

    def _on_call(self, step: str) -> None:
        if step == self.step:
            self.entered.set()
            assert self.release.wait(10), "the test never released the step"


def searched(app: ui.App, query: str = "apple pie") -> ui.App:
    app.search.query.value = query
    app.search.search_button.click()
    app.wait()
    assert "memer-error" not in app.search.status.shown_text, app.search.status.shown_text
    return app


def picked(app: ui.App, index: int = 2) -> ui.App:
    app.gallery.buttons[index].click()
    app.wait()
    return app


def with_captions(app: ui.App, pick: int = 2) -> ui.App:
    searched(app)
    picked(app, pick)
    app.captions.engine.value = "local"
    app.captions.write_button.click()
    app.wait()
    assert "memer-error" not in app.captions.status.shown_text, app.captions.status.shown_text
    return app


def type_caption(app: ui.App, text: str) -> None:
    app.editor.text.value = text
    app.wait()


def visible(widget) -> bool:
    return widget.layout.display != "none"


def all_widgets(root):
    yield root
    for child in getattr(root, "children", ()):
        yield from all_widgets(child)


def jpeg_size(data: bytes) -> tuple[int, int]:
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    return Image.open(io.BytesIO(data)).size


def renders(fake: FakePipeline) -> list[tuple[str, dict]]:
    return [(args[1], kwargs) for step, args, kwargs in fake.calls if step == "render"]


# --- search -------------------------------------------------------------------------


def test_search_fills_a_gallery_of_cards_with_titles_thumbnails_and_escaped_credits(app, fake):
    assert not visible(app.pick_section)
    searched(app)
    assert fake.steps() == ["search"] and fake.calls[0][1] == ("apple pie",)
    assert len(app.gallery.buttons) == len(app.gallery.widget.children) == 10
    assert visible(app.pick_section) and not visible(app.make_section)
    for i, card in enumerate(app.gallery.widget.children):
        title, image, credit, button = card.children
        assert f"Apple Pie {i + 1}" in title.value
        assert max(jpeg_size(image.value)) <= settings.UI_THUMB_SIZE
        assert image.layout.overflow == "hidden" and "memer-thumb" in image._dom_classes
        assert button is app.gallery.buttons[i] and not button.disabled
        assert f"Author &lt;{i}&gt;" in credit.value and f"<{i}>" not in credit.value
    assert "auto-fill" in app.gallery.widget.layout.grid_template_columns  # cards wrap on a narrow screen


def test_search_status_says_what_was_found_with_no_stale_bar(app):
    searched(app)
    assert "10 pictures for “apple pie”: pick one." in app.search.status.line.value
    assert not visible(app.search.status.bar)
    assert not visible(app.search.cancel_button)


def test_sources_say_which_answered_and_a_missing_cache_is_one_calm_line(fake, no_key):
    from memer.pipeline import SourceStatus

    original = fake.search

    def search(query, **kwargs):
        result = original(query, **kwargs)
        result.sources = [
            SourceStatus("commons", True, 5),
            SourceStatus("wikipedia", True, 0, "no pictures for this topic"),
            SourceStatus(
                "openimages",
                False,
                0,
                "No Open Images cache in /x (no manifest.json). Rebuild it with …",
                "cache.missing",
            ),
        ]
        return result

    fake.search = search
    app = searched(ui.App(pipeline=fake))
    shown = app.search.sources.value
    assert "✅ Wikimedia Commons: 5 found" in shown
    assert "✅ Wikipedia" not in shown and "➖ Wikipedia: nothing for this topic" in shown  # no green tick on 0
    assert "Open Images: not set up on this computer (optional)" in shown
    assert "memer cache build" not in shown and "❌" not in shown


def test_enter_searches_with_the_text_the_user_sees_even_when_the_last_letters_arrive_after_it(app, fake, monkeypatch):
    override(monkeypatch, UI_SETTLE=0.3)
    app.search.query.value = "apple pi"
    compat.press_enter(app.search.query)  # the Enter key's message overtook the last letter ...
    app.search.query.value = "apple pie"  # ... which arrives a moment later
    app.wait()
    assert [args for step, args, _ in fake.calls if step == "search"] == [("apple pie",)]


def test_letters_arriving_just_after_the_search_began_restart_it_with_the_whole_text(app, fake):
    gate = Gate(fake, "search")
    app.search.query.value = "apple pi"
    compat.press_enter(app.search.query)
    assert gate.entered.wait(5)
    fake.on_call = None
    app.search.query.value = "apple pie"  # the last letter, later than the settle delay
    app.runner.wait_for(lambda: len(fake.steps()) == 2)
    gate.release.set()
    app.wait()
    assert [args for _, args, _ in fake.calls] == [("apple pi",), ("apple pie",)]
    assert app.result.query == "apple pie" and "“apple pie”" in app.search.status.line.value


def test_a_burst_of_enters_is_one_search(app, fake, monkeypatch):
    override(monkeypatch, UI_SETTLE=0.2)
    app.search.query.value = "apple pie"
    for _ in range(3):
        compat.press_enter(app.search.query)
    app.search.search_button.click()
    app.wait()
    assert fake.steps() == ["search"] and app.search.searches == 1


def test_enter_while_the_same_search_runs_is_refused_visibly_not_queued(app, fake):
    gate = Gate(fake, "search")
    app.search.query.value = "apple pie"
    compat.press_enter(app.search.query)
    assert gate.entered.wait(5)
    assert visible(app.search.cancel_button) and visible(app.search.status.bar)
    assert "Searching for “apple pie”" in app.search.status.line.value
    compat.press_enter(app.search.query)
    app.runner.wait_for(lambda: "Already searching" in app.search.status.error.value)
    assert "one search at a time" in app.search.status.error.value
    gate.release.set()
    app.wait()
    assert fake.steps() == ["search"]


def test_new_words_while_a_search_runs_cancel_it_and_search_those(app, fake):
    gate = Gate(fake, "search")
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    assert gate.entered.wait(5)
    fake.on_call = None
    app.search.query.value = "lone tree"
    app.search.search_button.click()
    app.runner.wait_for(lambda: len(fake.steps()) == 2)
    gate.release.set()
    app.wait()
    assert [args for _, args, _ in fake.calls] == [("apple pie",), ("lone tree",)]
    assert app.result.query == "lone tree" and "Lone Tree" in app.gallery.widget.children[0].children[0].value


def test_cancel_stops_waiting_for_a_search_and_drops_its_answer(app, fake):
    gate = Gate(fake, "search")
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    assert gate.entered.wait(5)
    app.search.cancel_button.click()
    assert "cancelled" in app.search.status.line.value and not visible(app.search.status.bar)
    assert not visible(app.search.cancel_button) and not app.search.busy
    gate.release.set()
    app.wait()
    assert app.gallery.buttons == [] and app.result is None


def test_a_hook_report_after_cancel_stops_the_step(app, fake):
    seen = []

    def search(query, *, progress=None, **kwargs):
        progress("Asking Wikimedia Commons…", 0.1)
        app.search.cancel()
        try:
            progress("Ranking pictures with CLIP…", 0.5)
        except ui.Cancelled:
            seen.append("stopped")
            raise
        seen.append("went on")

    fake.search = search
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    app.wait()
    assert seen == ["stopped"] and "cancelled" in app.search.status.line.value


def test_a_running_search_shows_its_steps_elapsed_time_and_megabytes(app, fake, tmp_path, monkeypatch):
    folder = tmp_path / "downloads"
    folder.mkdir()
    app.search.status.meter.folders = lambda: [folder]
    gate = Gate(fake, "search")
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    assert gate.entered.wait(5)
    (folder / "model.safetensors.incomplete").write_bytes(b"\0" * 3 * 1024 * 1024)
    app.runner.wait_for(lambda: "3 MB downloaded" in app.search.status.line.value)
    assert re.search(r"· \d+ s", app.search.status.line.value)
    gate.release.set()
    app.wait()
    assert "downloaded" not in app.search.status.line.value  # the finished line is calm


@pytest.mark.parametrize(
    ("query", "n", "expected"),
    [("   ", 10, "Type a topic first"), ("xyzzy", 0, "No pictures found for “xyzzy”. Try other words.")],
)
def test_an_empty_topic_or_no_pictures_is_said_under_the_search_box(fake, no_key, query, n, expected):
    fake.n_candidates = n
    app = ui.App(pipeline=fake)
    app.search.query.value = query
    app.search.search_button.click()
    app.wait()
    assert expected in app.search.status.error.value
    assert not visible(app.search.status.bar) and app.gallery.buttons == []
    assert app.captions.status.shown_text == "" and app.preview.status.shown_text == ""


def test_a_new_search_keeps_the_picture_in_use_its_captions_and_the_edit(app, fake):
    with_captions(app)
    type_caption(app, "my own words")
    candidate = app.candidate
    searched(app, "cats")
    assert app.candidate is candidate and visible(app.make_section)
    assert app.editor.text.value == "my own words" and len(app.captions.buttons) == 10
    assert app.result.query == "cats"


# --- library output goes into the app ------------------------------------------------


def test_what_a_step_prints_or_logs_goes_to_its_details_line_not_stderr(app, fake, capsys):
    import logging

    def search(query, **kwargs):
        print("model.safetensors:  45%|####5     | 1.40G/3.09G", end="\r", file=sys.stderr)
        logging.getLogger("some_library").warning("Loaded ViT-B-32 model config.")
        raise SourceError("down")

    fake.search = search
    details = []
    app.search.status.details.observe(lambda change: details.append(change["new"]), names="value")
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    app.wait()
    assert capsys.readouterr().err == ""
    assert any("1.40G/3.09G" in line for line in details)
    assert any("Loaded ViT-B-32 model config." in line for line in details)
    assert logs.ROUTING._proxy is None and not isinstance(sys.stderr, logs._StderrProxy)  # gone once idle
    assert "Down" in app.search.status.error.value


def test_the_details_line_shows_the_last_line_of_a_progress_bar(app, fake):
    seen = []
    gate = Gate(fake, "search")
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    assert gate.entered.wait(5)
    worker = threading.Thread(
        target=lambda: print("weights:  10%|#|\rweights:  90%|#########|", file=sys.stderr), name="library-thread"
    )
    worker.start()
    worker.join()
    seen.append(app.search.status.details.value)
    gate.release.set()
    app.wait()
    assert "weights: 90%" in seen[0] and "10%" not in seen[0]


# --- pick, captions ----------------------------------------------------------------


def test_picking_shows_the_picture_and_enables_captions(app, fake):
    searched(app)
    picked(app, 3)
    assert app.candidate is app.result.candidates[3]
    assert app.gallery.buttons[3].description == "✓ Picked" and app.gallery.buttons[3].button_style == "success"
    assert "memer-picked" in app.gallery.cards[3]._dom_classes
    assert visible(app.make_section) and not app.captions.write_button.disabled
    assert max(jpeg_size(app.preview.image.value)) <= settings.UI_PREVIEW_SIZE
    assert "Author &lt;3&gt;" in app.preview.attribution.value
    assert app.preview.meme is None and "render" not in fake.steps()


@pytest.mark.parametrize(
    ("license", "required", "on"),
    [("CC BY-SA 4.0", True, True), ("CC BY 2.0", True, True), ("CC0", True, False), ("Public domain", False, False)],
)
def test_credit_on_the_picture_is_on_when_the_licence_asks_for_credit(license, required, on):
    candidate = types.SimpleNamespace(license=license, attribution_required=required)
    assert credit_needed(candidate) is on


def test_the_credit_switch_follows_the_picture_and_reaches_the_renderer(app, fake):
    with_captions(app, pick=0)  # CC BY-SA 4.0
    assert app.editor.credit.value and "asks for credit" in app.editor.credit_note.value
    assert renders(fake)[-1][1]["attribution_strip"] is True
    picked(app, 1)  # CC0
    assert not app.editor.credit.value and "no credit needed" in app.editor.credit_note.value


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


# --- errors where the user looks ---------------------------------------------------


@pytest.mark.parametrize("step", ["search", "captions", "render"])
@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (SourceError("Wikimedia Commons did not answer.", "Try again in a minute."), "did not answer. Try again"),
        (RenderError("The caption <b>is</b> too long.", "Shorten it."), "The caption &lt;b&gt;is&lt;/b&gt; too long."),
        (RuntimeError("boom"), "Something went wrong: RuntimeError: boom."),
    ],
)
def test_each_error_shows_under_its_own_step_not_as_a_traceback(app, fake, step, error, shown):
    fake.fail[step] = error
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    app.wait()
    if step != "search":
        picked(app, 0)
        app.captions.engine.value = "local"
        app.captions.write_button.click()
        app.wait()
        if step == "render":
            type_caption(app, "by hand")
    status = {"search": app.search.status, "captions": app.captions.status, "render": app.preview.status}[step]
    assert shown in status.error.value and 'class="memer-error"' in status.error.value
    assert "Traceback" not in status.error.value
    others = [s for name, s in [("search", app.search.status), ("captions", app.captions.status)] if name != step]
    assert all("memer-error" not in s.shown_text for s in others)


def test_the_error_clears_on_the_next_try(app, fake):
    fake.fail["search"] = SourceError("down")
    app.search.query.value = "pie"
    app.search.search_button.click()
    app.wait()
    assert "Down" in app.search.status.error.value
    del fake.fail["search"]
    app.search.search_button.click()
    app.wait()
    assert app.search.status.error.value == ""


# --- the OpenAI key ------------------------------------------------------------------


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


# --- edit and preview ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: setattr(e.position, "value", "top"), {"position": "top"}),
        (lambda e: setattr(e.keep_case, "value", True), {"keep_case": True}),
        (lambda e: setattr(e.text_color, "value", "yellow"), {"text_color": "yellow"}),
        (lambda e: setattr(e.outline_color, "value", "white"), {"outline_color": "white"}),
        (lambda e: setattr(e.credit, "value", False), {"attribution_strip": False}),
    ],
)
def test_each_control_redraws_the_preview_with_its_value(app, fake, change, expected):
    with_captions(app)
    before, count = app.preview.image.value, len(renders(fake))
    change(app.editor)
    app.wait()
    assert len(renders(fake)) == count + 1
    assert {k: renders(fake)[-1][1][k] for k in expected} == expected
    assert app.preview.image.value != before


def test_the_preview_follows_typing_once_it_pauses(app, fake, monkeypatch):
    with_captions(app)
    override(monkeypatch, UI_PREVIEW_DELAY=0.2)
    count = len(renders(fake))
    for prefix in ("w", "wh", "whe", "when pigs fly"):
        app.editor.text.value = prefix  # each key press syncs the box (continuous_update)
    assert app.preview.download_link.value.count("memer-disabled") == 1  # no stale PNG to save meanwhile
    app.wait()
    assert [text for text, _ in renders(fake)[count:]] == ["when pigs fly"]
    assert app.editor.text.continuous_update and app.preview.meme.caption == "when pigs fly"


def test_a_bar_with_position_bottom_switches_to_both_as_the_hint_says(app, fake):
    with_captions(app)
    assert "|" in app.editor.hint.value
    type_caption(app, "top words | bottom words")
    assert app.editor.position.value == "both"
    assert renders(fake)[-1] == ("top words | bottom words", renders(fake)[-1][1])
    app.editor.position.value = "bottom"
    app.wait()
    assert renders(fake)[-1][0] == "top words\nbottom words" and "| starts a new line" in app.editor.note.value


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("old pond\nfrog jumps in\nsound of water", "bottom", "old pond\nfrog jumps in\nsound of water"),
        ("a | b", "both", "a | b"),
        ("a | b", "top", "a\nb"),
        ("  spaced\r\nout  ", "bottom", "spaced\nout"),
    ],
)
def test_the_text_reaches_the_renderer_with_its_lines(text, position, expected):
    assert text_for_position(text, position) == expected


def test_a_haiku_keeps_its_line_breaks_on_the_way_to_the_renderer(app, fake):
    with_captions(app)
    haiku = "old pond\nfrog jumps in\nsound of water"
    type_caption(app, haiku)
    assert renders(fake)[-1][0] == haiku and app.preview.meme.caption == haiku


def test_the_size_slider_starts_from_the_auto_size_and_says_px(app, fake):
    with_captions(app)
    auto = app.preview.meme.font_size
    assert auto and app.editor.font_size.value == auto and app.editor.font_size.disabled
    assert "px" in app.editor.font_size.description
    app.editor.auto_size.value = False
    app.wait()
    assert not app.editor.font_size.disabled and renders(fake)[-1][1]["font_size"] == auto
    app.editor.font_size.value = 40
    app.wait()
    assert renders(fake)[-1][1]["font_size"] == 40
    app.editor.auto_size.value = True
    app.wait()
    assert renders(fake)[-1][1]["font_size"] is None and app.editor.font_size.disabled


def test_the_chosen_position_is_marked(app):
    assert "memer-position" in app.editor.position._dom_classes
    from memer.ui.style import CSS

    assert ".memer-position .widget-toggle-button.mod-active" in CSS


def test_emptying_the_text_shows_the_plain_picture_and_nothing_to_download(app, fake):
    with_captions(app)
    type_caption(app, "  ")
    assert app.preview.meme is None and "memer-disabled" in app.preview.download_link.value
    assert app.preview.image.value[:2] == b"\xff\xd8"


# --- download ------------------------------------------------------------------------


def saved_link(app: ui.App) -> tuple[str, bytes]:
    match = re.search(r'<a download="([^"]+)" href="data:image/png;base64,([^"]+)"', app.preview.download_link.value)
    assert match, app.preview.download_link.value
    return match.group(1), base64.b64decode(match.group(2))


def test_outside_colab_the_download_is_one_link_holding_the_png(app, fake):
    with_captions(app)
    assert not visible(app.preview.download_button) and visible(app.preview.download_link)
    assert 'class="memer-download"' in app.preview.download_link.value
    name, png = saved_link(app)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.text["Caption"] == CAPTION_TEXTS[0]
    assert name.endswith(".png") and "when-the-pie" in name
    app.captions.buttons[1].click()
    app.wait()
    other, _ = saved_link(app)
    assert other != name  # one file per caption


def test_on_colab_the_button_hands_the_file_to_colab(fake, no_key, monkeypatch, tmp_path):
    downloaded = []
    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    files = types.ModuleType("google.colab.files")
    files.download = downloaded.append
    colab.files = files
    google.colab = colab
    for name, module in [("google", google), ("google.colab", colab), ("google.colab.files", files)]:
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(settings, "MEME_DIR", tmp_path / "memes")
    app = with_captions(ui.App(pipeline=fake))
    assert visible(app.preview.download_button) and not visible(app.preview.download_link)
    app.preview.download_button.click()
    path = tmp_path / "memes" / app.preview.filename
    assert downloaded == [str(path)] and path.read_bytes() == app.preview.meme.png
    assert "Saved as" in app.preview.download_note.value


# --- the app as a whole --------------------------------------------------------------


def test_launch_displays_the_app_once_and_returns_it(fake, no_key, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs: shown.extend(objs))
    app = ui.launch(pipeline=fake)
    assert isinstance(app, ui.App) and shown == [app.widget]


def test_app_defaults_to_the_pipeline_module(no_key):
    import memer.pipeline

    assert ui.App().pipeline is memer.pipeline


def test_tooltips_use_the_installed_ipywidgets_name(app):
    name = "tooltip" if IPYWIDGETS_MAJOR >= 8 else "description_tooltip"
    assert "Engine: local" in getattr(app.captions.key_box, name)


def test_no_two_widgets_share_a_layout(app):
    """Hiding one widget (layout.display) must never hide another."""
    with_captions(app)
    layouts = [id(widget.layout) for widget in all_widgets(app.widget)]
    assert len(layouts) == len(set(layouts))


def test_an_error_is_a_memer_error_message_as_written(app):
    assert messages.error_for_app(MemerError("lower case start.")) == "Lower case start."


# --- your own picture, generated pictures (issue 13) ---------------------------------


def upload_value(name: str, content: bytes):
    """What the front end puts in FileUpload.value: a dict in ipywidgets 7, a tuple of dicts in 8."""
    if IPYWIDGETS_MAJOR >= 8:
        entry = {"name": name, "type": "image/jpeg", "size": len(content), "content": memoryview(content)}
        return ({**entry, "last_modified": datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)},)
    return {name: {"metadata": {"name": name, "type": "image/jpeg", "size": len(content)}, "content": content}}


def choose_file(upload, value) -> None:
    """As the front end does: ipywidgets 7's value is read-only on the Python side (its sync sets it)."""
    upload.set_trait("value", value)


def jpeg_file_bytes(tmp_path) -> bytes:
    from tests.fakes import make_picture

    return make_picture(tmp_path / "mine.jpg", (10, 120, 200), "mine").read_bytes()


def test_an_uploaded_picture_becomes_the_one_in_use_without_a_search(app, fake, tmp_path):
    choose_file(app.own.upload, upload_value("Holiday snap.jpg", jpeg_file_bytes(tmp_path)))
    app.wait()
    assert "memer-error" not in app.own.status.shown_text, app.own.status.shown_text
    assert app.candidate is not None and app.candidate.source == "own"
    assert visible(app.make_section) and "your own picture" in app.preview.attribution.value
    app.captions.write_button.click()
    app.wait()
    kwargs = next(kw for step, _, kw in fake.calls if step == "captions")
    assert kwargs["theme"] == "Holiday snap" and len(app.captions.buttons) == 10
    import ipywidgets

    if ipywidgets.__version__.startswith("7."):  # left as it is: resetting it wedged Notebook 6 (compat.clear_upload)
        assert app.own.upload.value
    else:
        assert not app.own.upload.value  # emptied, so the same file can be chosen again


def test_an_upload_that_is_not_a_picture_is_refused_under_the_upload(app, fake):
    choose_file(app.own.upload, upload_value("notes.jpg", b"<html>not a picture</html>"))
    app.wait()
    assert "memer-error" in app.own.status.error.value and app.candidate is None
    assert app.search.status.error.value == ""


def test_a_link_or_path_in_the_link_box_is_used_and_a_bad_one_is_said_there(app, fake, tmp_path):
    app.own.link.value = "ftp://example.org/cat.jpg"
    app.own.link_button.click()
    app.wait()
    assert "cannot fetch" in app.own.status.error.value and app.candidate is None
    path = tmp_path / "mine.jpg"
    path.write_bytes(jpeg_file_bytes(tmp_path))
    app.own.link.value = str(path)
    app.own.link_button.click()
    app.wait()
    assert app.candidate is not None and app.candidate.source == "own"
    assert app.own.status.error.value == ""


def test_use_link_refuses_a_redirect_to_another_local_service_without_describing_it(app, fake, typed_link):
    from tests.standins.typed_link import SECRET_TYPE

    app.own.link.value = typed_link.url("/away.jpg")
    app.own.link_button.click()
    app.wait()
    shown = app.own.status.error.value
    assert "redirected to an address memer does not fetch" in shown and app.candidate is None
    assert SECRET_TYPE not in shown and str(typed_link.inside.port) not in shown
    assert typed_link.inside.requests == []


def test_the_generate_switch_adds_the_generator_and_says_what_it_costs(app, fake):
    searched(app)
    assert fake.calls[-1][2]["sources"] is None  # off by default: the settings' sources
    app.search.generate.value = True
    assert app.search.generate_note.value  # which generator, its cost or licence
    searched(app, "cats")
    assert fake.calls[-1][2]["sources"][-1] == "generated"


def test_the_ai_label_switch_shows_for_a_generated_picture_and_reaches_the_renderer(app, fake):
    app.search.generate.value = True
    searched(app)
    picked(app, 1)
    assert not visible(app.editor.ai_label)
    picked(app, 0)  # the fake's generated one
    assert visible(app.editor.ai_label) and app.editor.ai_label.value is settings.AI_LABEL
    assert "non-commercial" in app.preview.attribution.value  # the picture's restrictions, under the preview
    type_caption(app, "robots drew this")
    assert renders(fake)[-1][1]["ai_label"] is settings.AI_LABEL
    app.editor.ai_label.value = not settings.AI_LABEL
    app.wait()
    assert renders(fake)[-1][1]["ai_label"] is (not settings.AI_LABEL)


# --- what the search dropped, and a search that failed (issue 11) -------------------


def test_dropped_pictures_are_one_short_line_per_reason(fake, no_key):
    from memer.pipeline import DropReason

    original = fake.search

    def search(query, **kwargs):
        result = original(query, **kwargs)
        result.drop_reasons = [DropReason("HTTP 404", 2), DropReason("not an image (text/html)", 1)]
        return result

    fake.search = search
    app = searched(ui.App(pipeline=fake))
    assert "2 pictures dropped: HTTP 404" in app.search.dropped.value
    assert "1 picture dropped: not an image (text/html)" in app.search.dropped.value


def test_pictures_a_host_rate_limited_are_said_in_words(fake, no_key, server):
    """The reason the download layer gives for a 429, as the app shows it: no "HTTP 429"."""
    from memer import http
    from memer.candidates import ImageCandidate
    from memer.pipeline import drop_reasons

    url = server.add_file("/limited/cat.jpg", b"", "image/jpeg")
    server.fault("/limited/", "status", status=429, retry_after="120")
    report = http.download_images([ImageCandidate(source="commons", title="cat", image_url=url) for _ in range(2)])
    original = fake.search

    def search(query, **kwargs):
        result = original(query, **kwargs)
        result.drop_reasons = drop_reasons(report.failed)
        return result

    fake.search = search
    shown = searched(ui.App(pipeline=fake)).search.dropped.value
    assert "2 pictures dropped: rate limited by 127.0.0.1 (try again in 2 minutes)" in shown and "429" not in shown


def test_when_clip_fails_the_sources_lines_still_show(app, fake):
    from memer.errors import ModelError
    from memer.pipeline import SearchFailed, SourceStatus

    fake.fail["search"] = SearchFailed(
        ModelError("CLIP could not be loaded: the hub did not answer.", "Set HF_HUB_OFFLINE=1 …"),
        [SourceStatus("commons", False, 0, "could not connect"), SourceStatus("wikipedia", False, 0, "timed out")],
    )
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    app.wait()
    assert "❌ Wikimedia Commons: could not connect" in app.search.sources.value
    assert "CLIP could not be loaded" in app.search.status.error.value


def test_every_source_failing_is_not_called_no_pictures_for_the_words(fake, no_key):
    from memer.pipeline import SourceStatus

    fake.n_candidates = 0
    original = fake.search

    def search(query, **kwargs):
        result = original(query, **kwargs)
        result.sources = [SourceStatus("commons", False, 0, "could not connect")]
        return result

    fake.search = search
    app = ui.App(pipeline=fake)
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    app.wait()
    assert "Every picture source failed" in app.search.status.error.value
    assert "Try other words" not in app.search.status.error.value


# --- what the model saw (issue 15) -------------------------------------------------


def test_what_the_model_saw_shows_with_the_captions_and_goes_into_the_png(app, fake):
    with_captions(app)
    assert "What the model sees: a picture of apple pie" in app.captions.description.value
    assert renders(fake)[-1][1]["description"] == "a picture of apple pie"
    assert "Safety check: offline word list (weaker)." in app.captions.safety_note.value


# --- the Open Images cache (issue 14) ----------------------------------------------


class FakeCacheSetup:
    """memer.cache_setup's functions, recording calls; the status moves to ready after a build."""

    def __init__(self, tmp_path, on_colab=False, mounted=False) -> None:
        self.calls: list[tuple] = []
        self.ready, self.on_colab, self.mounted, self.dir = False, on_colab, mounted, tmp_path / "cache"

    def cache_status(self):
        choices = [] if self.ready else ["download", "build-quick", "build-full", "skip"]
        line = (
            "Open Images: 1,000 pictures ready."
            if self.ready
            else "Open Images is not set up yet: the other sources work without it."
        )
        return types.SimpleNamespace(
            ready=self.ready,
            line=line,
            choices=choices,
            directory=self.dir,
            on_colab=self.on_colab,
            drive_mounted=self.mounted,
        )

    def estimate_build(self, kind, *, encoder=None, progress=None):
        self.calls.append(("estimate", kind))
        progress("Loading CLIP …", 0.5)
        return types.SimpleNamespace(line=f"{kind.title()} build: encoding takes about 7.8 hours on the CPU.")

    def run_build(self, kind, *, encoder=None, progress=None):
        self.calls.append(("build", kind))
        progress("Embedding captions (10/100, about 1 min left)", 0.1)
        self.ready = True

    def run_download(self, url=None, *, progress=None):
        self.calls.append(("download",))
        self.ready = True

    def copy_to_drive(self, *, progress=None):
        self.calls.append(("copy_to_drive",))

    def mount_drive(self):
        self.calls.append(("mount",))
        self.mounted = True
        return True

    def use_drive(self):
        self.calls.append(("use_drive",))


def test_the_cache_panel_offers_its_choices_and_builds_only_after_the_estimate(fake, no_key, tmp_path):
    setup = FakeCacheSetup(tmp_path)
    app = ui.App(pipeline=fake, cache_setup=setup)
    assert "not set up yet" in app.cache.line.value
    assert [b.description for b in app.cache.choices.children] == [
        "Download it",
        "Build it (quick)",
        "Build it (full)",
        "Skip",
    ]
    app.cache.buttons["build-quick"].click()
    app.wait()
    assert setup.calls == [("estimate", "quick")] and "7.8 hours" in app.cache.estimate.value
    assert visible(app.cache.start_build)
    app.cache.start_build.click()
    app.wait()
    assert setup.calls[-1] == ("build", "quick") and "1,000 pictures ready" in app.cache.line.value
    assert app.cache.choices.children == () or list(app.cache.choices.children) == []


def test_skip_is_for_the_session_and_a_failure_is_said_under_the_panel(fake, no_key, tmp_path):
    from memer.errors import CacheError

    setup = FakeCacheSetup(tmp_path)

    def broken(url=None, *, progress=None):
        raise CacheError("the download's checksum does not match.", "Try again; the old cache stays.")

    setup.run_download = broken
    app = ui.App(pipeline=fake, cache_setup=setup)
    app.cache.buttons["download"].click()
    app.wait()
    assert "checksum does not match. Try again" in app.cache.status.error.value
    app.cache.buttons["skip"].click()
    assert list(app.cache.choices.children) == [] and "Skipped for this session" in app.cache.status.line.value


def test_on_colab_the_panel_can_mount_drive_and_keep_the_cache_there(fake, no_key, tmp_path):
    setup = FakeCacheSetup(tmp_path, on_colab=True)
    app = ui.App(pipeline=fake, cache_setup=setup)
    assert visible(app.cache.drive_row) and visible(app.cache.mount)
    app.cache.mount.click()
    app.wait()
    assert ("mount",) in setup.calls and not visible(app.cache.mount)
    app.cache.keep_on_drive.value = True
    app.cache.buttons["download"].click()
    app.wait()
    assert setup.calls[-2:] == [("download",), ("copy_to_drive",)]


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
