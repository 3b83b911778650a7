"""Placing and drawing (memer.rendering.draw): sizes, regions, outline, credits, and any caption inside the picture."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image

from memer import settings
from memer.errors import RenderError
from memer.rendering import RenderOptions, draw, plan_meme, render_meme
from memer.rendering.fonts import font_stack
from memer.rendering.layout import layout_text
from tests.standins.settings import override

GREY = 128


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
    small = plan_meme(1024, 768, "X", RenderOptions(font_size=40))[0].layout
    large = plan_meme(1024, 768, "X", RenderOptions(font_size=160))[0].layout
    assert large.stroke == pytest.approx(4 * small.stroke, abs=1)


def test_upper_case_by_default_and_keep_case():
    lower = render_meme(_grey(), "abc", RenderOptions(output_size=300))
    upper = render_meme(_grey(), "ABC", RenderOptions(output_size=300))
    kept = render_meme(_grey(), "abc", RenderOptions(output_size=300, keep_case=True))
    assert lower.tobytes() == upper.tobytes()
    assert kept.tobytes() != upper.tobytes()


def test_explicit_font_size_is_used():
    [placement] = plan_meme(1024, 768, "hello", RenderOptions(font_size=50))
    assert placement.layout.size == 50


BAD_OPTIONS = [
    RenderOptions(position="middle"),
    RenderOptions(font_size=0),
    RenderOptions(font_size=-5),
    RenderOptions(output_size=3),
]


@pytest.mark.parametrize("options", BAD_OPTIONS)
def test_bad_options_are_render_errors(options):
    with pytest.raises(RenderError):
        render_meme(_grey(), "hello", options)


@pytest.mark.parametrize("options", BAD_OPTIONS)
def test_plan_meme_checks_its_options_too(options):
    with pytest.raises(RenderError):
        plan_meme(1024, 768, "hello", options)


class _Untouchable:
    """A picture that fails the test if anything of it is read: bad options must be refused first."""

    def __getattr__(self, name):
        raise AssertionError(f"the picture was read ({name}) before the options were checked")


@pytest.mark.parametrize("options", [*BAD_OPTIONS, RenderOptions(text_color="not-a-colour")])
def test_bad_options_are_refused_before_the_picture_is_read(options):
    with pytest.raises(RenderError):
        render_meme(_Untouchable(), "hello", options)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_render_refuses_an_empty_caption(text):
    with pytest.raises(RenderError, match="empty"):
        render_meme(_grey(), text)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_plan_refuses_an_empty_caption_with_the_one_message(text):
    with pytest.raises(RenderError) as caught:
        plan_meme(1024, 768, text, RenderOptions())
    assert str(caught.value) == "The caption is empty. Give some text to put on the picture."


@pytest.mark.parametrize("text", ["|", " | ", "\n|\n"])
def test_both_with_two_empty_halves_is_an_empty_caption(text):
    with pytest.raises(RenderError, match="empty"):
        render_meme(_grey(), text, RenderOptions(position="both"))


@pytest.mark.parametrize(("text", "position"), [("\U0010ffff \ue000", "top"), ("\U0010ffff|\ue000", "both")])
def test_nothing_drawable_says_so(text, position):
    with pytest.raises(RenderError, match="can be drawn"):
        plan_meme(1024, 768, text, RenderOptions(position=position))


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
    strip = draw.credit_strip_height(height)
    pixels = np.asarray(credited).astype(int)
    band = pixels[height - strip :]
    assert band.mean() < GREY - 40  # darkened band
    assert (band.min(axis=2) > 200).sum() > 50  # with light letters on it
    [placement] = plan_meme(*credited.size, "hello", RenderOptions(position="bottom", attribution="x"))
    assert placement.top + placement.layout.height <= height - strip  # the caption sits above the strip


def test_wide_panorama_and_tall_strip_pictures():
    for size in ((4000, 300), (300, 4000)):
        meme = render_meme(_grey(*size), "a caption that is fairly long for such a picture", RenderOptions())
        assert _ink(meme).any()


def test_the_callers_picture_is_not_drawn_on():
    picture = _grey(1024, 768)
    before = picture.tobytes()
    render_meme(picture, "hello")
    assert picture.tobytes() == before


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=120), position=st.sampled_from(["top", "bottom", "both"]), keep_case=st.booleans())
def test_any_unicode_caption_renders_inside_the_image(text, position, keep_case):
    options = RenderOptions(position=position, keep_case=keep_case, output_size=256)
    stack = font_stack()
    drawable = any(cluster[1] != " " for cluster in stack.clusters(text if keep_case else text.upper()))
    if not drawable:
        with pytest.raises(RenderError):
            render_meme(_grey(320, 240), text, options)
        return
    meme = render_meme(_grey(320, 240), text, options)
    assert meme.size == (256, 192)
    for placement in plan_meme(*meme.size, text, options):
        assert placement.top >= 0 and placement.top + placement.layout.height <= meme.size[1]
        assert placement.layout.width <= meme.size[0]
    ink = _ink(meme)
    assert not ink[0].any() and not ink[-1].any() and not ink[:, 0].any() and not ink[:, -1].any()


@pytest.mark.parametrize(
    ("text_color", "outline_color", "fill", "edge"),
    [("white", "black", (255, 255, 255), (0, 0, 0)), ("yellow", "#3e2723", (255, 255, 0), (62, 39, 35))],
)
def test_text_and_outline_colours_are_the_ones_asked_for(text_color, outline_color, fill, edge):
    options = RenderOptions(text_color=text_color, outline_color=outline_color, output_size=512)
    pixels = {tuple(p) for p in np.asarray(render_meme(_grey(), "HELLO", options)).reshape(-1, 3)}
    assert fill in pixels and edge in pixels


@pytest.mark.parametrize("field", ["text_color", "outline_color"])
def test_an_unknown_colour_is_refused_before_drawing(field):
    with pytest.raises(RenderError, match="colour"):
        render_meme(_grey(), "HELLO", RenderOptions(**{field: "not-a-colour"}))


# --- hostile text and shapes (issue 11) and multi-line captions (issue 12) -------------------------------


def _widest_gap(meme: Image.Image) -> tuple[float, float, float]:
    """The middle of the widest run of empty columns inside the ink, and the ink's left and right edges."""
    columns = _ink(meme).any(axis=0)
    xs = np.nonzero(columns)[0]
    left, right = int(xs.min()), int(xs.max())
    best, best_middle, start = 0, 0.0, None
    for x in range(left, right + 1):
        if not columns[x] and start is None:
            start = x
        elif columns[x] and start is not None:
            if x - start > best:
                best, best_middle = x - start, (start + x) / 2
            start = None
    return best_middle, left, right


@pytest.mark.parametrize(
    "text",
    [
        "ש שלוםשלוםשלום",  # Hebrew: a one-letter word, then a long one
        "في المدرسةالكبيرةجدا",  # Arabic: a short word, then a long joined one
    ],
)
def test_right_to_left_words_read_right_to_left(monkeypatch, text):
    override(monkeypatch, OUTLINE=0.0)
    meme = render_meme(_grey(1600, 400), text, RenderOptions(position="top", keep_case=True, output_size=1600))
    [placement] = plan_meme(*meme.size, text, RenderOptions(position="top", keep_case=True, output_size=1600))
    assert len(placement.layout.lines) == 1
    gap, left, right = _widest_gap(meme)
    assert gap > (left + right) / 2  # the first typed (short) word stands at the right end


def test_left_to_right_words_still_read_left_to_right(monkeypatch):
    override(monkeypatch, OUTLINE=0.0)
    meme = render_meme(_grey(1600, 400), "I AMAZINGLYLONGWORD", RenderOptions(position="top", output_size=1600))
    gap, left, right = _widest_gap(meme)
    assert gap < (left + right) / 2


@pytest.mark.parametrize(("size", "shape"), [((1, 10000), "narrow"), ((10000, 1), "flat"), ((3, 4000), "narrow")])
def test_a_picture_with_no_room_for_text_says_so(size, shape):
    with pytest.raises(RenderError) as caught:
        render_meme(Image.new("RGB", size, (GREY, GREY, GREY)), "hello")
    assert f"too {shape}" in caught.value.message and "-1" not in str(caught.value)


@pytest.mark.parametrize(("size", "output"), [((60, 1000), 1024), ((640, 480), 16), ((20, 1000), 1024)])
def test_small_or_thin_pictures_with_room_render(size, output):
    meme = render_meme(_grey(*size), "hi", RenderOptions(output_size=output))
    assert _ink(meme).any()


def test_huge_credit_is_cut_and_measured_a_bounded_number_of_times(monkeypatch):
    calls = []
    real = draw.FontStack.real_width

    def counting(self, clusters, size):
        calls.append(len(clusters))
        return real(self, clusters, size)

    monkeypatch.setattr(draw.FontStack, "real_width", counting)
    override(monkeypatch, MAX_CREDIT_CHARS=300)
    credit = "Image: " + "Jean-Baptiste de la Fontaine " * 450 + "/ Wikimedia Commons, CC BY-SA 4.0"  # 12,600+
    meme = render_meme(_grey(), "hello", RenderOptions(attribution=credit))
    strip = draw.credit_strip_height(meme.size[1])
    assert (np.asarray(meme)[-strip:].min(axis=2) > 200).sum() > 50  # the credit is there
    assert len(calls) <= 40 and max(calls) <= 301


HAIKU = "old pond / a frog jumps in / sound of water"


def test_multi_line_caption_keeps_its_lines():
    [placement] = plan_meme(1024, 768, HAIKU, RenderOptions(position="top"))
    assert placement.layout.text_lines == ["OLD POND", "A FROG JUMPS IN", "SOUND OF WATER"]


def test_both_splits_a_multi_line_caption_between_lines():
    top, bottom = plan_meme(1024, 768, HAIKU, RenderOptions(position="both"))
    assert top.layout.text_lines == ["OLD POND", "A FROG JUMPS IN"]
    assert bottom.layout.text_lines == ["SOUND OF WATER"]


def test_newlines_and_slashes_render_alike():
    slashed = render_meme(_grey(), HAIKU, RenderOptions(output_size=300))
    broken = render_meme(_grey(), HAIKU.replace(" / ", "\n"), RenderOptions(output_size=300))
    assert slashed.tobytes() == broken.tobytes()


@hypothesis_settings(max_examples=12, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(
    credit=st.text(max_size=40).map(lambda piece: piece * 400),
    caption=st.text(min_size=1, max_size=60).map(lambda piece: piece * 8),
)
def test_outside_text_renders_within_a_time_bound(credit, caption):
    """Credits of up to 16,000 characters and captions of long runs draw in bounded time, or refuse clearly."""
    try:
        meme = render_meme(_grey(320, 240), caption, RenderOptions(attribution=credit, output_size=256))
    except RenderError as err:
        assert "\n" not in str(err)
        return
    assert meme.size == (256, 192)


@hypothesis_settings(max_examples=12, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(word=st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8).map(lambda w: w * 250))
def test_a_long_word_at_size_1_lays_out_within_a_time_bound(word):
    stack = font_stack()
    if not any(cluster.text != " " for cluster in stack.clusters(word)):
        return
    layout = layout_text(word, stack, 300, 300, font_size=1)  # narrow: the word is broken into long pieces
    assert layout.width <= 300


@pytest.mark.parametrize("word", ["Gî\x0ce" * 250, "Gî e" * 250])
def test_a_broken_word_whose_accents_overhang_still_fits_at_size_1(word):
    """Found by the property test above: the ink of 'î' reaches past its advance, so a full line
    wrapped by advances was too wide at 1 px (and fit at 2 px): the size search gave up."""
    layout = layout_text(word, font_stack(), 300, 300, font_size=1)
    assert layout.size == 1 and layout.width <= 300
