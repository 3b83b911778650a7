"""Set a caption on a picture in the classic meme look, and save it as a PNG with credits.

Layout (``layout``: which words go on which line, at what size) is a pure
function of the text, a font measurer and a box, so it can be tested without
drawing; ``fonts`` knows which font draws which character, ``draw`` places and
draws what the layout decided at a fixed place, ``placement`` chooses the place
(auto: off faces, on the least detail), ``band`` adds a caption band outside the
picture, ``boxes`` holds free text boxes, ``compose`` runs them in order, and
``png`` writes the result with its credits. ``animation`` captions every frame
of a moving picture (the overlay drawn by ``compose``), ``formats`` writes it as
GIF, WebP or APNG, and ``meme`` is the finished meme either way.
Importing this package is cheap: PIL is imported only inside the functions
that draw or encode.
"""

from __future__ import annotations

from memer.rendering.animation import open_animation, render_animation
from memer.rendering.boxes import PRESETS, TextBox
from memer.rendering.compose import position_used, render_meme, render_placed
from memer.rendering.draw import POSITIONS, Placement, RenderOptions, plan_meme
from memer.rendering.label import add_ai_label
from memer.rendering.layout import check_caption
from memer.rendering.png import meme_metadata, png_bytes, png_path, save_png

# What a user calls; the parts inside (fonts, layout, bidi) are imported from their own modules.
__all__ = [
    "POSITIONS",
    "PRESETS",
    "Placement",
    "RenderOptions",
    "TextBox",
    "add_ai_label",
    "check_caption",
    "meme_metadata",
    "open_animation",
    "plan_meme",
    "png_bytes",
    "png_path",
    "position_used",
    "render_animation",
    "render_meme",
    "render_placed",
    "save_png",
]
