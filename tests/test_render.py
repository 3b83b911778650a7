"""Rendering: pure layout, the drawn meme, font fallback, PNG metadata and atomic saving."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image

from memer import render, settings
from memer.candidates import ImageCandidate
from memer.errors import RenderError
from memer.render import Extent, RenderOptions, layout_text, render_meme

REF = render._REFERENCE_SIZE
GREY = 128


class Mono:
    """A monospace test font: every character is half a size wide and 0.8 of a size tall."""

    def clusters(self, text):
        return [(0, " ") if ch.isspace() else (0, ch) for ch in text if ch.isprintable() or ch.isspace()]

    def extent(self, clusters):
        return Extent(width=len(clusters) * REF / 2, ascent=0.8 * REF, descent=0.0)

    def space_width(self):
        return REF / 2


def _layout(text, width=1000, height=1000, **kw):
    kw.setdefault("outline", 0.0)
    kw.setdefault("line_spacing", 1.0)
    kw.setdefault("min_size", 10)
    kw.setdefault("max_lines", 3)
    return layout_text(text, Mono(), width, height, **kw)


# --- layout (pure, exact with the monospace double) ----------------------------------------------

LAYOUT_CASES = [
    # text, box (w, h), options, expected lines, expected size
    ("HELLO", (1000, 300), {}, ["HELLO"], 372),  # height-bound: 0.8s + 2 px of padding <= 300
    ("HELLO", (1000, 1000), {}, ["HELLO"], 400),  # width-bound: 5 * 0.5 * 400 = 1000
    ("AAAA BBBB CCCC", (1000, 1000), {}, ["AAAA", "BBBB", "CCCC"], 356),  # 3 lines: 0.8s + 2s + 2 <= 1000
    ("AAAA BBBB CCCC", (1000, 1000), {"max_lines": 1}, ["AAAA BBBB CCCC"], 142),
    ("AAAA BBBB CCCC", (1000, 1000), {"max_lines": 2}, ["AAAA BBBB", "CCCC"], 222),
    ("A", (1000, 300), {}, ["A"], 372),
    ("X" * 50, (1000, 300), {}, ["X" * 50], 40),  # a long word shrinks rather than breaks
    ("AB\nCD", (1000, 1000), {}, ["AB", "CD"], 554),  # a newline forces a break: 1.8s + 2 <= 1000
    ("AAAA BBBB CCCC", (1000, 1000), {"font_size": 100}, ["AAAA BBBB CCCC"], 100),  # explicit size
    ("AAAA BBBB CCCC", (1000, 1000), {"font_size": 200}, ["AAAA BBBB", "CCCC"], 200),
    ("  spaced   out  ", (1000, 1000), {"max_lines": 1}, ["spaced out"], 200),
]


@pytest.mark.parametrize(("text", "box", "options", "lines", "size"), LAYOUT_CASES)
def test_layout_table(text, box, options, lines, size):
    layout = _layout(text, *box, **options)
    assert layout.text_lines == lines
    assert layout.size == size
    assert layout.width <= box[0]


def test_layout_breaks_a_word_too_long_even_at_the_smallest_size():
    layout = _layout("X" * 500, 1000, 300)
    assert len(layout.lines) > 1
    assert "".join(layout.text_lines) == "X" * 500
    assert layout.size >= 10
    assert layout.width <= 1000 and layout.height <= 300


def test_layout_of_500_characters_fits_the_box():
    text = " ".join(["WORDY"] * 84)[:500]
    layout = _layout(text, 1000, 330, readable_size=40)
    assert layout.width <= 1000 and layout.height <= 330
    assert " ".join(layout.text_lines) == " ".join(text.split())


def test_layout_allows_more_lines_below_the_readable_size():
    text = " ".join(["WORD"] * 60)
    three_lines = _layout(text, 1000, 330)
    more = _layout(text, 1000, 330, readable_size=40)
    assert len(three_lines.lines) <= 3 and three_lines.size < 40
    assert len(more.lines) > 3 and more.size > three_lines.size


def test_layout_outline_counts_in_the_width():
    plain = _layout("HELLO", 1000, 1000)
    outlined = _layout("HELLO", 1000, 1000, outline=0.1)
    assert outlined.size < plain.size
    assert outlined.width <= 1000 and outlined.stroke == round(outlined.size * 0.1)


def test_explicit_size_too_big_for_the_picture_is_reduced():
    layout = _layout("AAAA BBBB CCCC", 1000, 300, font_size=900)
    assert layout.size < 900 and layout.height <= 300


@pytest.mark.parametrize("text", ["", " ", "   \t ", "\n\n", " \u3000 "])
def test_empty_caption_is_a_clear_error(text):
    with pytest.raises(RenderError, match="caption is empty"):
        _layout(text)


def test_caption_with_nothing_drawable_is_a_clear_error():
    with pytest.raises(RenderError, match="can be drawn"):
        layout_text("\U000e0001\U0010ffff", render.font_stack(), 1000, 300)


SPLIT_CASES = [
    ("top|bottom", ("top", "bottom")),
    ("top | bottom | more", ("top", "bottom | more")),
    ("line one\nline two", ("line one", "line two")),
    ("I came. I saw. I conquered.", ("I came. I saw.", "I conquered.")),
    ("Short. Then a much longer second sentence here", ("Short.", "Then a much longer second sentence here")),
    ("when you wake up, and it is monday again", ("when you wake up,", "and it is monday again")),
    ("no punctuation in this one at all", ("no punctuation in", "this one at all")),
    ("single", ("single", "")),
]


@pytest.mark.parametrize(("text", "expected"), SPLIT_CASES)
def test_split_both(text, expected):
    assert render.split_both(text) == expected


# --- fonts and fallback ---------------------------------------------------------------------------


def test_bundled_fonts_are_found():
    faces = render.font_stack().faces
    names = [Path(face.path).name for face in faces]
    assert names[:3] == ["Anton-Regular.ttf", "DejaVuSansCondensed-Bold.ttf", "DroidSansFallbackFull.ttf"]
    assert all(Path(face.path).parent == settings.FONT_DIR for face in faces[:3])


@pytest.mark.parametrize(
    ("char", "face_name"),
    [("A", "Anton"), ("Ж", "DejaVu"), ("Ω", "DejaVu"), ("→", "DejaVu"), ("日", "Droid"), ("ひ", "Droid")],
)
def test_each_character_gets_a_face_that_has_it(char, face_name):
    stack = render.font_stack()
    [(index, text)] = stack.clusters(char)
    assert text == char and face_name in Path(stack.faces[index].path).name


@pytest.mark.parametrize("char", ["\U0010ffff", "\ue000", "\u0378", "\x00", "\x1b", "\u202e", "\ufeff"])
def test_undrawable_characters_are_dropped(char):
    assert render.font_stack().clusters(f"A{char}B") == [(0, "A"), (0, "B")]


def test_emoji_without_colour_font_is_dropped_or_monochrome(monkeypatch):
    monkeypatch.setattr(settings, "EMOJI_FONT", Path("/nonexistent/emoji.ttf"))
    stack = render.font_stack()
    assert not any(face.color for face in stack.faces)
    for index, text in stack.clusters("\U0001f602\U0001f44d\U0001f3fd"):
        assert all(ord(ch) in stack.faces[index].codepoints for ch in text)


def test_emoji_in_colour_when_a_colour_font_exists():
    stack = render.font_stack()
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


# --- drawing --------------------------------------------------------------------------------------


def _grey(width: int = 640, height: int = 480) -> Image.Image:
    return Image.new("RGB", (width, height), (GREY, GREY, GREY))


def _ink(meme: Image.Image) -> np.ndarray:
    """Where the caption changed the grey picture."""
    return np.abs(np.asarray(meme).astype(int) - GREY).max(axis=2) > 20


def _ink_box(meme):
    ys, xs = np.nonzero(_ink(meme))
    return xs.min(), ys.min(), xs.max(), ys.max()


@pytest.mark.parametrize(
    ("size", "options", "expected"),
    [
        ((640, 480), RenderOptions(), (1024, 768)),
        ((200, 100), RenderOptions(), (1024, 512)),  # small pictures are scaled up
        ((3000, 4000), RenderOptions(), (768, 1024)),
        ((640, 480), RenderOptions(output_size=512), (512, 384)),
    ],
)
def test_output_size(size, options, expected):
    assert render_meme(_grey(*size), "hello", options).size == expected


def test_output_size_setting(monkeypatch):
    monkeypatch.setattr(settings, "OUTPUT_SIZE", 300)
    assert render_meme(_grey(), "hello").size == (300, 225)


@pytest.mark.parametrize("position", ["top", "bottom"])
def test_text_is_in_its_region_and_centred(position):
    meme = render_meme(_grey(), "one does not simply walk into mordor", RenderOptions(position=position))
    width, height = meme.size
    left, top, right, bottom = _ink_box(meme)
    edge = settings.MARGIN * height
    block = settings.BLOCK_HEIGHT * height
    if position == "top":
        assert edge - 1 <= top and bottom <= edge + block + 1
    else:
        assert height - edge - block - 1 <= top and bottom <= height - edge + 1
    assert abs((left + right) / 2 - width / 2) < 0.02 * width
    margin = settings.MARGIN * width
    assert left >= margin - 1 and right <= width - margin + 1


def test_both_puts_text_at_top_and_bottom_and_nothing_between():
    meme = render_meme(
        _grey(), "I don't always test my code. But when I do, I do it in production", RenderOptions(position="both")
    )
    rows = _ink(meme).any(axis=1)
    height = meme.size[1]
    assert rows[: height // 3].any() and rows[2 * height // 3 :].any()
    assert not rows[int(height * 0.4) : int(height * 0.6)].any()


def test_white_fill_with_black_outline():
    meme = render_meme(_grey(), "OUTLINE", RenderOptions(position="top"))
    pixels = np.asarray(meme).astype(int)
    white = (pixels.min(axis=2) > 235).sum()
    black = (pixels.max(axis=2) < 20).sum()
    assert white > 1000 and black > 0.3 * white
    # the outline surrounds the fill: directly left of the first white pixel of a row is black
    row = int(np.argmax((pixels.min(axis=2) > 235).any(axis=1))) + 5
    first_white = int(np.argmax(pixels[row].min(axis=1) > 235))
    assert pixels[row, first_white - 3].max() < 60


def test_outline_scales_with_font_size():
    small = render.plan_meme(1024, 768, "X", RenderOptions(font_size=40))[0].layout
    large = render.plan_meme(1024, 768, "X", RenderOptions(font_size=160))[0].layout
    assert large.stroke == pytest.approx(4 * small.stroke, abs=1)


def test_upper_case_by_default_and_keep_case():
    lower = render_meme(_grey(), "abc", RenderOptions(output_size=300))
    upper = render_meme(_grey(), "ABC", RenderOptions(output_size=300))
    kept = render_meme(_grey(), "abc", RenderOptions(output_size=300, keep_case=True))
    assert lower.tobytes() == upper.tobytes()
    assert kept.tobytes() != upper.tobytes()


def test_explicit_font_size_is_used():
    [placement] = render.plan_meme(1024, 768, "hello", RenderOptions(font_size=50))
    assert placement.layout.size == 50


@pytest.mark.parametrize(
    "options",
    [
        RenderOptions(position="middle"),
        RenderOptions(font_size=0),
        RenderOptions(font_size=-5),
        RenderOptions(output_size=3),
    ],
)
def test_bad_options_are_render_errors(options):
    with pytest.raises(RenderError):
        render_meme(_grey(), "hello", options)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_render_refuses_an_empty_caption(text):
    with pytest.raises(RenderError, match="empty"):
        render_meme(_grey(), text)


@pytest.mark.parametrize("text", ["|", " | ", "\n|\n"])
def test_both_with_two_empty_halves_is_an_empty_caption(text):
    with pytest.raises(RenderError, match="empty"):
        render_meme(_grey(), text, RenderOptions(position="both"))


@pytest.mark.parametrize("text", ["I", "x" * 500, "word " * 100, "SUPERCALIFRAGILISTICEXPIALIDOCIOUS" * 4])
@pytest.mark.parametrize("position", ["top", "bottom", "both"])
def test_long_and_short_captions_stay_inside(text, position):
    meme = render_meme(_grey(), text, RenderOptions(position=position, output_size=512))
    ink = _ink(meme)
    assert ink.any()
    assert not ink[0].any() and not ink[-1].any() and not ink[:, 0].any() and not ink[:, -1].any()


def test_attribution_strip_is_off_by_default_and_burned_in_when_asked():
    plain = render_meme(_grey(), "hello", RenderOptions(position="top"))
    assert not _ink(plain)[-5:].any()
    credited = render_meme(
        _grey(), "hello", RenderOptions(position="bottom", attribution="Image: Jane Doe, CC BY-SA 4.0")
    )
    height = credited.size[1]
    strip = render._attribution_strip_height(height)
    pixels = np.asarray(credited).astype(int)
    band = pixels[height - strip :]
    assert band.mean() < GREY - 40  # darkened band
    assert (band.min(axis=2) > 200).sum() > 50  # with light letters on it
    [placement] = render.plan_meme(*credited.size, "hello", RenderOptions(position="bottom", attribution="x"))
    assert placement.top + placement.layout.height <= height - strip  # the caption sits above the strip


def test_wide_panorama_and_tall_strip_pictures():
    for size in ((4000, 300), (300, 4000)):
        meme = render_meme(_grey(*size), "a caption that is fairly long for such a picture", RenderOptions())
        assert _ink(meme).any()


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=120), position=st.sampled_from(["top", "bottom", "both"]), keep_case=st.booleans())
def test_any_unicode_caption_renders_inside_the_image(text, position, keep_case):
    options = RenderOptions(position=position, keep_case=keep_case, output_size=256)
    stack = render.font_stack()
    drawable = any(cluster[1] != " " for cluster in stack.clusters(text if keep_case else text.upper()))
    if not drawable:
        with pytest.raises(RenderError):
            render_meme(_grey(320, 240), text, options)
        return
    meme = render_meme(_grey(320, 240), text, options)
    assert meme.size == (256, 192)
    for placement in render.plan_meme(*meme.size, text, options):
        assert placement.top >= 0 and placement.top + placement.layout.height <= meme.size[1]
        assert placement.layout.width <= meme.size[0]
    ink = _ink(meme)
    assert not ink[0].any() and not ink[-1].any() and not ink[:, 0].any() and not ink[:, -1].any()


# --- PNG metadata and saving ----------------------------------------------------------------------


def _candidate(**changes) -> ImageCandidate:
    fields = dict(
        source="commons",
        title="File:Cat.jpg",
        image_url="https://upload.wikimedia.org/thumb/cat.jpg",
        author="Jane Doe",
        license="CC BY-SA 4.0",
        license_url="https://creativecommons.org/licenses/by-sa/4.0/",
        page_url="https://commons.wikimedia.org/wiki/File:Cat.jpg",
    )
    fields.update(changes)
    return ImageCandidate(**fields)


def test_metadata_round_trip():
    caption = "When the cat — 猫 — judges you 😾"
    metadata = render.meme_metadata(_candidate(), caption, engine="openai")
    png = render.png_bytes(Image.new("RGB", (8, 8)), metadata)
    text = Image.open(io.BytesIO(png)).text
    assert text["Caption"] == caption
    assert text["Author"] == "Jane Doe"
    assert text["License"] == "CC BY-SA 4.0"
    assert text["License URL"] == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert text["Page URL"] == "https://commons.wikimedia.org/wiki/File:Cat.jpg"
    assert text["Source"] == "Wikimedia Commons"
    assert text["Caption engine"] == "openai"
    assert text["Attribution"] == "Image: Jane Doe / Wikimedia Commons, CC BY-SA 4.0"
    assert set(text) <= set(render.METADATA_KEYS)


def test_metadata_without_candidate():
    assert render.meme_metadata(None, "hi") == {"Caption": "hi", "Software": f"memer {render.__version__}"}


@pytest.mark.parametrize(
    "secret",
    [
        # Fake keys, assembled so that secret scanners do not flag this file.
        "sk-" + "proj-abcdefghijklmnopqrstuvwxyz0123456789",
        "sk-" + "abcdefghijklmnopqrstuvwx",
        "hf_abcdefghijklmnopqrstuvwxyz123456",
        "Bearer abcdefghijklmnop.qrstuvwxyz",
    ],
)
def test_no_secret_in_metadata(secret):
    metadata = render.meme_metadata(_candidate(author=f"Jane {secret}"), f"caption {secret}", engine="openai")
    png = render.png_bytes(Image.new("RGB", (8, 8)), metadata)
    assert secret.encode() not in png
    assert secret.split()[-1][-10:].encode() not in png
    assert b"[redacted]" in png


def test_no_key_in_url_query_metadata():
    metadata = render.meme_metadata(_candidate(page_url="https://example.org/p?id=3&api_key=topsecret123&x=1"), "c")
    png = render.png_bytes(Image.new("RGB", (8, 8)), metadata)
    assert b"topsecret123" not in png
    assert Image.open(io.BytesIO(png)).text["Page URL"] == "https://example.org/p?id=3&api_key=[redacted]&x=1"


def test_unknown_metadata_key_is_refused():
    with pytest.raises(RenderError, match="not a PNG metadata field"):
        render.png_bytes(Image.new("RGB", (8, 8)), {"OPENAI_API_KEY": "x"})


def test_save_png_is_atomic(tmp_path):
    png = render.png_bytes(Image.new("RGB", (8, 8)), {"Caption": "x"})
    target = render.save_png(tmp_path / "meme.png", png)
    assert target.read_bytes() == png
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meme.png"]  # no temporary left behind


@pytest.mark.parametrize("where", ["missing/meme.png", "afile/meme.png", "."])
def test_save_png_errors_write_nothing(tmp_path, where):
    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(RenderError):
        render.save_png(tmp_path / where, b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_save_png_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(render.os, "replace", broken_replace)
    with pytest.raises(RenderError, match="No space left"):
        render.save_png(tmp_path / "meme.png", b"\x89PNG")
    assert list(tmp_path.iterdir()) == []


def test_glyph_cache_is_bounded_and_fonts_are_loaded_once():
    render._load_font.cache_clear()
    render_meme(_grey(), "hello world", RenderOptions(output_size=300))
    first = render._load_font.cache_info()
    render_meme(_grey(), "hello world", RenderOptions(output_size=300))
    second = render._load_font.cache_info()
    assert second.misses == first.misses
    assert math.isfinite(second.maxsize)
