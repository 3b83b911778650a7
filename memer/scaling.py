"""How large a picture must be for what it will be drawn at, and the cheap way down to that size.

Decoding and resampling a 12-megapixel photo for a 1024 px meme costs far more than drawing the meme. The
one rule here: shrink cheaply (a JPEG decoded at a DCT scale, a whole-factor box reduction) to no less than
``DRAFT_SLACK`` of the size needed, then let Lanczos do the last, small step. ``memer.images.open_image``
decodes by it, and the renderer and the animation frames scale by it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image


# A picture may be shrunk cheaply (a JPEG decoded at a DCT scale, any picture box-reduced by a whole factor) to
# as little as this share of the size it will be drawn at; the renderer's Lanczos step grows the rest. A 4000 px
# photo for a 1024 px meme decodes or reduces to 1/4 (1000 px, 16x fewer pixels) and grows 2.4 %, invisibly,
# instead of stopping at 1/3 or 1/2 and resampling two to four times the pixels.
DRAFT_SLACK = 0.9


def draft(image: Image.Image, max_side: int) -> None:
    """Ask the JPEG decoder for the smallest DCT scale (1/2, 1/4, 1/8) still at least ``DRAFT_SLACK`` x
    ``max_side`` across."""
    import math

    width, height = image.size
    scale = max_side * DRAFT_SLACK / max(width, height)
    image.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))


def reduce_for(image: Image.Image, longest: int) -> Image.Image:
    """``image`` shrunk by the largest whole factor that keeps its longest side at least ``DRAFT_SLACK`` x
    ``longest``, or ``image`` itself when no factor of 2 or more does.

    Image.reduce averages whole blocks of pixels (a box filter), far cheaper than resampling the full
    picture; the caller's resampling then does the last, small step. The colour profile goes along.
    """
    factor = int(max(image.size) // max(1.0, longest * DRAFT_SLACK))
    if factor < 2:
        return image
    reduced = image.reduce(factor)
    reduced.info = dict(image.info)
    return reduced


def resampled(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` at ``size``: reduced by a whole factor to about that size (``reduce_for``, the rule open_image
    decodes by), then Lanczos for the last step, which may grow it by up to 11 %. Costs a 4000x3000 photo
    a quarter of Lanczos over the full picture."""
    from PIL import Image

    return reduce_for(image, max(size)).resize(size, Image.Resampling.LANCZOS)
