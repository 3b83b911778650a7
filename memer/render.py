"""Set a caption on a picture in the classic meme look, and save it as a PNG with credits.

Layout (which words go on which line, at what size) is a pure function of the
text, a font measurer and a box, so it can be tested without drawing; drawing
then only places what the layout decided. Characters the Impact-like main
font lacks are drawn with fallback fonts, a colour emoji font where the system
has one, and dropped where no font has them, so no tofu boxes ever appear.
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
import struct
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from memer import __version__, settings
from memer.errors import RenderError

if TYPE_CHECKING:
    from PIL import Image, ImageFont

    from memer.candidates import ImageCandidate

POSITIONS = ("top", "bottom", "both")
# Where systems keep a colour emoji font (Linux/Colab, macOS, Windows).
SYSTEM_EMOJI_FONTS = (
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/google-noto-emoji/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto-emoji/NotoColorEmoji.ttf",
    "/usr/local/share/fonts/NotoColorEmoji.ttf",
    "/System/Library/Fonts/Apple Color Emoji.ttc",
    "C:/Windows/Fonts/seguiemj.ttf",
)
# Bitmap colour fonts only load at the sizes they carry: Noto's is 109, Apple's 160 and smaller.
_EMOJI_LOAD_SIZES = (109, 160, 136, 128, 96, 64, 48)
_REFERENCE_SIZE = 200  # words are measured once at this size and scaled linearly
_ATTACHED_CATEGORIES = {"Mn", "Me", "Mc"}  # marks that belong to the character before them
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_JOINERS = {"\u200d"}  # zero width joiner: keeps an emoji sequence together
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+")
_CLAUSE_BREAK = re.compile(r"(?<=[,;:–—])\s+")


# --- fonts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Face:
    """One font of the stack; ``scale`` matches its capitals to the main font's."""

    path: str
    scale: float = 1.0
    color: bool = False  # a bitmap colour emoji font, drawn at ``load_size`` and resized
    load_size: int | None = None
    codepoints: frozenset[int] = field(default=frozenset(), repr=False, compare=False)


Cluster = tuple[int, str]  # (index of the face that draws it, the characters)


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


def _font_path(name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else settings.FONT_DIR / path


@functools.lru_cache(maxsize=16)
def _codepoints(path: str) -> frozenset[int]:
    """Every character the font maps to a real glyph, read from its ``cmap`` table."""
    data = Path(path).read_bytes()
    base = 0
    if data[:4] == b"ttcf":  # a collection: use its first font
        base = struct.unpack_from(">I", data, 12)[0]
    num_tables = struct.unpack_from(">H", data, base + 4)[0]
    cmap = None
    for i in range(num_tables):
        tag, _checksum, offset, _length = struct.unpack_from(">4sIII", data, base + 12 + 16 * i)
        if tag == b"cmap":
            cmap = offset
    if cmap is None:
        return frozenset()
    found: set[int] = set()
    count = struct.unpack_from(">H", data, cmap + 2)[0]
    for i in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
        if not (platform == 0 or (platform == 3 and encoding in (1, 10))):
            continue
        table = cmap + offset
        fmt = struct.unpack_from(">H", data, table)[0]
        if fmt == 4:
            found |= _cmap_format4(data, table)
        elif fmt == 12:
            groups = struct.unpack_from(">I", data, table + 12)[0]
            for g in range(groups):
                start, end, glyph = struct.unpack_from(">III", data, table + 16 + 12 * g)
                found.update(range(start, end + 1) if glyph else range(start + 1, end + 1))
    return frozenset(found)


def _cmap_format4(data: bytes, table: int) -> set[int]:
    seg_count = struct.unpack_from(">H", data, table + 6)[0] // 2
    ends = struct.unpack_from(f">{seg_count}H", data, table + 14)
    starts = struct.unpack_from(f">{seg_count}H", data, table + 16 + 2 * seg_count)
    deltas = struct.unpack_from(f">{seg_count}h", data, table + 16 + 4 * seg_count)
    range_offsets_at = table + 16 + 6 * seg_count
    range_offsets = struct.unpack_from(f">{seg_count}H", data, range_offsets_at)
    found: set[int] = set()
    for i, (start, end, delta, range_offset) in enumerate(zip(starts, ends, deltas, range_offsets)):
        if start == 0xFFFF:
            continue
        for code in range(start, end + 1):
            if range_offset == 0:
                glyph = (code + delta) & 0xFFFF
            else:
                at = range_offsets_at + 2 * i + range_offset + 2 * (code - start)
                glyph = struct.unpack_from(">H", data, at)[0] if at + 2 <= len(data) else 0
                glyph = (glyph + delta) & 0xFFFF if glyph else 0
            if glyph:
                found.add(code)
    return found


@functools.lru_cache(maxsize=512)
def _load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(path, max(1, size))


def _load_emoji_face(path: str) -> Face | None:
    """A colour emoji font at a size it can load (bitmap fonts refuse all others)."""
    for size in _EMOJI_LOAD_SIZES:
        try:
            _load_font(path, size)
        except OSError:
            continue
        return Face(path=path, color=True, load_size=size, codepoints=_codepoints(path))
    return None


def _find_emoji_font() -> str | None:
    if settings.EMOJI_FONT is not None:
        return str(settings.EMOJI_FONT) if Path(settings.EMOJI_FONT).is_file() else None
    return next((p for p in SYSTEM_EMOJI_FONTS if Path(p).is_file()), None)


class FontStack:
    """The main font plus fallbacks, choosing a face per character."""

    def __init__(self, faces: Sequence[Face]) -> None:
        self.faces = tuple(faces)
        self._face_of: dict[str, int | None] = {}
        self._extents: dict[tuple[Cluster, ...], Extent] = {}
        self._cap_height = self._ink_height(0, "H")

    def _ink_height(self, index: int, text: str) -> float:
        face = self.faces[index]
        font = _load_font(face.path, face.load_size or _REFERENCE_SIZE)
        _left, top, _right, _bottom = font.getbbox(text, anchor="ls")
        return float(-top)

    def face_for(self, char: str) -> int | None:
        if char not in self._face_of:
            code = ord(char)
            self._face_of[char] = next((i for i, face in enumerate(self.faces) if code in face.codepoints), None)
        return self._face_of[char]

    def clusters(self, text: str) -> list[Cluster]:
        """The drawable characters of ``text`` grouped with their marks and joiners, each with its face.

        Characters no face can draw are dropped, as are marks and joiners the
        chosen face does not carry, so nothing ever becomes a tofu box.
        """
        out: list[Cluster] = []
        joined = False
        for char in unicodedata.normalize("NFC", text):
            if char.isspace() or char == "\u200b":
                out.append((0, " "))
                joined = False
                continue
            category = unicodedata.category(char)
            code = ord(char)
            is_modifier = 0x1F3FB <= code <= 0x1F3FF or 0xFE00 <= code <= 0xFE0F or 0xE0020 <= code <= 0xE007F
            if (
                out
                and out[-1][1] != " "
                and (category in _ATTACHED_CATEGORIES or is_modifier or char in _JOINERS or joined)
            ):
                face_index, previous = out[-1]
                if code in self.faces[face_index].codepoints:
                    out[-1] = (face_index, previous + char)
                    joined = char in _JOINERS
                    continue
                if category in _ATTACHED_CATEGORIES or is_modifier or char in _JOINERS:
                    continue  # a mark the face cannot draw: drop it rather than show a box
            joined = False
            if category in _DROPPED_CATEGORIES or category in _ATTACHED_CATEGORIES or is_modifier:
                continue
            face_index = self.face_for(char)
            if face_index is not None and self._prefers_colour(char, face_index):
                face_index = len(self.faces) - 1
            if face_index is not None:
                out.append((face_index, char))
        return out

    def _prefers_colour(self, char: str, face_index: int) -> bool:
        """Pictographs go to the colour emoji font even when a text font has a plain version."""
        last = self.faces[-1]
        code = ord(char)
        pictograph = 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF or 0x2B00 <= code <= 0x2BFF
        return pictograph and last.color and face_index != len(self.faces) - 1 and code in last.codepoints

    def face_size(self, index: int, size: float) -> int:
        return max(1, round(size * self.faces[index].scale))

    def extent(self, clusters: Sequence[Cluster]) -> Extent:
        """Width and ink of clusters at the reference size (cached: layout asks often)."""
        key = tuple(clusters)
        cached = self._extents.get(key)
        if cached is None:
            if len(self._extents) > 50_000:
                self._extents.clear()
            cached = self._measure(key, _REFERENCE_SIZE)
            self._extents[key] = cached
        return cached

    def _measure(self, clusters: Sequence[Cluster], size: int) -> Extent:
        width = ascent = descent = left = right = 0.0
        for index, text in runs(clusters):
            face = self.faces[index]
            scale = self.emoji_scale(face, size) if face.color else 1.0
            font = (
                _load_font(face.path, face.load_size or size)
                if face.color
                else _load_font(face.path, self.face_size(index, size))
            )
            ink_left, top, ink_right, bottom = font.getbbox(text, anchor="ls")
            if width == 0.0:
                left = min(left, ink_left * scale)
            right = max(right, width + ink_right * scale)
            width += font.getlength(text) * scale
            ascent, descent = max(ascent, -top * scale), max(descent, bottom * scale)
        return Extent(width, ascent, descent, left, right)

    def real_width(self, clusters: Sequence[Cluster], size: int) -> float:
        """Room the text needs at the actual size, with hinting, to check a layout before drawing it."""
        return self._measure(clusters, size).span

    def space_width(self) -> float:
        return _load_font(self.faces[0].path, _REFERENCE_SIZE).getlength(" ")

    def emoji_scale(self, face: Face, size: float) -> float:
        """Emoji stand a little taller than the capitals around them."""
        return 1.15 * self._cap_height * (size / _REFERENCE_SIZE) / _emoji_height(face.path, face.load_size or 109)


@functools.lru_cache(maxsize=8)
def _emoji_height(path: str, load_size: int) -> int:
    _left, top, _right, bottom = _load_font(path, load_size).getbbox("\U0001f600", anchor="ls")
    return max(1, bottom - top)


def runs(clusters: Sequence[Cluster]) -> list[tuple[int, str]]:
    """Neighbouring clusters drawn by the same face, joined into one string."""
    out: list[tuple[int, str]] = []
    for index, text in clusters:
        if out and out[-1][0] == index:
            out[-1] = (index, out[-1][1] + text)
        else:
            out.append((index, text))
    return out


@functools.lru_cache(maxsize=8)
def _font_stack(main: str, fallbacks: tuple[str, ...], emoji: str | None) -> FontStack:
    if not Path(main).is_file():
        raise RenderError(f"The caption font {main} is missing.", "Reinstall memer or set MEMER_FONT to a .ttf file.")
    faces = [Face(main, 1.0, codepoints=_codepoints(main))]
    main_caps = -_load_font(main, _REFERENCE_SIZE).getbbox("H", anchor="ls")[1]
    for path in fallbacks:
        if not Path(path).is_file():
            continue
        caps = -_load_font(path, _REFERENCE_SIZE).getbbox("H", anchor="ls")[1]
        faces.append(Face(path, main_caps / caps if caps > 0 else 1.0, codepoints=_codepoints(path)))
    if emoji:
        face = _load_emoji_face(emoji)
        if face is not None:
            faces.append(face)
    return FontStack(faces)


def font_stack() -> FontStack:
    """The configured fonts (settings.FONT, FALLBACK_FONTS, EMOJI_FONT), loaded once."""
    main = Path(settings.font_file()).expanduser()
    fallbacks = tuple(str(_font_path(name)) for name in settings.FALLBACK_FONTS)
    return _font_stack(str(main), fallbacks, _find_emoji_font())


# --- layout (pure) ----------------------------------------------------------------------


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

    @property
    def height(self) -> int:
        return self.ascent + self.pitch * (len(self.lines) - 1) + self.descent

    @property
    def width(self) -> float:
        return max(self.widths, default=0.0) + 2 * self.stroke

    @property
    def text_lines(self) -> list[str]:
        return ["".join(text for _, text in line) for line in self.lines]


def _words(clusters: Sequence[Cluster]) -> list[list[tuple[Cluster, ...]]]:
    """Paragraphs (split at newlines by the caller) of words (runs of non-space clusters)."""
    words: list[tuple[Cluster, ...]] = []
    current: list[Cluster] = []
    for cluster in clusters:
        if cluster[1] == " ":
            if current:
                words.append(tuple(current))
                current = []
        else:
            current.append(cluster)
    if current:
        words.append(tuple(current))
    return [words]


def _break_word(word: tuple[Cluster, ...], fonts: Measurer, max_width: float) -> list[tuple[Cluster, ...]]:
    """Pieces of a word too wide for a line, each as wide as fits (at least one cluster)."""
    pieces: list[tuple[Cluster, ...]] = []
    current: list[Cluster] = []
    for cluster in word:
        if current and fonts.extent((*current, cluster)).width > max_width:
            pieces.append(tuple(current))
            current = []
        current.append(cluster)
    if current:
        pieces.append(tuple(current))
    return pieces


def _wrap(
    paragraphs: list[list[tuple[Cluster, ...]]], fonts: Measurer, max_width: float, *, break_words: bool
) -> list[tuple[Cluster, ...]] | None:
    """Greedy word wrap at the reference size; None when a word is too wide and may not be broken."""
    space = fonts.space_width()
    lines: list[tuple[Cluster, ...]] = []
    for words in paragraphs:
        line: list[Cluster] = []
        line_width = 0.0
        for word in words:
            word_width = fonts.extent(word).width
            pieces = [word]
            if word_width > max_width:
                if not break_words:
                    return None
                pieces = _break_word(word, fonts, max_width)
            for piece in pieces:
                piece_width = fonts.extent(piece).width
                if line and line_width + space + piece_width <= max_width:
                    line.extend(((0, " "), *piece))
                    line_width += space + piece_width
                else:
                    if line:
                        lines.append(tuple(line))
                    line, line_width = list(piece), piece_width
        if line:
            lines.append(tuple(line))
    return lines


def _stroke(size: float, outline: float) -> int:
    return max(1, round(size * outline)) if outline > 0 else 0


def _fit(
    paragraphs: list[list[tuple[Cluster, ...]]],
    fonts: Measurer,
    size: int,
    box_width: float,
    *,
    outline: float,
    line_spacing: float,
    break_words: bool,
) -> TextLayout | None:
    stroke = _stroke(size, outline)
    scale = size / _REFERENCE_SIZE
    usable = box_width - 2 * stroke
    if usable <= 0:
        return None
    lines = _wrap(paragraphs, fonts, usable / scale, break_words=break_words)
    if not lines:
        return None
    extents = [fonts.extent(line) for line in lines]
    if any(e.span * scale > usable for e in extents):
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
    )


def _largest(low: int, high: int, attempt) -> TextLayout | None:
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
    clusters = fonts.clusters(text) if "\n" not in text else None
    if clusters is not None:
        paragraphs = _words(clusters)
    else:
        paragraphs = [_words(fonts.clusters(part))[0] for part in text.split("\n")]
        paragraphs = [p for p in paragraphs if p]
    if not any(paragraphs):
        if not text.strip():
            raise RenderError("The caption is empty.", "Give some text to put on the picture.")
        raise RenderError(
            f"None of the characters in the caption {text[:40]!r} can be drawn.", "Use letters, digits or emoji."
        )

    def attempt(size: int, height: float, lines_allowed: float, break_words: bool) -> TextLayout | None:
        layout = _fit(
            paragraphs, fonts, size, box_width, outline=outline, line_spacing=line_spacing, break_words=break_words
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
        )
    return found


def split_both(text: str) -> tuple[str, str]:
    """Top and bottom texts: at the first ``|`` or newline, else the sentence or clause break nearest the middle."""
    for mark in ("|", "\n"):
        if mark in text:
            top, bottom = text.split(mark, 1)
            return top.strip(), bottom.strip()
    text = " ".join(text.split())
    middle = len(text) / 2
    for pattern in (_SENTENCE_BREAK, _CLAUSE_BREAK, re.compile(r"\s+")):
        breaks = [m for m in pattern.finditer(text) if 0 < m.start() < len(text)]
        if breaks:
            best = min(breaks, key=lambda m: abs(m.start() - middle))
            return text[: best.start()].strip(), text[best.end() :].strip()
    return text, ""


# --- drawing ---------------------------------------------------------------------------


@dataclass
class RenderOptions:
    """How to set a caption: where, how big, which case, and an optional credit strip."""

    position: str = "bottom"  # top | bottom | both
    font_size: int | None = None  # None: auto-fit
    keep_case: bool = False
    attribution: str | None = None  # burned into the bottom edge when given
    output_size: int | None = None  # longest side; None: settings.OUTPUT_SIZE


def _check_options(options: RenderOptions) -> None:
    if options.position not in POSITIONS:
        raise RenderError(f"Unknown caption position {options.position!r}.", "Use top, bottom or both.")
    if options.font_size is not None and (not isinstance(options.font_size, int) or options.font_size < 1):
        raise RenderError(f"Font size {options.font_size!r} is not a positive whole number.", "Use auto or e.g. 64.")
    size = options.output_size
    if size is not None and (not isinstance(size, int) or size < 16):
        raise RenderError(f"Output size {size!r} is too small.", "Use at least 16 pixels, e.g. 1024.")


def _scaled(image: Image.Image, longest: int) -> Image.Image:
    from PIL import Image

    width, height = image.size
    factor = longest / max(width, height)
    target = (max(1, round(width * factor)), max(1, round(height * factor)))
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    if target == rgb.size:
        return rgb.copy()
    return rgb.resize(target, Image.Resampling.LANCZOS, reducing_gap=1.5)


@dataclass(frozen=True)
class Placement:
    """A laid-out text block and the y of its top edge on the canvas (it is centred across)."""

    layout: TextLayout
    top: int


def plan_meme(
    width: int, height: int, text: str, options: RenderOptions, fonts: FontStack | None = None
) -> list[Placement]:
    """Where each caption block goes on a ``width`` x ``height`` canvas; no drawing."""
    _check_options(options)
    if not text or not text.strip():
        raise RenderError("The caption is empty.", "Give some text to put on the picture.")
    fonts = fonts or font_stack()
    margin = max(1, round(settings.MARGIN * width))
    edge = max(1, round(settings.MARGIN * min(width, height)))  # above and below the text
    strip = _attribution_strip_height(height) if options.attribution and options.attribution.strip() else 0
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text if options.keep_case else text.upper()
    box_width = width - 2 * margin
    if options.position == "both":
        top_text, bottom_text = split_both(text)
        region = (height - strip) / 2 - edge
        parts = [(top_text, "top"), (bottom_text, "bottom")]
    else:
        region = height - strip - 2 * edge
        parts = [(text.strip(), options.position)]
    drawable = [(part, where) for part, where in parts if any(c[1] != " " for c in fonts.clusters(part))]
    if not drawable:
        # Let layout say precisely why (empty, or nothing drawable); "|" alone leaves both halves empty.
        layout_text(" ".join(part for part, _ in parts), fonts, box_width, region)
    box_height = min(settings.BLOCK_HEIGHT * height, region)
    layouts = [_checked_layout(part, fonts, box_width, box_height, region, options, height) for part, _ in drawable]
    if len(layouts) == 2 and options.font_size is None:
        shared = min(layout.size for layout in layouts)  # one size for both halves looks deliberate
        layouts = [
            layout
            if layout.size == shared
            else _checked_layout(part, fonts, box_width, box_height, region, options, height, shared)
            for layout, (part, _) in zip(layouts, drawable)
        ]
    return [
        Placement(layout, edge if where == "top" else height - strip - edge - layout.height)
        for layout, (_, where) in zip(layouts, drawable)
    ]


def render_meme(image: Image.Image, text: str, options: RenderOptions | None = None) -> Image.Image:
    """The picture, scaled so its longest side is the output size, with the caption drawn on it."""
    from PIL import ImageDraw

    options = options or RenderOptions()
    _check_options(options)
    fonts = font_stack()
    longest = options.output_size or settings.OUTPUT_SIZE
    width, height = image.size
    factor = longest / max(width, height)
    placements = plan_meme(max(1, round(width * factor)), max(1, round(height * factor)), text, options, fonts)
    canvas = _scaled(image, longest)
    draw = ImageDraw.Draw(canvas)
    for placement in placements:
        _draw_block(canvas, draw, placement.layout, fonts, placement.top)
    if options.attribution and options.attribution.strip():
        _draw_attribution(canvas, options.attribution.strip(), _attribution_strip_height(canvas.size[1]))
    return canvas


def _checked_layout(
    text: str,
    fonts: FontStack,
    box_width: float,
    box_height: float,
    region: float,
    options: RenderOptions,
    image_height: int,
    size: int | None = None,
) -> TextLayout:
    """A layout verified at its real size: hinting can make text a little wider than scaled measures."""
    size = size or options.font_size
    for _ in range(20):
        layout = layout_text(
            text,
            fonts,
            box_width,
            box_height,
            font_size=size,
            readable_size=settings.READABLE_SIZE * image_height,
            fallback_height=region,
        )
        widest = max(fonts.real_width(line, layout.size) for line in layout.lines)
        if widest + 2 * layout.stroke <= box_width or layout.size <= 1:
            return layout
        size = max(1, min(layout.size - 1, int(layout.size * box_width / (widest + 2 * layout.stroke + 1))))
    return layout


def _draw_block(canvas: Image.Image, draw, layout: TextLayout, fonts: FontStack, top: float) -> None:
    width = canvas.size[0]
    baseline = top + layout.ascent
    for line, line_width, offset in zip(layout.lines, layout.widths, layout.offsets or (0.0,) * len(layout.lines)):
        x = (width - line_width) / 2 + offset
        for index, text in runs(line):
            face = fonts.faces[index]
            if face.color:
                x += _draw_emoji(canvas, fonts, face, text, x, baseline, layout.size)
                continue
            font = _load_font(face.path, fonts.face_size(index, layout.size))
            draw.text(
                (x, baseline),
                text,
                font=font,
                fill="white",
                stroke_width=layout.stroke,
                stroke_fill="black",
                anchor="ls",
            )
            x += font.getlength(text)
        baseline += layout.pitch


def _draw_emoji(
    canvas: Image.Image, fonts: FontStack, face: Face, text: str, x: float, baseline: float, size: int
) -> float:
    """Colour emoji are drawn at the font's own size and resized to sit with the text."""
    from PIL import Image, ImageDraw

    font = _load_font(face.path, face.load_size or size)
    scale = fonts.emoji_scale(face, size)
    left, top, right, bottom = font.getbbox(text, anchor="ls")
    advance = font.getlength(text)
    tile = Image.new("RGBA", (max(1, right - min(0, left)), max(1, bottom - top)), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((-min(0, left), -top), text, font=font, embedded_color=True, anchor="ls")
    target = (max(1, round(tile.width * scale)), max(1, round(tile.height * scale)))
    tile = tile.resize(target, Image.Resampling.LANCZOS)
    canvas.paste(tile, (round(x + min(0, left) * scale), round(baseline + top * scale)), tile)
    return advance * scale


def _attribution_strip_height(height: int) -> int:
    return max(12, round(height * 0.03))


@functools.lru_cache(maxsize=4)
def _plain_stack(fonts: FontStack) -> FontStack:
    """The fallbacks without Anton: a plain sans reads better than Anton at credit-line sizes."""
    return FontStack(fonts.faces[1:] or fonts.faces)


def _draw_attribution(canvas: Image.Image, text: str, strip: int) -> None:
    """A dark band across the bottom edge with the credit in small plain letters."""
    from PIL import Image, ImageDraw

    width, height = canvas.size
    band = Image.new("RGBA", (width, strip), (0, 0, 0, 170))
    canvas.paste(band, (0, height - strip), band)
    plain = _plain_stack(font_stack())
    clusters = plain.clusters(" ".join(text.split()))
    size = max(6, round(strip * 0.62))
    padding = max(2, strip // 3)
    while size > 6 and plain.real_width(clusters, size) > width - 2 * padding:
        size -= 1
    while len(clusters) > 1 and plain.real_width(clusters, size) > width - 2 * padding:
        clusters = [*clusters[:-2], (0, "…")] if plain.face_for("…") == 0 else clusters[:-1]
    draw = ImageDraw.Draw(canvas)
    x = (width - plain.real_width(clusters, size)) / 2
    baseline = height - strip / 2 + size * 0.35
    for index, part in runs(clusters):
        face = plain.faces[index]
        if face.color:
            x += _draw_emoji(canvas, plain, face, part, x, baseline, size)
            continue
        font = _load_font(face.path, plain.face_size(index, size))
        draw.text((x, baseline), part, font=font, fill=(255, 255, 255), anchor="ls")
        x += font.getlength(part)


# --- PNG with credits -----------------------------------------------------------------

# The only text chunks memer writes; anything else is refused so no stray value (a key!) leaks in.
METADATA_KEYS = (
    "Caption",
    "Source",
    "Author",
    "License",
    "License URL",
    "Page URL",
    "Image URL",
    "Attribution",
    "Caption engine",
    "Software",
)
_SECRET_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{12,}"),  # OpenAI
    re.compile(r"\bhf_[A-Za-z0-9]{20,}"),  # Hugging Face
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._\-]{12,}"),
    re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access_token|secret|password|sig|signature)=)[^&#\s]+"),
)
_MAX_METADATA_CHARS = 2000


def redact_secrets(value: str) -> str:
    """The value with anything that looks like an API key or token replaced by ``[redacted]``."""
    for pattern in _SECRET_PATTERNS:
        value = pattern.sub(lambda m: (m.group(1) if m.re.groups else "") + "[redacted]", value)
    return value


def meme_metadata(candidate: ImageCandidate | None, caption: str, engine: str = "") -> dict[str, str]:
    """The PNG text chunks for a meme: its caption and the picture's credits."""
    data = {"Caption": caption, "Caption engine": engine, "Software": f"memer {__version__}"}
    if candidate is not None:
        data.update(
            {
                "Source": candidate.source_name,
                "Author": candidate.author,
                "License": candidate.license,
                "License URL": candidate.license_url,
                "Page URL": candidate.page_url,
                "Image URL": candidate.original_url or candidate.image_url,
                "Attribution": candidate.attribution(),
            }
        )
    return {key: value.strip() for key, value in data.items() if value and value.strip()}


def png_bytes(image: Image.Image, metadata: dict[str, str] | None = None) -> bytes:
    """The meme as PNG bytes with its credits as text chunks (tEXt, or iTXt beyond Latin-1)."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, value in (metadata or {}).items():
        if key not in METADATA_KEYS:
            raise RenderError(
                f"{key!r} is not a PNG metadata field memer writes.", f"Use one of {', '.join(METADATA_KEYS)}."
            )
        text = redact_secrets(str(value))[:_MAX_METADATA_CHARS]
        text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
        if not text:
            continue
        try:
            text.encode("latin-1")
            info.add_text(key, text)
        except UnicodeEncodeError:
            info.add_itxt(key, text, lang="", tkey="")
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, compress_level=6)
    return out.getvalue()


def save_png(path: str | Path, png: bytes) -> Path:
    """Write PNG bytes atomically (temporary file, then rename): no half-written meme on failure."""
    target = Path(path).expanduser()
    directory = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise RenderError(f"{target} is a folder.", "Give a file name ending in .png.")
    if not directory.is_dir():
        raise RenderError(f"The folder {directory} does not exist.", "Create it or write somewhere else.")
    try:
        handle = tempfile.NamedTemporaryFile(dir=directory, prefix=f".{target.name}.", suffix=".tmp", delete=False)  # noqa: SIM115
    except OSError as err:
        raise RenderError(
            f"Cannot write to {directory}: {err.strerror or err}.", "Choose a folder you can write to."
        ) from None
    try:
        with handle:
            handle.write(png)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, target)
    except OSError as err:
        Path(handle.name).unlink(missing_ok=True)
        raise RenderError(f"Cannot write {target}: {err.strerror or err}.", "Choose a file you can write.") from None
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return target
