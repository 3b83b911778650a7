"""The bidi algorithm (memer.rendering.bidi): display order of a line, checked character by character."""

from __future__ import annotations

import pytest

from memer.rendering import bidi


def _display(text: str, rtl: bool | None = None) -> str:
    """The characters of ``text`` left to right as they are shown (no mirroring or shaping)."""
    rtl = bidi.is_rtl(text) if rtl is None else rtl
    order = bidi.visual_order(bidi.levels([bidi.char_class(ch) for ch in text], rtl))
    return "".join(text[i] for i in order)


# Hebrew letters stand for right-to-left text: alef א bet ב gimel ג dalet ד he ה vav ו.
DISPLAY_CASES = [
    ("abc def", None, "abc def"),
    ("אבג", None, "גבא"),
    ("אב גד", None, "דג בא"),  # words right to left: the first typed is the rightmost
    ("abc אבג def", None, "abc גבא def"),  # a right-to-left phrase inside left-to-right text
    ("אב abc גד", None, "דג abc בא"),  # a Latin word keeps its order inside right-to-left text
    ("אב 123 גד", None, "דג 123 בא"),  # numbers read left to right
    ("אב 12.5% גד", None, "דג 12.5% בא"),  # W4, W5: separators and terminators join the number
    ("ab אב 12", None, "ab 12 בא"),  # a number after Hebrew in a left-to-right line follows the Hebrew
    ("abc!", True, "!abc"),  # a right-to-left paragraph puts a trailing neutral at the left
    ("אבג!", None, "!גבא"),
    ("אבג  ", None, "  גבא"),  # L1: trailing spaces sit at the paragraph's end (the left)
    ("مرحبا 12", None, "12 ابحرم"),  # W2: digits after Arabic letters are Arabic numbers
    ("", None, ""),
]


@pytest.mark.parametrize(("text", "rtl", "expected"), DISPLAY_CASES)
def test_display_order(text, rtl, expected):
    assert _display(text, rtl) == expected


@pytest.mark.parametrize(
    ("text", "rtl"),
    [("hello", False), ("אבג", True), ("مرحبا", True), ("123 אבג", True), ("123 abc", False), ("!?", False)],
)
def test_paragraph_direction_is_the_first_strong_character(text, rtl):
    assert bidi.is_rtl(text) is rtl


def test_marks_follow_their_base():
    # W1: a mark (NSM) takes the class of the letter before it, so it moves with it.
    assert bidi.levels(["R", "NSM", "WS", "L"], False) == [1, 1, 0, 0]


def test_levels_of_a_long_line_are_linear():
    classes = ["R", "WS", "L", "WS", "EN"] * 4000
    assert len(bidi.levels(classes, True)) == len(classes)
    order = bidi.visual_order(bidi.levels(classes, True))
    assert sorted(order) == list(range(len(classes)))
