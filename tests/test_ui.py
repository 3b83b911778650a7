"""The notebook app's callbacks, driven as a user would: set values, click buttons.

Runs against a fake pipeline (tests/fakes.py) with real image files, so every
step can be made to fail on purpose. Run it with ipywidgets 8 (the test
environment) and 7.7.1 (what Colab ships; see tests/run_ui_w7.sh).
"""

from __future__ import annotations

import base64
import io
import re
import sys
import types

import ipywidgets
import pytest
from PIL import Image

import memer.captions
from memer import settings, ui
from memer.errors import CaptionError, MemerError, RenderError, SourceError
from tests.fakes import CAPTION_TEXTS, FakePipeline

IPYWIDGETS_MAJOR = int(ipywidgets.__version__.split(".")[0])


@pytest.fixture
def fake(tmp_path) -> FakePipeline:
    return FakePipeline(tmp_path / "pictures")


@pytest.fixture
def no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr(memer.captions, "find_openai_key", lambda explicit=None: None)


@pytest.fixture
def with_key(monkeypatch):
    monkeypatch.setattr(memer.captions, "find_openai_key", lambda explicit=None: "sk-found-elsewhere")


@pytest.fixture
def app(fake, no_key) -> ui.App:
    return ui.App(pipeline=fake)


def searched(app: ui.App, query: str = "apple pie") -> ui.App:
    app.query.value = query
    app.search_button.click()
    assert app.message.value == "", app.message.value
    return app


def with_captions(app: ui.App, pick: int = 2) -> ui.App:
    searched(app)
    app.pick_buttons[pick].click()
    app.engine.value = "local"
    app.generate_button.click()
    assert app.message.value == "", app.message.value
    return app


def visible(widget) -> bool:
    return widget.layout.display != "none"


def all_widgets(root):
    yield root
    for child in getattr(root, "children", ()):
        yield from all_widgets(child)


def jpeg_size(data: bytes) -> tuple[int, int]:
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    return Image.open(io.BytesIO(data)).size


# --- search -------------------------------------------------------------------------


def test_search_fills_a_gallery_of_clickable_thumbnails_with_credits(app, fake):
    assert not visible(app.pick_section)
    searched(app)
    assert fake.steps() == ["search"]
    assert fake.calls[0][1] == ("apple pie",)
    assert len(app.pick_buttons) == len(app.gallery.children) == 10
    assert visible(app.pick_section) and not visible(app.make_section)
    for i, cell in enumerate(app.gallery.children):
        image, button, credit = cell.children
        assert max(jpeg_size(image.value)) <= settings.UI_THUMB_SIZE
        assert button is app.pick_buttons[i] and not button.disabled
        assert f"Author &lt;{i}&gt;" in credit.value  # escaped, not raw HTML
        assert "<" + str(i) + ">" not in credit.value
        assert re.search(r"CC BY|CC0", credit.value)
        assert "Wikimedia Commons" in credit.value or "Wikipedia" in credit.value
    assert app.progress.value == 1.0


def test_enter_in_the_topic_box_searches_too(app, fake):
    app.query.value = "apple pie"
    app.query._submission_callbacks(app.query)  # what the front end's "submit" event runs
    assert [call[0] for call in fake.calls] == ["search"]
    assert len(app.pick_buttons) == 10


def test_search_shows_which_sources_answered_and_why_one_failed(app):
    searched(app)
    assert "✅ Wikimedia Commons: 5 found" in app.sources.value
    assert "✅ Wikipedia: 5 found" in app.sources.value
    assert "❌ Open Images: cache not found" in app.sources.value


def test_buttons_are_disabled_while_the_pipeline_works(app, fake):
    seen = []
    fake.on_call = lambda step: seen.append(
        (step, app.search_button.disabled, app.generate_button.disabled, all(b.disabled for b in app.pick_buttons))
    )
    with_captions(app)
    assert seen[0] == ("search", True, True, True)
    assert ("captions", True, True, True) in seen
    assert not app.search_button.disabled and not app.generate_button.disabled
    assert not any(b.disabled for b in app.pick_buttons)


def test_progress_messages_reach_the_status_label_and_bar(app):
    labels, fractions = [], []
    app.status.observe(lambda change: labels.append(change["new"]), names="value")
    app.progress.observe(lambda change: fractions.append(change["new"]), names="value")
    searched(app)
    assert "Asking Wikimedia Commons…" in labels and "Ranking pictures with CLIP…" in labels
    assert 0.1 in fractions and fractions[-1] == 1.0
    assert app.status.value == "10 pictures: pick one."


def test_an_empty_topic_asks_for_one_without_searching(app, fake):
    app.query.value = "   "
    app.search_button.click()
    assert fake.calls == []
    assert "Type a topic first" in app.message.value


def test_no_pictures_found_is_a_message(fake, no_key):
    fake.n_candidates = 0
    app = ui.App(pipeline=fake)
    app.query.value = "xyzzy"
    app.search_button.click()
    assert "No pictures found for “xyzzy”" in app.message.value
    assert app.pick_buttons == []


# --- pick, captions, edit -----------------------------------------------------------


def test_picking_shows_the_picture_and_enables_captions(app, fake):
    searched(app)
    assert app.generate_button.disabled
    app.pick_buttons[3].click()
    assert app.candidate is fake_candidates(app)[3]
    assert app.pick_buttons[3].button_style == "success" and app.pick_buttons[3].description == "✓ Picked"
    assert app.pick_buttons[0].button_style == ""
    assert visible(app.make_section) and not app.generate_button.disabled
    assert max(jpeg_size(app.preview.value)) <= settings.UI_PREVIEW_SIZE
    assert "Author &lt;3&gt;" in app.attribution.value
    assert app.download_button.disabled  # nothing rendered yet
    assert "render" not in fake.steps()


def fake_candidates(app):
    return app.result.candidates


def test_generate_lists_captions_with_safety_badges_and_picks_the_first_safe(app, fake):
    with_captions(app, pick=2)
    step, args, kwargs = fake.calls[-2] if fake.calls[-1][0] == "render" else fake.calls[-1]
    assert step == "captions"
    assert args[0] is fake_candidates(app)[2]
    assert kwargs["theme"] == "apple pie" and kwargs["engine"] == "local" and kwargs["style"] == "funny"
    assert kwargs["api_key"] is None
    labels = [label for label, _ in app.captions_list.options]
    assert len(labels) == 10
    assert labels[0] == f"1. ✅ safe · {CAPTION_TEXTS[0]}"
    assert labels[2].startswith("3. ⚠️ sensitive · ")
    assert labels[6].startswith("7. ⛔ unsafe · ")
    assert "offline word list (weaker)" in app.safety_note.value
    assert app.captions_list.value == 0
    assert app.caption_text.value == CAPTION_TEXTS[0]
    assert fake.calls[-1][0] == "render" and fake.calls[-1][1][1] == CAPTION_TEXTS[0]
    assert app.meme is not None and not app.download_button.disabled


def test_an_unsafe_caption_is_never_selected_for_you(fake, no_key):
    fake.levels = [2] * 10
    app = with_captions(ui.App(pipeline=fake))
    assert app.captions_list.value is None
    assert app.caption_text.value == ""
    assert app.meme is None


def test_selecting_a_caption_fills_the_text_box_and_rerenders(app, fake):
    with_captions(app)
    app.captions_list.value = 4
    assert app.caption_text.value == CAPTION_TEXTS[4]
    assert fake.calls[-1][0] == "render" and fake.calls[-1][1][1] == CAPTION_TEXTS[4]
    assert app.meme.caption == CAPTION_TEXTS[4]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda app: setattr(app.caption_text, "value", "my own | words"), {"text": "my own | words"}),
        (lambda app: setattr(app.position, "value", "both"), {"position": "both"}),
        (lambda app: setattr(app.position, "value", "top"), {"position": "top"}),
        (lambda app: setattr(app.auto_size, "value", False), {"font_size": 64}),
    ],
)
def test_edits_update_the_live_preview(app, fake, change, expected):
    with_captions(app)
    before, renders = app.preview.value, fake.steps().count("render")
    change(app)
    assert fake.steps().count("render") == renders + 1
    _, (_candidate, text), kwargs = fake.calls[-1]
    got = {"text": text, **kwargs}
    assert {k: got[k] for k in expected} == expected
    assert app.preview.value != before
    assert app.meme.caption == text


def test_font_size_slider_is_used_only_when_auto_is_off(app, fake):
    with_captions(app)
    assert app.font_size.disabled
    app.auto_size.value = False
    assert not app.font_size.disabled
    app.font_size.value = 80
    assert fake.calls[-1][2]["font_size"] == 80
    app.auto_size.value = True
    assert app.font_size.disabled and fake.calls[-1][2]["font_size"] is None


def test_emptying_the_text_box_shows_the_plain_picture_and_disables_download(app, fake):
    with_captions(app)
    app.caption_text.value = "  "
    assert app.meme is None and app.download_button.disabled
    assert app.preview.value[:2] == b"\xff\xd8"


def test_a_new_search_starts_over(app):
    with_captions(app)
    searched(app, "cats")
    assert app.candidate is None and app.meme is None and app.batch is None
    assert not visible(app.make_section) and app.captions_list.options == ()


# --- download -----------------------------------------------------------------------


def test_download_outside_colab_is_a_link_to_the_png(app, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    with_captions(app)
    app.download_button.click()
    match = re.search(r'<a download="([^"]+)" href="data:image/png;base64,([^"]+)"', app.download_link.value)
    assert match, app.download_link.value
    assert match.group(1) == app.meme.filename
    png = base64.b64decode(match.group(2))
    assert png == app.meme.png
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.text["Caption"] == CAPTION_TEXTS[0]


def test_download_on_colab_writes_the_file_and_calls_files_download(app, monkeypatch, tmp_path):
    downloaded = []
    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    files = types.ModuleType("google.colab.files")
    files.download = lambda path: downloaded.append(path)
    colab.files = files
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.files", files)
    monkeypatch.setattr(settings, "MEME_DIR", tmp_path / "memes")
    with_captions(app)
    app.download_button.click()
    assert app.message.value == ""
    assert downloaded == [str(tmp_path / "memes" / app.meme.filename)]
    assert (tmp_path / "memes" / app.meme.filename).read_bytes() == app.meme.png
    assert "base64" not in app.download_link.value


# --- errors -------------------------------------------------------------------------


@pytest.mark.parametrize("step", ["search", "captions", "render"])
@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (
            SourceError("Wikimedia Commons did not answer.", "Try again in a minute."),
            "Wikimedia Commons did not answer. Try again in a minute.",
        ),
        (RenderError("The caption <b>is</b> too long.", "Shorten it."), "The caption &lt;b&gt;is&lt;/b&gt; too long."),
        (RuntimeError("boom"), "Something went wrong: RuntimeError: boom."),
        (NotImplementedError("no such step yet"), "NotImplementedError: no such step yet"),
    ],
)
def test_errors_are_messages_in_the_app_not_tracebacks(app, fake, step, error, shown):
    fake.fail[step] = error
    app.query.value = "apple pie"
    app.search_button.click()
    if step != "search":
        app.pick_buttons[0].click()
        app.engine.value = "local"
        app.generate_button.click()
        if step == "render":
            app.caption_text.value = "by hand"
    assert shown in app.message.value
    assert 'class="memer-error"' in app.message.value
    assert "Traceback" not in app.message.value
    assert app.last_error is error
    assert not app.search_button.disabled and not app.working


def test_the_message_clears_on_the_next_action(app, fake):
    fake.fail["search"] = SourceError("down")
    app.query.value = "pie"
    app.search_button.click()
    assert "down" in app.message.value
    del fake.fail["search"]
    app.search_button.click()
    assert app.message.value == ""


# --- engines, styles, the OpenAI key ------------------------------------------------


def test_with_a_key_found_there_is_no_key_box_and_openai_is_the_default(fake, with_key):
    app = ui.App(pipeline=fake)
    assert app.engine.value == "openai"
    assert not visible(app.key_box)
    with_captions(app)  # switches to local
    app.engine.value = "openai"
    app.generate_button.click()
    assert fake.calls[-2][2]["engine"] == "openai" and fake.calls[-2][2]["api_key"] is None
    assert "OpenAI moderation" in app.safety_note.value


def test_a_failing_key_lookup_opens_the_app_with_the_key_box(fake, monkeypatch):
    def refuse(explicit=None):
        raise PermissionError("the notebook was not granted access to the secret")

    monkeypatch.setattr(memer.captions, "find_openai_key", refuse)
    app = ui.App(pipeline=fake)
    app.engine.value = "openai"
    assert not app.key_found and visible(app.key_box)


def test_without_a_key_the_box_shows_only_for_openai(app):
    assert app.engine.value == "local"
    assert not visible(app.key_box)
    app.engine.value = "openai"
    assert visible(app.key_box)
    assert isinstance(app.key_box, ipywidgets.Password)


def test_openai_without_any_key_says_what_to_do(app, fake):
    searched(app)
    app.pick_buttons[0].click()
    app.engine.value = "openai"
    app.generate_button.click()
    assert "No OpenAI key found. Paste one in the key box, or choose the local engine." in app.message.value
    assert "captions" not in fake.steps()


def test_a_typed_key_goes_to_the_pipeline_and_nowhere_else(app, fake):
    key = "sk-typed-secret-123"
    searched(app)
    app.pick_buttons[0].click()
    app.engine.value = "openai"
    app.key_box.value = key
    app.generate_button.click()
    captions_call = next(kwargs for step, _, kwargs in fake.calls if step == "captions")
    assert captions_call["api_key"] == key
    assert app.key_box.value == ""  # out of the saved widget state
    for widget in all_widgets(app.widget):
        assert key not in repr(widget.get_state())
    app.generate_button.click()  # the key is remembered for the next request
    assert [kw["api_key"] for step, _, kw in fake.calls if step == "captions"] == [key, key]


def test_a_typed_key_leaves_the_widget_state_before_any_button_is_pressed(app, fake):
    key = "sk-typed-secret-789"
    app.key_box.value = key  # what the front end syncs on Enter or leaving the box
    assert app.key_box.value == ""
    for widget in all_widgets(app.widget):
        assert key not in repr(widget.get_state())
    assert "captions" not in fake.steps()


def test_an_error_never_echoes_a_key_found_elsewhere(app, fake):
    found = "sk-" + "proj-foundintheenvironment0123456789"
    fake.fail["search"] = MemerError(f"a service quoted {found}")
    app.query.value = "apple pie"
    app.search_button.click()
    assert found not in app.message.value and "[redacted]" in app.message.value


def test_an_error_never_echoes_the_typed_key(app, fake):
    key = "sk-typed-secret-456"
    fake.fail["captions"] = CaptionError(f"OpenAI refused the key {key}.", "Check it.")
    searched(app)
    app.pick_buttons[0].click()
    app.engine.value = "openai"
    app.key_box.value = key
    app.generate_button.click()
    assert "OpenAI refused the key ***." in app.message.value
    assert key not in app.message.value


def test_styles_and_engines_come_from_the_captions_package_when_it_has_them(fake, no_key, monkeypatch):
    monkeypatch.setattr(memer.captions, "STYLES", ("dad joke", "funny"), raising=True)
    monkeypatch.setattr(memer.captions, "ENGINES", ("openai", "local"), raising=True)
    app = ui.App(pipeline=fake)
    assert list(app.style.options) == ["dad joke", "funny"] and app.style.value == "funny"


# --- showing the app ----------------------------------------------------------------


def test_launch_displays_the_app_once_and_returns_it(fake, no_key, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs: shown.extend(objs))
    app = ui.launch(pipeline=fake)
    assert isinstance(app, ui.App) and shown == [app.widget]


def test_app_defaults_to_the_pipeline_module(no_key):
    import memer.pipeline

    assert ui.App().pipeline is memer.pipeline


def test_widget_tooltips_use_the_installed_ipywidgets_name(app):
    name = "tooltip" if IPYWIDGETS_MAJOR >= 8 else "description_tooltip"
    assert "local engine" in getattr(app.key_box, name)


def test_no_two_widgets_share_a_layout(app):
    """Hiding one widget (layout.display) must never hide another."""
    searched(app)
    layouts = [id(widget.layout) for widget in all_widgets(app.widget)]
    assert len(layouts) == len(set(layouts))


def test_the_topic_row_stays_visible_when_the_captions_list_is_hidden(app):
    assert not visible(app.captions_list)
    assert visible(app.query) and visible(app.widget.children[2]) and app.widget.children[2].children[0] is app.query
