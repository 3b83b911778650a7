"""The fonts a caption is drawn with: the main font, fallbacks, and a colour emoji font.

Characters the Impact-like main font lacks are drawn with fallback fonts (the
bundled ones cover Latin, Greek, Cyrillic, Arabic, Hebrew, CJK, Hangul and, in
monochrome, emoji), a colour emoji font where the system has one, and dropped
where no font has them, so no tofu boxes ever appear. Runs of one font are put
in display order by the bidi algorithm (``bidi``) so right-to-left lines read
right to left. Which font has which character is read from the
font's own ``cmap`` table, so nothing is guessed from a rendered glyph.
"""

from __future__ import annotations

import functools
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from memer import settings
from memer.errors import RenderError
from memer.rendering import bidi, scripts
from memer.rendering.layout import ISOLATES, REFERENCE_SIZE, Cluster, Extent

if TYPE_CHECKING:
    from PIL import ImageFont

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
_ATTACHED_CATEGORIES = {"Mn", "Me", "Mc"}  # marks that belong to the character before them
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_JOINERS = {"\u200d"}  # zero width joiner: keeps an emoji sequence (or an Indic half form) together
_ZWNJ = "\u200c"  # zero width non-joiner: stays with the letter before it, so the shaper sees it
_EXTENT_CACHE_CLUSTERS = 400_000  # clusters held in all cached keys together, so long words cannot bloat it
Run = tuple[int, str, str | None]  # (face index, text in typing order, direction to shape it in)


@dataclass(frozen=True)
class Face:
    """One font of the stack; ``scale`` matches its capitals to the main font's."""

    path: str
    scale: float = 1.0
    color: bool = False  # a bitmap colour emoji font, drawn at ``load_size`` and resized
    load_size: int | None = None
    codepoints: frozenset[int] = field(default=frozenset(), repr=False, compare=False)


def _font_path(name: str) -> Path:
    """A font named in settings: a path as given, a bare name among the bundled fonts (settings.FONT_DIR)."""
    path = Path(name).expanduser()
    return path if path.is_absolute() else settings.FONT_DIR / path


def _tables(data: bytes) -> dict[bytes, int]:
    """Where each table of a font file starts (a collection: its first font's tables)."""
    base = 0
    if data[:4] == b"ttcf":
        base = struct.unpack_from(">I", data, 12)[0]
    num_tables = struct.unpack_from(">H", data, base + 4)[0]
    offsets = {}
    for i in range(num_tables):
        tag, _checksum, offset, _length = struct.unpack_from(">4sIII", data, base + 12 + 16 * i)
        offsets[tag] = offset
    return offsets


@functools.lru_cache(maxsize=64)
def _codepoints(path: str) -> frozenset[int]:
    """Every character the font maps to a real glyph, read from its ``cmap`` table."""
    data = Path(path).read_bytes()
    cmap = _tables(data).get(b"cmap")
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


def _declared_cap_height(path: str) -> float | None:
    """The capital height a font declares (``OS/2`` sCapHeight) as a share of its em; None if it declares none.

    A font for one script (Noto Sans Devanagari) has no "H" to measure, but its
    designers state the Latin capital height it was drawn to sit beside.
    """
    data = Path(path).read_bytes()
    tables = _tables(data)
    os2, head = tables.get(b"OS/2"), tables.get(b"head")
    if os2 is None or head is None or struct.unpack_from(">H", data, os2)[0] < 2:
        return None
    cap = struct.unpack_from(">h", data, os2 + 88)[0]
    units = struct.unpack_from(">H", data, head + 18)[0]
    return cap / units if cap > 0 and units else None


def _cmap_format4(data: bytes, table: int) -> set[int]:
    """The characters of a format 4 subtable (the Basic Multilingual Plane), skipping those mapped to no glyph."""
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
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    engine = ImageFont.Layout.RAQM if has_shaper() else ImageFont.Layout.BASIC
    return ImageFont.truetype(path, max(1, size), layout_engine=engine)


def _load_emoji_face(path: str) -> Face | None:
    """A colour emoji font at a size it can load (bitmap fonts refuse all others)."""
    for size in _EMOJI_LOAD_SIZES:
        try:
            load_font(path, size)
        except OSError:
            continue
        return Face(path=path, color=True, load_size=size, codepoints=_codepoints(path))
    return None


def _find_emoji_font() -> str | None:
    """The configured colour emoji font, else the first one this system has; None when there is none."""
    if settings.EMOJI_FONT is not None:
        return str(settings.EMOJI_FONT) if Path(settings.EMOJI_FONT).is_file() else None
    return next((p for p in SYSTEM_EMOJI_FONTS if Path(p).is_file()), None)


class FontStack:
    """The main font plus fallbacks, choosing a face per character."""

    def __init__(self, faces: Sequence[Face]) -> None:
        self.faces = tuple(faces)
        self._face_of: dict[str, int | None] = {}
        self._extents: dict[tuple[Cluster, ...], Extent] = {}
        self._cached_clusters = 0
        self._cap_height = self._ink_height(0, "H")

    def _ink_height(self, index: int, text: str) -> float:
        face = self.faces[index]
        font = load_font(face.path, face.load_size or REFERENCE_SIZE)
        _left, top, _right, _bottom = font.getbbox(text, anchor="ls")
        return float(-top)

    def face_for(self, char: str) -> int | None:
        if char not in self._face_of:
            code = ord(char)
            self._face_of[char] = next((i for i, face in enumerate(self.faces) if code in face.codepoints), None)
        return self._face_of[char]

    def clusters(self, text: str) -> list[Cluster]:
        """The drawable characters of one paragraph grouped with their marks and joiners, each with its face
        and its bidi level (resolved over the whole paragraph, explicit controls and brackets included).

        Characters no face can draw are dropped, as are marks and joiners the
        chosen face does not carry, so nothing ever becomes a tofu box; and
        without a shaper, right-to-left and complex-script letters, which would
        come out wrong. ``coverage`` tells the user about both.
        """
        text = unicodedata.normalize("NFC", text)
        levels, _rtl = bidi.paragraph_levels(text)
        shaper = has_shaper()
        out: list[Cluster] = []
        joined = False
        for char, level in zip(text, levels):
            if char.isspace() or char == "\u200b":
                out.append(Cluster(0, " ", level))
                joined = False
                continue
            if char in ISOLATES:
                out.append(Cluster(0, char, level))
                joined = False
                continue
            category = unicodedata.category(char)
            code = ord(char)
            is_modifier = 0x1F3FB <= code <= 0x1F3FF or 0xFE00 <= code <= 0xFE0F or 0xE0020 <= code <= 0xE007F
            attached = category in _ATTACHED_CATEGORIES or is_modifier or char in _JOINERS or char == _ZWNJ
            if out and out[-1][1] != " " and (attached or joined):
                previous = out[-1]
                if code in self.faces[previous.face].codepoints:
                    out[-1] = previous._replace(text=previous.text + char)
                    joined = char in _JOINERS
                    continue
                if attached:
                    continue  # a mark the face cannot draw: drop it rather than show a box
            joined = False
            if category in _DROPPED_CATEGORIES or attached:
                continue
            if not shaper and scripts.needs_shaper(char):
                continue  # drawn letter by letter it would be wrong: coverage says why it is left out
            face_index = self.face_for(char)
            if face_index is not None and self._prefers_colour(char, face_index):
                face_index = len(self.faces) - 1
            if face_index is not None:
                out.append(Cluster(face_index, char, level))
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
            if self._cached_clusters + len(key) > _EXTENT_CACHE_CLUSTERS:
                self._extents.clear()
                self._cached_clusters = 0
            cached = self._measure(key, REFERENCE_SIZE)
            self._extents[key] = cached
            self._cached_clusters += len(key)
        return cached

    def _measure(self, clusters: Sequence[Cluster], size: int) -> Extent:
        width = ascent = descent = left = right = 0.0
        for index, text, direction in visual_runs(clusters):
            face = self.faces[index]
            scale = self.emoji_scale(face, size) if face.color else 1.0
            font = (
                load_font(face.path, face.load_size or size)
                if face.color
                else load_font(face.path, self.face_size(index, size))
            )
            ink_left, top, ink_right, bottom = font.getbbox(text, anchor="ls", direction=direction)
            if width == 0.0:
                left = min(left, ink_left * scale)
            right = max(right, width + ink_right * scale)
            width += font.getlength(text, direction=direction) * scale
            ascent, descent = max(ascent, -top * scale), max(descent, bottom * scale)
        return Extent(width, ascent, descent, left, right)

    def real_width(self, clusters: Sequence[Cluster], size: int) -> float:
        """Room the text needs at the actual size, with hinting, to check a layout before drawing it."""
        return self._measure(clusters, size).span

    def space_width(self) -> float:
        return load_font(self.faces[0].path, REFERENCE_SIZE).getlength(" ")

    def emoji_scale(self, face: Face, size: float) -> float:
        """Emoji stand a little taller than the capitals around them."""
        return 1.15 * self._cap_height * (size / REFERENCE_SIZE) / _emoji_height(face.path, face.load_size or 109)


@functools.lru_cache(maxsize=8)
def _emoji_height(path: str, load_size: int) -> float:
    _left, top, _right, bottom = load_font(path, load_size).getbbox("\U0001f600", anchor="ls")
    return max(1, bottom - top)


@functools.cache
def has_shaper() -> bool:
    """Whether Pillow has libraqm: it joins Arabic letters and shapes a right-to-left run in one call."""
    from PIL import features

    return bool(features.check("raqm"))


def visual_runs(clusters: Sequence[Cluster], rtl: bool = False) -> list[Run]:
    """Runs of one face and one level, in the left-to-right order they are drawn.

    ``rtl`` is the paragraph's direction (for rule L1: trailing spaces take it).
    The clusters' levels were resolved over the whole paragraph; here the line
    is reordered (L1-L2). A right-to-left run keeps its characters in typing
    order and says "rtl", so the shaper joins, mirrors and reverses them;
    without a shaper (no right-to-left letters reach here then, but an
    override can still reverse Latin) its clusters are reversed here instead.
    """
    levels = [cluster[2] if len(cluster) > 2 else 0 for cluster in clusters]
    if not any(levels):
        return [(index, text, None) for index, text in runs(clusters)]  # the common case: no reordering
    order, line_levels = bidi.line_order([cluster[1] for cluster in clusters], levels, rtl)
    shaper = has_shaper()
    out: list[Run] = []
    previous = -2
    for position in order:
        index, text = clusters[position][0], clusters[position][1]
        level = line_levels[position]
        if text in ISOLATES:  # drawn as nothing, but no run reaches across it
            previous = -2
            continue
        backwards = level % 2 == 1
        direction = ("rtl" if backwards else "ltr") if shaper else None
        step = -1 if backwards else 1
        if out and out[-1][0] == index and previous + step == position and line_levels[previous] == level:
            last_index, last_text, last_direction = out[-1]
            joined = text + last_text if backwards and shaper else last_text + text
            out[-1] = (last_index, joined, last_direction)
        else:
            out.append((index, text, direction))
        previous = position
    return out


def runs(clusters: Sequence[Cluster]) -> list[tuple[int, str]]:
    """Neighbouring clusters drawn by the same face, joined into one string."""
    out: list[tuple[int, str]] = []
    for cluster in clusters:
        index, text = cluster[0], cluster[1]
        if text in ISOLATES:
            continue
        if out and out[-1][0] == index:
            out[-1] = (index, out[-1][1] + text)
        else:
            out.append((index, text))
    return out


@functools.lru_cache(maxsize=8)
def _font_stack(main: str, fallbacks: tuple[str, ...], emoji: str | None) -> FontStack:
    if not Path(main).is_file():
        raise RenderError(
            f"The caption font {main} is missing.",
            "Reinstall memer or set MEMER_FONT to a .ttf file.",
            code="render.bad_option",
            fix="MEMER_FONT",
        )
    faces = [Face(main, 1.0, codepoints=_codepoints(main))]
    main_caps = -load_font(main, REFERENCE_SIZE).getbbox("H", anchor="ls")[1]
    for path in fallbacks:
        if not Path(path).is_file():
            continue
        codepoints = _codepoints(path)
        faces.append(Face(path, _matching_scale(path, codepoints, main_caps), codepoints=codepoints))
    if emoji:
        face = _load_emoji_face(emoji)
        if face is not None:
            faces.append(face)
    return FontStack(faces)


def _matching_scale(path: str, codepoints: frozenset[int], main_caps: float) -> float:
    """How much a fallback is scaled: its capitals to the main font's; for a font of emoji alone (no "H"),
    its smiley to stand a little taller than the main font's capitals, as colour emoji do; for a font of
    one script, the capital height it declares (so Devanagari sits as it would beside Noto's own Latin)."""
    font = load_font(path, REFERENCE_SIZE)
    if ord("H") in codepoints:
        caps = -font.getbbox("H", anchor="ls")[1]
        return main_caps / caps if caps > 0 else 1.0
    if 0x1F600 in codepoints:
        _left, top, _right, bottom = font.getbbox("\U0001f600", anchor="ls")
        return 1.15 * main_caps / (bottom - top) if bottom > top else 1.0
    declared = _declared_cap_height(path)
    return main_caps / (declared * REFERENCE_SIZE) if declared else 1.0


def font_stack() -> FontStack:
    """The configured fonts (settings.FONT, FALLBACK_FONTS, EMOJI_FONT), loaded once."""
    main = Path(settings.font_file()).expanduser()
    fallbacks = tuple(str(_font_path(name)) for name in settings.FALLBACK_FONTS)
    return _font_stack(str(main), fallbacks, _find_emoji_font())
