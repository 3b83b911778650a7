"""Pure layout (memer.rendering.layout): lines and sizes, exact with a monospace stand-in for the fonts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from memer import settings
from memer.errors import RenderError
from memer.rendering import layout
from memer.rendering.layout import REFERENCE_SIZE, Extent, check_caption, check_drawable, layout_text

REF = REFERENCE_SIZE


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


# --- the caption checks: one rule each, shared by layout, planning and the CLI --------------------


@pytest.mark.parametrize("text", ["", " ", "   \t ", "\n\n", " \u3000 ", "\r\n"])
def test_check_caption_refuses_an_empty_caption_with_a_hint(text):
    with pytest.raises(RenderError, match="caption is empty") as caught:
        check_caption(text)
    assert caught.value.message == "The caption is empty."
    assert caught.value.hint == "Give some text to put on the picture."


@pytest.mark.parametrize("text", ["x", " a ", "|", "\x00", "\U0010ffff"])
def test_check_caption_passes_any_text(text):
    check_caption(text)  # whether it can be drawn is check_drawable's question


def test_check_drawable_says_why_nothing_can_be_drawn():
    with pytest.raises(RenderError, match="caption is empty"):
        check_drawable("  ", Mono())
    with pytest.raises(RenderError, match="can be drawn") as caught:
        check_drawable("\x00\x01", Mono())  # Mono drops what is not printable
    assert caught.value.message == "None of the characters in the caption '\\x00\\x01' can be drawn."
    assert caught.value.hint == "Use letters, digits or emoji."
    check_drawable("\x00A", Mono())  # one drawable character is enough


def test_layout_text_and_check_drawable_agree():
    for text in ("\x00\x01", "\x00\n\x01"):
        with pytest.raises(RenderError, match="can be drawn"):
            _layout(text)


def test_long_undrawable_caption_is_quoted_short():
    with pytest.raises(RenderError) as caught:
        check_drawable("\x00" * 100, Mono())
    assert repr("\x00" * 40) in caught.value.message


SPLIT_CASES = [
    ("top|bottom", ("top", "bottom")),
    ("top | bottom | more", ("top", "bottom | more")),
    ("line one\nline two", ("line one", "line two")),
    # a multi-line caption splits between lines, at the break nearest the middle, never mid-line
    ("old pond / a frog jumps in / sound of water", ("old pond\na frog jumps in", "sound of water")),
    ("one\ntwo\nthree\nfour", ("one\ntwo", "three\nfour")),
    ("short / a much much longer last line", ("short", "a much much longer last line")),
    ("haiku / top | and / bottom", ("haiku\ntop", "and\nbottom")),  # "|" stays the explicit split
    ("AC/DC rocks and rolls", ("AC/DC rocks", "and rolls")),  # a slash without spaces is no line break
    ("I came. I saw. I conquered.", ("I came. I saw.", "I conquered.")),
    ("Short. Then a much longer second sentence here", ("Short.", "Then a much longer second sentence here")),
    ("when you wake up, and it is monday again", ("when you wake up,", "and it is monday again")),
    ("no punctuation in this one at all", ("no punctuation in", "this one at all")),
    ("single", ("single", "")),
]


@pytest.mark.parametrize(("text", "expected"), SPLIT_CASES)
def test_split_both(text, expected):
    assert layout.split_both(text) == expected


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("old pond / a frog jumps in / sound of water", ["old pond", "a frog jumps in", "sound of water"]),
        ("a\r\nb\rc\nd", ["a", "b", "c", "d"]),
        ("  a  /  b  ", ["a", "b"]),
        ("a\n\n\nb", ["a", "b"]),
        ("AC/DC and 1/2", ["AC/DC and 1/2"]),
        ("", []),
    ],
)
def test_caption_lines(text, lines):
    assert layout.caption_lines(text) == lines


def test_haiku_keeps_its_lines():
    result = _layout("old pond / a frog jumps in / sound of water", 4000, 1000)
    assert result.text_lines == ["old pond", "a frog jumps in", "sound of water"]


class Counting(Mono):
    """Mono that counts how many clusters it was asked to measure."""

    def __init__(self):
        self.measured = 0

    def extent(self, clusters):
        self.measured += len(clusters)
        return super().extent(clusters)


def test_breaking_a_long_word_measures_near_linearly():
    fonts = Counting()
    word = tuple((0, "X") for _ in range(2000))
    pieces = layout._break_word(word, fonts, 1000 * REF / 2)  # 1000 clusters fit a line
    assert [len(piece) for piece in pieces] == [1000, 1000]
    assert fonts.measured < 100_000  # measuring every prefix would be about 2,000,000


def test_a_2000_character_word_at_size_1_is_laid_out_with_few_measures():
    fonts = Counting()
    result = layout_text("X" * 2000, fonts, 1000, 300, font_size=1, outline=0.0, line_spacing=1.0)
    assert "".join(result.text_lines) == "X" * 2000
    assert fonts.measured < 500_000


@pytest.mark.parametrize("width", [1, 2, 3, 7, 50])
def test_break_word_pieces_are_the_longest_that_fit(width):
    word = tuple((0, "X") for _ in range(23))
    pieces = layout._break_word(word, Mono(), width * REF / 2)
    assert [len(p) for p in pieces[:-1]] == [width] * (len(pieces) - 1) and 1 <= len(pieces[-1]) <= width
    assert sum(len(p) for p in pieces) == 23


def test_too_long_caption_is_refused_with_the_limit(monkeypatch):
    monkeypatch.setattr(settings, "MAX_CAPTION_CHARS", 50)
    check_caption("x" * 50)
    with pytest.raises(RenderError, match="51 characters.*50"):
        check_caption("x" * 51)


def test_each_line_knows_its_paragraph_direction():
    result = _layout("אבג דהו\nabc def", 4000, 1000)
    assert result.rtl == (True, False)


def test_layout_imports_no_font_code_not_even_lazily():
    tree = ast.parse(Path(layout.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert not [name for name in imported if name.split(".")[0] == "PIL" or name.startswith("memer.rendering.fonts")]
    assert "memer.settings" in imported  # the check sees the imports that are there
