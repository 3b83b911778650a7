"""Which words go on which line, at what size: a pure function of the text, a measurer and a box.

Layout never touches a font file or PIL; it asks a ``Measurer`` (the real
``FontStack`` or a test double) how wide things are, so every rule here can be
tested exactly, without drawing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from memer import settings
from memer.errors import RenderError
from memer.rendering.bidi import is_rtl
from memer.text import collapse_whitespace

# Bidi isolate controls (LRI, RLI, FSI, PDI): kept in a line as invisible clusters, since their level parts runs (L2).
ISOLATES = frozenset("\u2066\u2067\u2068\u2069")
REFERENCE_SIZE = 200  # words are measured once at this size and scaled linearly
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+")
_CLAUSE_BREAK = re.compile(r"(?<=[,;:–—])\s+")
# Where a caption asks for a new line: a newline, or " / " as poems and haiku are written on one line.
_LINE_BREAK = re.compile(r"\r\n?|\n|[ \t\u00a0]+/[ \t\u00a0]+")


class Cluster(NamedTuple):
    """Characters drawn together (a letter with its marks), the face that draws them, and their bidi
    embedding level, resolved over the whole paragraph before it is wrapped (odd: right to left)."""

    face: int
    text: str
    level: int = 0


SPACE = Cluster(0, " ")
Word = tuple[Cluster, tuple[Cluster, ...]]  # the space before a word, and the word


@dataclass(frozen=True)
class Extent:
    """Size of some text at the reference size: advance width and ink above/below the baseline."""

    width: float
    ascent: float
    descent: float
    left: float = 0.0  # ink left of the origin (negative when a glyph overhangs)
    right: float = 0.0  # ink right edge; may pass ``width`` (an overhanging accent)

    @property
    def span(self) -> float:
        """Horizontal room the text needs: advance or ink, whichever reaches further."""
        return max(self.width, self.right) - min(0.0, self.left)

    @property
    def overhang(self) -> float:
        return -min(0.0, self.left)


class Measurer(Protocol):
    """What layout needs to know about fonts (the real ``FontStack`` or a test double)."""

    def clusters(self, text: str) -> list[Cluster]: ...

    def extent(self, clusters: Sequence[Cluster]) -> Extent: ...

    def space_width(self) -> float: ...


def check_caption(text: str) -> None:
    """Refuse an empty or overlong caption: the one place that says so, for the renderer and the CLI alike."""
    if not text or not text.strip():
        raise RenderError(
            "The caption is empty.", "Give some text to put on the picture.", code="render.empty_caption", fix="caption"
        )
    if len(text) > settings.MAX_CAPTION_CHARS:
        raise RenderError(
            f"The caption is {len(text)} characters long, over the {settings.MAX_CAPTION_CHARS} a meme can carry.",
            "Shorten it (or raise MEMER_MAX_CAPTION_CHARS).",
            code="render.caption_too_long",
            fix="caption",
        )


def caption_lines(text: str) -> list[str]:
    """The lines a caption asks for (newlines or " / "), each with its spaces collapsed; empty lines dropped.

    The one rule for multi-line captions: haiku and poems keep their lines on the
    meme, and ``split_both`` splits them between lines.
    """
    lines = (collapse_whitespace(line) for line in _LINE_BREAK.split(text))
    return [line for line in lines if line]


def has_ink(text: str, fonts: Measurer) -> bool:
    """Whether any character of ``text`` can be drawn (spaces and characters no font has cannot)."""
    return any(cluster[1] != " " and cluster[1] not in ISOLATES for cluster in fonts.clusters(text))


def check_drawable(text: str, fonts: Measurer) -> None:
    """Refuse a caption with nothing to draw, saying precisely why: it is empty, or no font has its characters."""
    check_caption(text)
    if not has_ink(text, fonts):
        raise RenderError(
            f"None of the characters in the caption {text[:40]!r} can be drawn.",
            "Use letters, digits or emoji.",
            code="render.undrawable",
            fix="caption",
        )


@dataclass(frozen=True)
class TextLayout:
    """Where a caption's words go: lines of clusters at one font size."""

    lines: tuple[tuple[Cluster, ...], ...]
    size: int
    stroke: int
    pitch: int  # baseline to baseline
    ascent: int  # ink above the first baseline, outline included
    descent: int  # ink below the last baseline, outline included
    widths: tuple[float, ...]  # room each line needs at ``size`` (ink or advance), outline not included
    offsets: tuple[float, ...] = ()  # how far each line's ink reaches left of its origin
    rtl: tuple[bool, ...] = ()  # per line: whether its paragraph reads right to left (bidi rule P2)

    @property
    def height(self) -> int:
        return self.ascent + self.pitch * (len(self.lines) - 1) + self.descent

    @property
    def width(self) -> float:
        return max(self.widths, default=0.0) + 2 * self.stroke

    @property
    def text_lines(self) -> list[str]:
        return ["".join(cluster[1] for cluster in line) for line in self.lines]


def _words(clusters: Sequence[Cluster]) -> list[list[Word]]:
    """Paragraphs (split at newlines by the caller) of words (runs of non-space clusters), each with the
    space before it: a space keeps the level the paragraph gave it (between two Hebrew words in an English
    line it reads right to left too)."""
    words: list[Word] = []
    current: list[Cluster] = []
    gap = SPACE
    for cluster in clusters:
        if cluster[1] == " ":
            if current:
                words.append((gap, tuple(current)))
                current = []
            gap = cluster
        else:
            current.append(cluster)
    if current:
        words.append((gap, tuple(current)))
    return [words]


def _fits(word: tuple[Cluster, ...], start: int, end: int, fonts: Measurer, max_width: float) -> bool:
    return fonts.extent(word[start:end]).width <= max_width


def _break_word(word: tuple[Cluster, ...], fonts: Measurer, max_width: float) -> list[tuple[Cluster, ...]]:
    """Pieces of a word too wide for a line, each as wide as fits (at least one cluster).

    Each piece's end is found by galloping then bisecting (width grows with
    length), so a piece of L clusters costs O(log L) measures of at most 2L
    clusters, and the whole word O(n log n) rather than a measure per prefix.
    """
    pieces: list[tuple[Cluster, ...]] = []
    start, n = 0, len(word)
    while start < n:
        good, step = start + 1, 1  # one cluster always goes, even when it alone is too wide
        while good + step <= n and _fits(word, start, good + step, fonts, max_width):
            good, step = good + step, step * 2
        bad = min(n + 1, good + step)  # first end known (or assumed, past the word) not to fit
        while bad - good > 1:
            middle = (good + bad) // 2
            if middle <= n and _fits(word, start, middle, fonts, max_width):
                good = middle
            else:
                bad = middle
        pieces.append(word[start:good])
        start = good
    return pieces


def _wrap(
    paragraphs: list[list[Word]], fonts: Measurer, max_width: float, *, break_words: bool
) -> list[tuple[tuple[Cluster, ...], int]] | None:
    """Greedy word wrap at the reference size: (line, paragraph number) pairs; None when a word is too wide
    and may not be broken."""
    space = fonts.space_width()
    lines: list[tuple[tuple[Cluster, ...], int]] = []
    for number, words in enumerate(paragraphs):
        line: list[Cluster] = []
        line_width = 0.0
        for gap, word in words:
            word_width = fonts.extent(word).width
            pieces = [word]
            if word_width > max_width:
                if not break_words:
                    return None
                pieces = _break_word(word, fonts, max_width)
            for piece in pieces:
                piece_width = fonts.extent(piece).width
                if line and line_width + space + piece_width <= max_width:
                    line.extend((gap, *piece))
                    line_width += space + piece_width
                else:
                    if line:
                        lines.append((tuple(line), number))
                    line, line_width = list(piece), piece_width
        if line:
            lines.append((tuple(line), number))
    return lines


def _stroke(size: float, outline: float) -> int:
    return max(1, round(size * outline)) if outline > 0 else 0


def _fit(
    paragraphs: list[list[Word]],
    fonts: Measurer,
    size: int,
    box_width: float,
    *,
    outline: float,
    line_spacing: float,
    break_words: bool,
    directions: Sequence[bool] = (),
) -> TextLayout | None:
    stroke = _stroke(size, outline)
    scale = size / REFERENCE_SIZE
    usable = box_width - 2 * stroke
    if usable <= 0:
        return None
    room = usable / scale
    wrapped = _wrap(paragraphs, fonts, room, break_words=break_words)
    if not wrapped:
        return None
    lines = [line for line, _ in wrapped]
    extents = [fonts.extent(line) for line in lines]
    overhang = max(e.span - e.width for e in extents)
    if overhang > 0 and any(e.span > room for e in extents) and break_words:
        # A glyph's ink reaches past its advance (an accent, an italic end): wrap again with that
        # much less room, so a long broken word does not fail at one size and fit at the next.
        wrapped = _wrap(paragraphs, fonts, room - overhang, break_words=True)
        if not wrapped:
            return None
        lines = [line for line, _ in wrapped]
        extents = [fonts.extent(line) for line in lines]
    if any(e.span > room for e in extents):
        return None  # an overhanging glyph would poke out of the box
    return TextLayout(
        lines=tuple(lines),
        size=size,
        stroke=stroke,
        pitch=max(1, round(size * line_spacing)),
        # +1: hinting and anti-aliasing at the real size can reach a pixel past the scaled ink
        ascent=math.ceil(extents[0].ascent * scale) + stroke + 1,
        descent=math.ceil(extents[-1].descent * scale) + stroke + 1,
        widths=tuple(e.span * scale for e in extents),
        offsets=tuple(e.overhang * scale for e in extents),
        rtl=tuple(bool(directions and directions[number]) for _, number in wrapped),
    )


def _largest(low: int, high: int, attempt: Callable[[int], TextLayout | None]) -> TextLayout | None:
    """Binary search for the largest size whose layout ``attempt`` accepts (fit is monotone in size)."""
    best = None
    while low <= high:
        middle = (low + high) // 2
        layout = attempt(middle)
        if layout is not None:
            best, low = layout, middle + 1
        else:
            high = middle - 1
    return best


def layout_text(
    text: str,
    fonts: Measurer,
    box_width: float,
    box_height: float,
    *,
    font_size: int | None = None,
    max_lines: int | None = None,
    min_size: int | None = None,
    readable_size: float = 0.0,
    fallback_height: float | None = None,
    outline: float | None = None,
    line_spacing: float | None = None,
) -> TextLayout:
    """Lines and size for ``text`` in a box: the pure heart of rendering.

    Auto-fit picks the largest size at which the text wraps into at most
    ``max_lines`` lines with every line inside ``box_width`` and the block inside
    ``box_height``; a word wider than a line makes the size shrink. When that size
    would be below ``readable_size``, more lines are allowed (breaking words that
    still do not fit); failing that, the block may grow to ``fallback_height`` and
    the size go below ``min_size``. An explicit ``font_size`` is used as given,
    wrapping into as many lines as needed, and only shrunk if the text would not
    fit ``fallback_height`` at all.
    """
    max_lines = settings.MAX_LINES if max_lines is None else max_lines
    min_size = settings.MIN_FONT_SIZE if min_size is None else min_size
    outline = settings.OUTLINE if outline is None else outline
    line_spacing = settings.LINE_SPACING if line_spacing is None else line_spacing
    fallback_height = box_height if fallback_height is None else max(fallback_height, box_height)
    parts = [(_words(fonts.clusters(line))[0], is_rtl(line)) for line in caption_lines(text)]
    parts = [(words, rtl) for words, rtl in parts if words]
    paragraphs = [words for words, _ in parts]
    directions = [rtl for _, rtl in parts]
    if not any(paragraphs):
        check_drawable(text, fonts)  # says whether the caption is empty or has nothing any font can draw

    def attempt(size: int, height: float, lines_allowed: float, break_words: bool) -> TextLayout | None:
        layout = _fit(
            paragraphs,
            fonts,
            size,
            box_width,
            outline=outline,
            line_spacing=line_spacing,
            break_words=break_words,
            directions=directions,
        )
        if layout is None or len(layout.lines) > lines_allowed or layout.height > height:
            return None
        return layout

    top = max(1, int(2 * max(fallback_height, box_width)))  # no size can fit beyond this
    if font_size is not None:
        exact = attempt(font_size, float("inf"), float("inf"), True)
        if exact is not None and exact.height <= fallback_height:
            return exact
        found = _largest(1, min(font_size, top), lambda s: attempt(s, fallback_height, float("inf"), True))
    else:
        found = _largest(min_size, top, lambda s: attempt(s, box_height, max_lines, False))
        if found is None or found.size < readable_size:
            more_lines = _largest(min_size, top, lambda s: attempt(s, box_height, float("inf"), True))
            found = more_lines if more_lines is not None else found
        if found is None:
            found = _largest(1, top, lambda s: attempt(s, fallback_height, float("inf"), True))
    if found is None:
        raise RenderError(
            f"The caption ({len(text)} characters) does not fit on a {int(box_width)} px wide picture even at 1 px.",
            "Shorten the caption or use a larger picture.",
            code="render.caption_too_long",
            fix="caption",
        )
    return found


def split_both(text: str) -> tuple[str, str]:
    """Top and bottom texts: at the first ``|``; else between the lines of a multi-line caption, at the
    break nearest the middle; else at the sentence or clause break nearest the middle."""
    if "|" in text:
        top, bottom = text.split("|", 1)
        return "\n".join(caption_lines(top)), "\n".join(caption_lines(bottom))
    lines = caption_lines(text)
    if len(lines) > 1:
        total = sum(len(line) for line in lines)
        before = [sum(len(line) for line in lines[:i]) for i in range(1, len(lines))]
        best = min(range(len(before)), key=lambda i: abs(2 * before[i] - total)) + 1
        return "\n".join(lines[:best]), "\n".join(lines[best:])
    text = lines[0] if lines else ""
    middle = len(text) / 2
    for pattern in (_SENTENCE_BREAK, _CLAUSE_BREAK, re.compile(r"\s+")):
        breaks = [m for m in pattern.finditer(text) if 0 < m.start() < len(text)]
        if breaks:
            best_break = min(breaks, key=lambda m: abs(m.start() - middle))
            return text[: best_break.start()].strip(), text[best_break.end() :].strip()
    return text, ""
