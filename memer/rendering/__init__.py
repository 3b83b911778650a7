"""Set a caption on a picture in the classic meme look, and save it as a PNG with credits.

Layout (``layout``: which words go on which line, at what size) is a pure
function of the text, a font measurer and a box, so it can be tested without
drawing; ``fonts`` knows which font draws which character, ``draw`` places and
draws what the layout decided, and ``png`` writes the result with its credits.
Importing this package is cheap: PIL is imported only inside the functions
that draw or encode.
"""

from __future__ import annotations

from memer.rendering.draw import POSITIONS, Placement, RenderOptions, plan_meme, render_meme
from memer.rendering.fonts import Face, FontStack, font_stack, runs
from memer.rendering.label import AI_LABEL_TEXT, add_ai_label
from memer.rendering.layout import (
    Cluster,
    Extent,
    Measurer,
    TextLayout,
    caption_lines,
    check_caption,
    check_drawable,
    layout_text,
    split_both,
)
from memer.rendering.png import METADATA_KEYS, meme_metadata, png_bytes, png_path, save_png

__all__ = [
    "AI_LABEL_TEXT",
    "METADATA_KEYS",
    "POSITIONS",
    "Cluster",
    "Extent",
    "Face",
    "FontStack",
    "Measurer",
    "Placement",
    "RenderOptions",
    "TextLayout",
    "add_ai_label",
    "caption_lines",
    "check_caption",
    "check_drawable",
    "font_stack",
    "layout_text",
    "meme_metadata",
    "plan_meme",
    "png_bytes",
    "png_path",
    "render_meme",
    "runs",
    "save_png",
    "split_both",
]
