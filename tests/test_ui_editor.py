"""Steps 4 and 5 of the app: the editor's controls, the live preview, and the download.

Driven as a user would, from the Python side, against the fake pipeline (tests/fakes.py);
shared fixtures and helpers are in tests/ui_helpers.py. tests/test_ui_w7.py runs every
tests/test_ui_*.py once more under ipywidgets 7.7.1.
"""

from __future__ import annotations

import io
import sys
import types

import pytest
from PIL import Image

from memer import settings, ui
from memer.ui.editor import text_for_position
from tests.fakes import CAPTION_TEXTS
from tests.standins.settings import override
from tests.ui_helpers import (
    picked,
    renders,
    saved_link,
    searched,
    type_caption,
    visible,
    with_captions,
)

pytestmark = pytest.mark.usefixtures("quick")


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
    app.editor.position.value = "bottom"
    app.wait()
    type_caption(app, "top words | bottom words")
    assert app.editor.position.value == "both"
    assert renders(fake)[-1] == ("top words | bottom words", renders(fake)[-1][1])
    app.editor.position.value = "bottom"
    app.wait()
    assert renders(fake)[-1][0] == "top words\nbottom words" and "| starts a new line" in app.editor.note.value


def test_auto_is_preselected_and_the_note_says_where_it_placed_the_caption(app, fake):
    with_captions(app)
    assert app.editor.position.value == "auto" and renders(fake)[-1][1]["position"] == "auto"
    assert {"auto", "above", "below"} <= set(app.editor.position.options)
    assert "Auto placed it" in app.editor.placed.value
    used = app.preview.meme.position_used
    assert used in ("top", "bottom", "both") and used.split()[0] in app.editor.placed.value
    type_caption(app, "top words | bottom words")  # with auto, a bar asks for the split: auto stays
    assert app.editor.position.value == "auto" and app.preview.meme.position_used == "both"
    assert "at the top and the bottom" in app.editor.placed.value
    app.editor.position.value = "top"
    app.wait()
    assert app.editor.placed.value == ""  # a place the user chose needs no note


def test_a_band_from_the_app_adds_height_under_the_picture(app, fake):
    with_captions(app)
    plain = app.preview.meme.image.size
    app.editor.position.value = "below"
    app.wait()
    assert renders(fake)[-1][1]["position"] == "below"
    width, height = app.preview.meme.image.size
    assert width == plain[0] and height > plain[1] and app.preview.meme.position_used == "below"


def test_text_boxes_can_be_added_placed_edited_and_removed(app, fake):
    from memer.rendering import TextBox

    with_captions(app)
    panel = app.editor.boxes
    count = len(renders(fake))
    row = panel.add_box()
    assert row.place.value == "top left" and len(renders(fake)) == count  # an empty box draws nothing yet
    row.text.value = "me"
    app.wait()
    assert renders(fake)[-1][1]["boxes"] == (TextBox(0.03, 0.03, 0.44, 0.25, "me"),)
    row.place.value = "bottom right"
    app.wait()
    assert renders(fake)[-1][1]["boxes"][0].x == 0.53
    row.x.value = 0.7  # a slider makes the place custom, and the box is cut to the picture
    app.wait()
    [box] = renders(fake)[-1][1]["boxes"]
    assert row.place.value == "custom" and box.x == 0.7 and abs(box.w - 0.3) < 1e-9
    second = panel.add_box(text="the code I wrote at 2 am")
    app.wait()
    assert second.place.value == "top left" and len(renders(fake)[-1][1]["boxes"]) == 2
    row.remove.click()
    app.wait()
    assert [b.text for b in renders(fake)[-1][1]["boxes"]] == ["the code I wrote at 2 am"]
    assert len(panel.list.children) == 1 and app.preview.meme is not None


def test_boxes_alone_make_a_meme_without_a_caption(app, fake):
    with_captions(app)
    app.editor.boxes.add_box("middle", "just a label")
    type_caption(app, "")
    assert renders(fake)[-1][0] == "" and app.preview.meme.caption == "just a label"


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("a | b", "auto", "a | b"),
        ("a | b", "below", "a\nb"),
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


def test_characters_no_font_has_are_named_under_the_preview(app, fake):
    with_captions(app)
    type_caption(app, "pie \u0378 time")
    assert "No font can draw" in app.preview.undrawn.value and "U+0378" in app.preview.undrawn.value
    type_caption(app, "pie time")
    assert app.preview.undrawn.value == ""


def test_emptying_the_text_shows_the_plain_picture_and_nothing_to_download(app, fake):
    with_captions(app)
    type_caption(app, "  ")
    assert app.preview.meme is None and "memer-disabled" in app.preview.download_link.value
    assert app.preview.image.value[:2] == b"\xff\xd8"


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
