"""Auto placement: put the caption where it covers no face and the least detail.

The candidates are the places a person would try: the bottom, the top, and the
caption split between them. Each is laid out for real; a block that would reach
a face (or a free text box) is given only the room beside it, so its text
shrinks rather than covers the face, down to a readable floor; below that the
place counts as covering. Among the places that cover nothing, the one whose
text covers the least detail wins, where detail is measured from the picture
itself: the mean gradient energy (how much the brightness changes from pixel to
pixel: edges, texture, writing) under the text, relative to the picture's own
mean. Smaller text and a split cost a little, so flat sky still beats a face's
neighbourhood, and a plain picture keeps the classic bottom caption.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memer import settings
from memer.errors import RenderError
from memer.faces import Face
from memer.rendering.boxes import TextBox
from memer.rendering.draw import Placement, RenderOptions, _plan, credit_strip_height
from memer.rendering.fonts import FontStack

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

DETAIL_SIZE = 256  # detail is measured on a copy this big: enough for where text goes, quick at any size
CANDIDATES = ("bottom", "top", "both")  # in order of preference when they tie
SPLIT_COST = 0.15  # splitting one thought over two places reads a little worse than one block
SHRINK_COST = 1.5  # per fraction of the size lost to keep off a face: tiny text is a worse meme than busy ground
FACE_GAP = 0.015  # keep this fraction of the height clear between text and a face

Rect = tuple[float, float, float, float]  # left, top, right, bottom as fractions of the picture


class Detail:
    """How much detail each part of a picture holds: gradient energy, summed for any rectangle in O(1)."""

    def __init__(self, image: Image.Image) -> None:
        import numpy as np
        from PIL import Image as PILImage

        grey = image.convert("L")
        factor = min(1.0, DETAIL_SIZE / max(grey.size))
        if factor < 1.0:
            size = (max(1, round(grey.width * factor)), max(1, round(grey.height * factor)))
            grey = grey.resize(size, PILImage.Resampling.BOX)
        pixels = np.asarray(grey, dtype=np.float64)
        energy = np.zeros_like(pixels)
        energy[:, 1:] += np.abs(np.diff(pixels, axis=1))
        energy[1:, :] += np.abs(np.diff(pixels, axis=0))
        self.height, self.width = energy.shape
        self.mean_energy = float(energy.mean())
        self._sums: np.ndarray = np.pad(energy.cumsum(axis=0).cumsum(axis=1), ((1, 0), (1, 0)))

    def under(self, rect: Rect) -> float:
        """Mean energy inside ``rect`` relative to the whole picture's (1.0: as busy as the average; 0: flat)."""
        left, top, right, bottom = rect
        x0, x1 = _span(left, right, self.width)
        y0, y1 = _span(top, bottom, self.height)
        s = self._sums
        total = s[y1, x1] - s[y0, x1] - s[y1, x0] + s[y0, x0]
        mean = float(total) / ((x1 - x0) * (y1 - y0))
        return mean / (self.mean_energy + 1.0)  # +1: a flat picture is not made busy by noise


def _span(start: float, end: float, size: int) -> tuple[int, int]:
    first = min(size - 1, max(0, int(start * size)))
    return first, max(first + 1, min(size, round(end * size)))


@dataclass(frozen=True)
class Choice:
    """Where the caption went, its blocks, and why: whether it covers a face, and the detail under it."""

    position: str
    placements: list[Placement]
    covers: float  # fraction of the obstacles' area the text covers (0 when it keeps off them)
    cost: float


def block_rects(placements: Sequence[Placement], width: int, height: int) -> list[Rect]:
    """Each block's box (the text's width centred across, its height from its top) as fractions."""
    rects = []
    for placement in placements:
        half = min(width, placement.layout.width) / 2
        rects.append(
            (
                (width / 2 - half) / width,
                placement.top / height,
                (width / 2 + half) / width,
                (placement.top + placement.layout.height) / height,
            )
        )
    return rects


def _overlap(a: Rect, b: Rect) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def covered(rects: Sequence[Rect], obstacles: Sequence[Rect]) -> float:
    """The fraction of the obstacles' area under the text."""
    area = sum((o[2] - o[0]) * (o[3] - o[1]) for o in obstacles)
    if area <= 0:
        return 0.0
    return sum(_overlap(r, o) for r in rects for o in obstacles) / area


def _limits(obstacles: Sequence[Rect], width: int, height: int, strip: int) -> dict[str, float]:
    """The most height a top and a bottom block may take before it reaches an obstacle."""
    edge = max(1, round(settings.MARGIN * min(width, height)))
    gap = FACE_GAP * height
    if not obstacles:
        return {}
    return {
        "top": min(o[1] for o in obstacles) * height - edge - gap,
        "bottom": (height - strip - edge) - max(o[3] for o in obstacles) * height - gap,
    }


def _try(
    width: int,
    height: int,
    text: str,
    options: RenderOptions,
    fonts: FontStack,
    position: str,
    limits: dict[str, float] | None,
) -> list[Placement] | None:
    try:
        return _plan(width, height, text, _at(options, position), fonts, limits)
    except RenderError:
        return None  # no room there at any size: this place is out


def _at(options: RenderOptions, position: str) -> RenderOptions:
    from dataclasses import replace

    return replace(options, position=position)


def choose(
    width: int,
    height: int,
    text: str,
    options: RenderOptions,
    fonts: FontStack,
    detail: Detail,
    obstacles: Sequence[Rect] = (),
) -> Choice:
    """The best place for ``text`` on a ``width`` x ``height`` picture: covering no obstacle (faces, text boxes)
    if any place can, else covering the least of them; then the least detail."""
    strip = credit_strip_height(height) if options.attribution and options.attribution.strip() else 0
    limits = _limits(obstacles, width, height, strip)
    floor = max(settings.MIN_FONT_SIZE, 0.5 * settings.READABLE_SIZE * height)
    candidates = ("both",) if "|" in text else CANDIDATES  # "|" asks for a split: only where is left to decide
    choices: list[Choice] = []
    for position in candidates:
        free = _try(width, height, text, options, fonts, position, None)
        if free is None:
            continue
        free_size = min(p.layout.size for p in free)
        placements = free
        if limits and covered(block_rects(free, width, height), obstacles) > 0:  # only then is less room needed
            kept = _try(width, height, text, options, fonts, position, limits)
            if kept is not None and min(p.layout.size for p in kept) >= min(free_size, floor):
                placements = kept
        rects = block_rects(placements, width, height)
        size = min(p.layout.size for p in placements)
        cost = sum(detail.under(r) * (r[3] - r[1]) for r in rects) / max(1e-6, sum(r[3] - r[1] for r in rects))
        cost += SHRINK_COST * (1 - size / free_size) + (SPLIT_COST if position == "both" and "|" not in text else 0)
        if position == "both" and len(placements) < 2:
            cost += 1.0  # nothing to split: "both" is one block at the top
        choices.append(Choice(position, placements, covered(rects, obstacles), cost))
    if not choices:  # no place fits: say so as a fixed place would
        return Choice("bottom", _plan(width, height, text, _at(options, "bottom"), fonts), 0.0, 0.0)
    return min(choices, key=lambda c: (round(c.covers, 3), c.cost))


def faces_and_boxes(faces: Sequence[Face] | None, boxes: Sequence[TextBox]) -> list[Rect]:
    """What auto placement keeps off, as rectangles: the faces found, and the user's own text boxes."""
    rects: list[Rect] = [(f.left, f.top, f.right, f.bottom) for f in faces or ()]
    return rects + [(b.x, b.y, b.x + b.w, b.y + b.h) for b in boxes]
