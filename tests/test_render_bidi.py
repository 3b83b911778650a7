"""The bidirectional algorithm, checked against Unicode's own conformance files, in the reordering function
and through the real renderer (layout, font stack, runs, and the order and place each run is drawn in).

tests/data/unicode/ holds Unicode 15.0.0's BidiCharacterTest.txt (whole) and a sample of BidiTest.txt,
with their licence (LICENSE-Unicode.txt there).
"""

from __future__ import annotations

import gzip
import unicodedata
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from memer.rendering import RenderOptions, bidi, fonts, plan_meme
from memer.rendering.draw import _draw_line
from memer.rendering.layout import layout_text

DATA = Path(__file__).parent / "data" / "unicode"
pytestmark = pytest.mark.skipif(not bidi.available(), reason="libfribidi is not installed")

# One character of each bidi class, for BidiTest.txt (which lists classes, not characters).
CLASS_CHARS = {
    "L": "a", "R": "\u05d0", "AL": "\u0628", "EN": "1", "ES": "+", "ET": "$", "AN": "\u0661", "CS": ",",
    "NSM": "\u0300", "BN": "\u00ad", "B": "\u2029", "S": "\t", "WS": " ", "ON": "!", "LRE": "\u202a",
    "LRO": "\u202d", "RLE": "\u202b", "RLO": "\u202e", "PDF": "\u202c", "LRI": "\u2066", "RLI": "\u2067",
    "FSI": "\u2068", "PDI": "\u2069",
}  # fmt: skip
DIRECTIONS = {"0": False, "1": True, "2": None}


def _character_cases() -> list[tuple[str, bool | None, int, list[str], list[int]]]:
    """BidiCharacterTest.txt: (text, paragraph direction asked, resolved, levels, visual order)."""
    cases = []
    with gzip.open(DATA / "BidiCharacterTest.txt.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            if not line.strip() or line.startswith("#"):
                continue
            codes, direction, resolved, levels, order = line.rstrip("\n").split(";")
            text = "".join(chr(int(code, 16)) for code in codes.split())
            cases.append((text, DIRECTIONS[direction], int(resolved), levels.split(), [int(i) for i in order.split()]))
    return cases


CHARACTER_CASES = _character_cases()


def _check(text: str, rtl: bool | None, levels: list[str], order: list[int]) -> bool:
    resolved, paragraph_rtl = bidi.paragraph_levels(text, rtl)
    visual, line_levels = bidi.line_order(list(text), resolved, paragraph_rtl)
    return (
        all(want == "x" or int(want) == got for want, got in zip(levels, line_levels))
        and [i for i in visual if levels[i] != "x"] == order
    )


def test_every_case_of_bidi_character_test_passes():
    failed = [case for case in CHARACTER_CASES if not _check(case[0], case[1], case[3], case[4])]
    failed += [case for case in CHARACTER_CASES if bidi.paragraph_levels(case[0], case[1])[1] != bool(case[2])]
    assert len(CHARACTER_CASES) > 90_000 and failed == []


def test_every_case_of_the_bidi_test_sample_passes():
    levels: list[str] = []
    order: list[int] = []
    count = 0
    failed = []
    with gzip.open(DATA / "BidiTest-sample.txt.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if line.startswith("@Levels:"):
                levels = line.split(":", 1)[1].split()
            elif line.startswith("@Reorder:"):
                order = [int(i) for i in line.split(":", 1)[1].split()]
            elif line and not line.startswith(("#", "@")):
                classes, bits = line.split(";")
                text = "".join(CLASS_CHARS[name] for name in classes.split())
                for bit, rtl in ((1, None), (2, False), (4, True)):
                    if int(bits) & bit:
                        count += 1
                        if not _check(text, rtl, levels, order):
                            failed.append((classes, rtl))
    assert count > 70_000 and failed == []


class Recorder:
    """Stands in for ImageDraw.Draw: records each run the renderer draws, where, and in which direction."""

    def __init__(self) -> None:
        self.runs: list[tuple[float, str, str | None, object]] = []

    def text(self, xy, text, font=None, direction=None, **_kw):
        self.runs.append((xy[0], text, direction, font))


def _bases(text: str) -> list[str]:
    """The characters that stand on their own (marks ride on their base and are not ordered apart)."""
    return [c for c in text if not c.isspace() and unicodedata.category(c)[0] != "M"]


def _drawn_order(text: str) -> tuple[list[str], Recorder]:
    """The base characters of ``text`` in the order the renderer draws them, left to right."""
    stack = fonts.font_stack()
    layout = layout_text(text, stack, 10**6, 10**6, font_size=20, outline=0.0)
    assert len(layout.lines) == 1
    recorder = Recorder()
    canvas = Image.new("RGB", (8, 8))
    _draw_line(canvas, recorder, stack, layout.lines[0], 0.0, 20.0, 20, rtl=layout.rtl[0])  # type: ignore[arg-type]
    drawn: list[str] = []
    for _x, run, direction, _font in recorder.runs:
        drawn.extend(_bases(run)[::-1] if direction == "rtl" else _bases(run))
    return drawn, recorder


def _renderable(text: str, rtl: bool | None) -> bool:
    """Cases the caption path can take whole: a paragraph direction found from the text (a caption has no
    other), one paragraph (no B, S, " / " or newline), NFC already, and every character drawable by the
    bundled fonts."""
    if rtl is not None and bidi.is_rtl(text) != rtl:
        return False
    if unicodedata.normalize("NFC", text) != text or "/" in text:
        return False
    if any(unicodedata.bidirectional(c) in ("B", "S") for c in text):
        return False
    stack = fonts.font_stack()
    return all(stack.face_for(c) is not None for c in _bases(text) if unicodedata.category(c) != "Cf")


RENDER_SAMPLE = [case for case in CHARACTER_CASES[::13] if _renderable(case[0], case[1])]


@pytest.mark.skipif(not fonts.has_shaper(), reason="Pillow without libraqm draws no right-to-left text")
def test_the_renderer_draws_a_sample_of_bidi_character_test_in_its_visual_order():
    failed = []
    for text, rtl, _resolved, levels, order in RENDER_SAMPLE:
        expected = [c for c in (text[i] for i in order if levels[i] != "x") if c in _bases(text)]
        expected = [c for c in expected if not c.isspace() and unicodedata.category(c)[0] not in "MC"]
        drawn, _ = _drawn_order(text)
        if drawn != expected:
            failed.append((text, rtl, drawn, expected))
    assert len(RENDER_SAMPLE) > 1500 and failed == []


@pytest.mark.skipif(not fonts.has_shaper(), reason="Pillow without libraqm draws no right-to-left text")
def test_runs_are_placed_by_their_advances_with_no_overlap_or_gap():
    text = "אני אוהב Star Wars (IV)! 日本 שלום"
    _drawn, recorder = _drawn_order(text)
    assert len({font for *_, font in recorder.runs}) >= 3  # Anton, DejaVu (Hebrew) and Droid (Japanese)
    for (x, run, direction, font), (next_x, next_run, next_direction, next_font) in zip(
        recorder.runs, recorder.runs[1:]
    ):
        assert next_x == pytest.approx(x + font.getlength(run, direction=direction))  # type: ignore[attr-defined]
        if run.strip() and next_run.strip():  # where one run's ink ends, the next one's starts: no overlap
            right = x + font.getbbox(run, anchor="ls", direction=direction)[2]  # type: ignore[attr-defined]
            left = next_x + next_font.getbbox(next_run, anchor="ls", direction=next_direction)[0]  # type: ignore[attr-defined]
            assert right <= left + 1
    last_x, last_run, last_direction, last_font = recorder.runs[-1]
    line = layout_text(text, fonts.font_stack(), 10**6, 10**6, font_size=20, outline=0.0).lines[0]
    drawn_width = last_x + last_font.getlength(last_run, direction=last_direction)  # type: ignore[attr-defined]
    assert drawn_width == pytest.approx(fonts.font_stack().real_width(line, 20), abs=1)  # as measured for layout


@pytest.mark.skipif(not fonts.has_shaper(), reason="Pillow without libraqm draws no right-to-left text")
def test_hebrew_with_a_title_in_brackets_reads_right():
    drawn, recorder = _drawn_order("אני אוהב Star Wars (IV)!")
    assert "".join(drawn) == "!StarWars(IV)בהואינא"  # the Hebrew words read from the right
    runs = [(run, direction) for _x, run, direction, _font in recorder.runs if run.strip()]
    assert runs == [("!", "rtl"), ("Star Wars (IV)", "ltr"), ("אוהב", "rtl"), ("אני", "rtl")]


@pytest.mark.skipif(not fonts.has_shaper(), reason="Pillow without libraqm draws no right-to-left text")
def test_a_bracket_in_right_to_left_text_is_mirrored():
    anton = fonts.load_font(str(fonts.font_stack().faces[0].path), 80)

    def ink(text: str, direction: str) -> bytes:
        image = Image.new("L", (120, 120))
        ImageDraw.Draw(image).text((20, 100), text, font=anton, fill=255, anchor="ls", direction=direction)
        return image.tobytes()

    _drawn, recorder = _drawn_order("שלום (עולם)")
    brackets = [(run.strip(), direction) for _x, run, direction, _font in recorder.runs if run.strip() in "()"]
    assert brackets == [(")", "rtl"), ("(", "rtl")]  # typed "(" ... ")", each drawn in a right-to-left run
    assert ink("(", "rtl") == ink(")", "ltr") and ink("(", "rtl") != ink("(", "ltr")  # so the shaper mirrors


def test_direction_is_resolved_per_paragraph_before_wrapping():
    # a Hebrew paragraph whose second line starts with English words still reads right to left
    placements = plan_meme(400, 400, "שלום שלום שלום HELLO WORLD AGAIN", RenderOptions(keep_case=True))
    layout = placements[0].layout
    assert len(layout.lines) > 1 and all(layout.rtl)
    # and the space between two Hebrew words in an English line keeps their right-to-left level
    stack = fonts.font_stack()
    line = layout_text("HI שלום עולם", stack, 10**6, 10**6, font_size=20).lines[0]
    assert [cluster.level for cluster in line if cluster.text == " "] == [0, 1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u202eABC\u202c D", "CBAD"),  # RLO ... PDF: an override
        ("\u202bABC DEF!\u202c", "!ABCDEF"),  # RLE ... PDF: an embedding sends "!" to the left
        ("\u2067ABC!\u2069", "!ABC"),  # RLI ... PDI: an isolate, and the paragraph stays left to right
        ("\u05d0 ABC!", "!ABC\u05d0"),
        ("\u05d0 ABC!\u200e", "ABC!\u05d0"),  # LRM keeps "!" with the English
        ("ABC \u05d0!", "ABC\u05d0!"),
        ("ABC \u05d0!\u200f", "ABC!\u05d0"),  # RLM takes "!" into the Hebrew
    ],
)
def test_explicit_controls_and_marks_are_honoured(text, expected):
    if not fonts.has_shaper() and any(unicodedata.bidirectional(c) == "R" for c in text):
        pytest.skip("Pillow without libraqm draws no right-to-left text")
    drawn, _ = _drawn_order(text)
    assert "".join(drawn) == expected
