"""A whole meme from a picture: scale it, decide where the text goes, draw it, add the credit.

This is where the placements meet: a fixed place (``draw``), auto placement
that looks at the picture (``placement``, with faces from :mod:`memer.faces`), a
band outside the picture (``band``) and free text boxes (``boxes``). Each part
decides on its own; this module only runs them in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memer import settings
from memer.rendering.draw import (
    ON_PICTURE,
    Placement,
    RenderOptions,
    _attribution_strip_height,
    _check_options,
    _checked_layout,
    _draw_attribution,
    _draw_block,
    _plan,
    _scaled,
    _target_size,
)
from memer.rendering.fonts import FontStack, font_stack
from memer.rendering.layout import check_caption

if TYPE_CHECKING:
    from PIL import Image, ImageDraw

    from memer.rendering.boxes import TextBox


def render_meme(image: Image.Image, text: str, options: RenderOptions | None = None) -> Image.Image:
    """The picture, scaled so its longest side is the output size, with the caption drawn on it."""
    return render_placed(image, text, options)[0]


def render_placed(
    image: Image.Image, text: str, options: RenderOptions | None = None
) -> tuple[Image.Image, list[Placement]]:
    """:func:`render_meme`, and where it placed each block at what size (``Placement.where`` says which place
    auto placement chose: :func:`position_used`), so a face reads the size auto-fit chose without planning
    again. ``text`` may be empty when the options carry text boxes."""
    from PIL import ImageDraw

    options = options or RenderOptions()
    _check_options(options)
    has_caption = bool(text and text.strip()) or not options.boxes
    if has_caption:
        check_caption(text)
    fonts = font_stack()
    target = _target_size(image.size, options.output_size or settings.OUTPUT_SIZE)
    canvas = _scaled(image, target)
    picture_height, offset = canvas.size[1], 0  # where the picture lies on the canvas (a band moves it down)
    placements: list[Placement] = []
    if has_caption and options.position in ("above", "below"):
        from memer.rendering.band import add_band

        canvas, block = add_band(canvas, text, options, fonts, options.position)
        offset = canvas.size[1] - picture_height if options.position == "above" else 0
        placements.append(block)
    elif has_caption:
        placements = _place(canvas, text, options, fonts)
    draw = ImageDraw.Draw(canvas)
    for placement in placements:
        if placement.where in ON_PICTURE:
            _draw_block(canvas, draw, placement.layout, fonts, placement.top, options)
    for box in options.boxes:
        placements.append(_draw_box(canvas, draw, box, options, fonts, picture_height, offset))
    if options.attribution and options.attribution.strip():
        _draw_attribution(canvas, options.attribution, _attribution_strip_height(canvas.size[1]))
    return canvas, placements


def _place(canvas: Image.Image, text: str, options: RenderOptions, fonts: FontStack) -> list[Placement]:
    """The caption's blocks at the asked place, or, for auto, where :mod:`placement` finds best."""
    width, height = canvas.size
    if options.position != "auto":
        return _plan(width, height, text, options, fonts)
    from memer.faces import find_faces
    from memer.rendering.placement import Detail, choose, faces_and_boxes

    obstacles = faces_and_boxes(find_faces(canvas), options.boxes)
    return choose(width, height, text, options, fonts, Detail(canvas), obstacles).placements


def _draw_box(
    canvas: Image.Image,
    draw: ImageDraw.ImageDraw,
    box: TextBox,
    options: RenderOptions,
    fonts: FontStack,
    height: int,
    offset: int,
) -> Placement:
    """One free text box's text fitted into it and centred there, Impact-style (``height``: the picture's, which
    starts ``offset`` pixels down the canvas)."""
    width = canvas.size[0]
    left, top, right, bottom = box.pixels(width, height)
    pad = max(1, round(0.02 * min(right - left, bottom - top)))
    text = box.text if options.keep_case else box.text.upper()
    room = bottom - top - 2 * pad
    layout = _checked_layout(text, fonts, right - left - 2 * pad, room, room, options, height)
    y = offset + top + (bottom - top - layout.height) / 2
    _draw_block(canvas, draw, layout, fonts, y, options, left=left, span=right - left)
    return Placement(layout, round(y), "box")


def position_used(placements: list[Placement]) -> str:
    """The place the caption went: top, bottom, both, above or below ("" when there is only text boxes)."""
    places = {p.where for p in placements if p.where != "box"}
    if {"top", "bottom"} <= places:
        return "both"
    return next(iter(places), "")
