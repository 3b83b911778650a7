"""The caption band: the caption in a plain white band added above or below the picture.

This is the format of reaction posts: black text on white, no outline, the band
as tall as the text needs, and the picture itself left exactly as it is. The
text keeps the case it was typed in (a band reads as a sentence, not a shout),
at a size set by the picture's width so a short caption does not become a
poster; a long one wraps onto more lines and the band grows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from memer import settings
from memer.rendering.draw import Placement, RenderOptions, _draw_block
from memer.rendering.fonts import FontStack
from memer.rendering.layout import caption_lines, check_drawable, layout_text

if TYPE_CHECKING:
    from PIL import Image

BAND_TEXT = 0.07  # the text's size as a fraction of the picture's width (what reaction posts use)
PADDING = 0.6  # the band's space above and below the text, as a fraction of the text's size
BAND_COLOUR = "white"
TEXT_COLOUR = "black"


def plan_band(width: int, height: int, text: str, options: RenderOptions, fonts: FontStack) -> tuple[int, Placement]:
    """The band's height and the caption's block in it (top measured from the band's own top)."""
    text = "\n".join(caption_lines(text.replace("|", "\n")))
    check_drawable(text, fonts)
    margin = max(1, round(settings.MARGIN * width))
    box_width = (width - 2 * margin) * 0.98  # hinting at the real size can reach a little past the scaled measure
    size = options.font_size or max(settings.MIN_FONT_SIZE, round(BAND_TEXT * width))
    layout = layout_text(text, fonts, box_width, height, font_size=size, fallback_height=height, outline=0.0)
    pad = max(2, round(PADDING * layout.size))
    return layout.height + 2 * pad, Placement(layout, pad, "band")


def add_band(
    canvas: Image.Image, text: str, options: RenderOptions, fonts: FontStack, where: str
) -> tuple[Image.Image, Placement]:
    """A new image: ``canvas`` untouched, with the caption's band above or below it; the block's placement on it."""
    from PIL import Image, ImageDraw

    width, height = canvas.size
    band, block = plan_band(width, height, text, options, fonts)
    out = Image.new("RGB", (width, height + band), BAND_COLOUR)
    out.paste(canvas, (0, band if where == "above" else 0))
    top = block.top if where == "above" else height + block.top
    placed = Placement(block.layout, top, where)
    look = replace(options, text_color=TEXT_COLOUR, outline_color=TEXT_COLOUR)
    _draw_block(out, ImageDraw.Draw(out), placed.layout, fonts, placed.top, look)
    return out, placed
