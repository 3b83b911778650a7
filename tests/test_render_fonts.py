"""Fonts (memer.rendering.fonts): the bundled stack, a face for each character, dropping what none can draw."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from memer import settings
from memer.errors import RenderError
from memer.rendering import RenderOptions, fonts, render_meme
from memer.rendering.layout import layout_text

GREY = 128


def _grey(width: int = 640, height: int = 480) -> Image.Image:
    return Image.new("RGB", (width, height), (GREY, GREY, GREY))


def test_bundled_fonts_are_found():
    faces = fonts.font_stack().faces
    names = [Path(face.path).name for face in faces]
    assert names[:2] == ["Anton-Regular.ttf", "NotoSansDevanagari-Bold.ttf"]
    assert {"DejaVuSansCondensed-Bold.ttf", "DroidSansFallbackFull.ttf", "NotoSansThai-Bold.ttf"} <= set(names)
    assert all(Path(face.path).parent == settings.FONT_DIR for face in faces[:3])


@pytest.mark.parametrize(
    ("char", "face_name"),
    [("A", "Anton"), ("Ж", "DejaVu"), ("Ω", "DejaVu"), ("→", "DejaVu"), ("日", "Droid"), ("ひ", "Droid")],
)
def test_each_character_gets_a_face_that_has_it(char, face_name):
    stack = fonts.font_stack()
    [(index, text, _level)] = stack.clusters(char)
    assert text == char and face_name in Path(stack.faces[index].path).name


@pytest.mark.parametrize("char", ["\U0010ffff", "\ue000", "\u0378", "\x00", "\x1b", "\u202e", "\ufeff"])
def test_undrawable_characters_are_dropped(char):
    # drawn nothing, though an override (U+202E) still sets the level of what follows it
    assert [cluster[:2] for cluster in fonts.font_stack().clusters(f"A{char}B")] == [(0, "A"), (0, "B")]


def test_caption_with_nothing_drawable_is_a_clear_error():
    with pytest.raises(RenderError, match="can be drawn"):
        layout_text("\U000e0001\U0010ffff", fonts.font_stack(), 1000, 300)


def test_emoji_without_colour_font_is_dropped_or_monochrome(monkeypatch):
    monkeypatch.setattr(settings, "EMOJI_FONT", Path("/nonexistent/emoji.ttf"))
    stack = fonts.font_stack()
    assert not any(face.color for face in stack.faces)
    for index, text, _level in stack.clusters("\U0001f602\U0001f44d\U0001f3fd"):
        assert all(ord(ch) in stack.faces[index].codepoints for ch in text)


def test_emoji_in_colour_when_a_colour_font_exists():
    stack = fonts.font_stack()
    if not any(face.color for face in stack.faces):
        pytest.skip("no colour emoji font on this system (set MEMER_EMOJI_FONT to test)")
    meme = render_meme(_grey(400, 300), "\U0001f602", RenderOptions(output_size=400))
    pixels = np.asarray(meme).astype(int)
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    assert (saturation > 100).sum() > 200  # yellow face pixels: a colour glyph, not white text


def test_missing_font_character_draws_like_nothing():
    a = render_meme(_grey(), "A\U0010ffffB", RenderOptions(output_size=300))
    b = render_meme(_grey(), "AB", RenderOptions(output_size=300))
    assert a.tobytes() == b.tobytes()


def test_missing_main_font_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "FONT", tmp_path / "gone.ttf")
    with pytest.raises(RenderError, match="MEMER_FONT"):
        render_meme(_grey(), "hi")


def test_fallback_fonts_are_named_in_the_font_folder_or_by_path(monkeypatch, tmp_path):
    assert fonts._font_path("DejaVuSansCondensed-Bold.ttf") == settings.FONT_DIR / "DejaVuSansCondensed-Bold.ttf"
    assert fonts._font_path(str(tmp_path / "x.ttf")) == tmp_path / "x.ttf"
    monkeypatch.setattr(settings, "FALLBACK_FONTS", [str(settings.FONT_DIR / "DroidSansFallbackFull.ttf")])
    names = [Path(face.path).name for face in fonts.font_stack().faces]
    assert names[:2] == ["Anton-Regular.ttf", "DroidSansFallbackFull.ttf"]


def test_glyph_cache_is_bounded_and_fonts_are_loaded_once():
    fonts.load_font.cache_clear()
    render_meme(_grey(), "hello world", RenderOptions(output_size=300))
    first = fonts.load_font.cache_info()
    render_meme(_grey(), "hello world", RenderOptions(output_size=300))
    second = fonts.load_font.cache_info()
    assert second.misses == first.misses
    assert math.isfinite(second.maxsize)


@pytest.mark.parametrize(
    ("char", "face_name"),
    [("한", "Nanum"), ("읽", "Nanum"), ("\U0001f355", "NotoEmoji"), ("\U0001f970", "NotoEmoji")],
)
def test_hangul_and_emoji_have_bundled_faces(monkeypatch, char, face_name):
    monkeypatch.setattr(settings, "EMOJI_FONT", Path("/nonexistent/emoji.ttf"))  # no colour font
    stack = fonts.font_stack()
    [(index, text, _level)] = stack.clusters(char)
    assert text == char and face_name in Path(stack.faces[index].path).name


def test_no_emoji_vanishes_without_a_colour_font(monkeypatch):
    monkeypatch.setattr(settings, "EMOJI_FONT", Path("/nonexistent/emoji.ttf"))
    text = "\U0001f355\U0001f602\U0001f44d\u2764\U0001f680\U0001f970\U0001f9c0"
    assert "".join(cluster.text for cluster in fonts.font_stack().clusters(text)) == text
    meme = render_meme(_grey(400, 300), text, RenderOptions(output_size=400))
    ink = np.abs(np.asarray(meme).astype(int) - GREY).max(axis=2) > 20
    assert ink.sum() > 2000


def test_korean_renders_ink():
    meme = render_meme(_grey(400, 300), "안녕하세요", RenderOptions(output_size=400))
    assert (np.asarray(meme).min(axis=2) > 235).sum() > 500  # white letters


def test_visual_runs_of_a_mixed_line():
    stack = fonts.font_stack()
    runs = fonts.visual_runs(stack.clusters("ab שלום עולם cd"), rtl=False)
    texts = [text for _, text, _ in runs]
    # the Hebrew phrase as a whole reads right to left: its second word stands left of its first
    assert "".join(texts).replace(" ", "") in ("abעולםשלוםcd", "abםלועםולשcd")
    hebrew = [(text, direction) for _, text, direction in runs if text.strip() and text.strip()[0] in "שע"]
    assert [text for text, _ in hebrew] in (["עולם", "שלום"], ["םלוע", "םולש"])


def test_without_a_shaper_right_to_left_letters_are_left_out_and_said(monkeypatch):
    from memer.rendering.coverage import caption_warnings

    monkeypatch.setattr(fonts, "has_shaper", lambda: False)
    stack = fonts.font_stack()
    assert [text for _, text, _ in fonts.visual_runs(stack.clusters("HI שלום"))] == ["HI "]
    # an override still reverses Latin letters, with no shaper to ask
    runs = fonts.visual_runs(stack.clusters("\u202eABC\u202c"))
    assert [(text, direction) for _, text, direction in runs] == [("CBA", None)]
    [warning] = caption_warnings("HI שלום", keep_case=True, stack=stack)
    assert "libraqm" in warning and "ש" in warning and "libfribidi" in warning
    with pytest.raises(RenderError, match="can be drawn"):
        render_meme(_grey(), "שלום עולם", RenderOptions(output_size=300, keep_case=True))


def test_with_a_shaper_right_to_left_runs_keep_typing_order(monkeypatch):
    if not fonts.has_shaper():
        pytest.skip("Pillow without libraqm")
    stack = fonts.font_stack()
    runs = fonts.visual_runs(stack.clusters("שלום עולם"), rtl=True)
    assert [(text, direction) for _, text, direction in runs] == [("עולם", "rtl"), (" ", "rtl"), ("שלום", "rtl")]
