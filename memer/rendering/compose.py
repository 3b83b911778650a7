"""A whole meme from a picture: scale it, decide where the text goes, draw it, add the credit.

This is where the placements meet: a fixed place (``draw``), auto placement
that looks at the picture (``placement``, with faces from :mod:`memer.faces`), a
band outside the picture (``band``) and free text boxes (``boxes``). Each part
decides on its own; this module only runs them in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from memer import settings
from memer.rendering.band import BAND_COLOUR
from memer.rendering.draw import (
    ON_PICTURE,
    Placement,
    RenderOptions,
    _check_options,
    _checked_layout,
    _draw_attribution,
    _draw_block,
    _plan,
    _scaled,
    _target_size,
    credit_strip_height,
)
from memer.rendering.fonts import FontStack, font_stack
from memer.rendering.layout import check_caption

if TYPE_CHECKING:
    from PIL import Image

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
    from PIL import Image

    options = options or RenderOptions()
    _check(text, options)  # before the picture is scaled
    target = _target_size(image.size, options.output_size or settings.OUTPUT_SIZE)
    picture = _scaled(image, target)
    plan = plan_composition(picture, text, options)
    if plan.size == picture.size:
        canvas = picture
    else:  # a band: the picture untouched inside a larger canvas
        canvas = Image.new("RGB", plan.size, BAND_COLOUR)
        canvas.paste(picture, (0, plan.offset))
    draw_composition(canvas, plan, options)
    return canvas, plan.placements


@dataclass
class Composition:
    """What a meme's canvas holds besides the picture: its size, where the picture lies on it, and each block."""

    size: tuple[int, int]  # the whole canvas (taller than the picture when a band is added)
    offset: int  # the picture's top on the canvas (a band above moves it down)
    picture_height: int
    placements: list[Placement] = field(default_factory=list)  # caption blocks (on the canvas), then text boxes


def plan_composition(picture: Image.Image, text: str, options: RenderOptions) -> Composition:
    """Where everything goes on a picture already at its meme size: auto placement looks at this very picture
    (an animation plans on its first frame). Checks the options and the caption first."""
    _check_options(options)
    has_caption = bool(text and text.strip()) or not options.boxes
    if has_caption:
        check_caption(text)
    fonts = font_stack()
    width, height = picture.size
    plan = Composition((width, height), 0, height)
    if has_caption and options.position in ("above", "below"):
        from memer.rendering.band import plan_band

        band, block = plan_band(width, height, text, options, fonts)
        plan.size = (width, height + band)
        plan.offset = band if options.position == "above" else 0
        top = block.top if options.position == "above" else height + block.top
        plan.placements.append(Placement(block.layout, top, options.position))
    elif has_caption:
        plan.placements = _place(picture, text, options, fonts)
    for box in options.boxes:
        plan.placements.append(_plan_box(box, width, options, fonts, height, plan.offset))
    return plan


def draw_composition(canvas: Image.Image, plan: Composition, options: RenderOptions) -> None:
    """Draw the planned band, caption blocks, text boxes and credit strip onto ``canvas`` (of ``plan.size``) in
    place, whatever the picture's pixels: an animation draws this once more for its overlay (rendering.animation)."""
    from PIL import ImageDraw

    from memer.rendering.band import TEXT_COLOUR

    fonts = font_stack()
    draw = ImageDraw.Draw(canvas)
    width, total = canvas.size
    boxes = iter(options.boxes)
    for placement in plan.placements:
        if placement.where in ON_PICTURE:
            _draw_block(canvas, draw, placement.layout, fonts, placement.top, options)
        elif placement.where in ("above", "below"):
            band = (0, 0, width, plan.offset) if placement.where == "above" else (0, plan.picture_height, width, total)
            draw.rectangle((band[0], band[1], band[2] - 1, band[3] - 1), fill=BAND_COLOUR)
            look = replace(options, text_color=TEXT_COLOUR, outline_color=TEXT_COLOUR)
            _draw_block(canvas, draw, placement.layout, fonts, placement.top, look)
        elif placement.where == "box":
            left, _, right, _ = next(boxes).pixels(width, plan.picture_height)
            _draw_block(canvas, draw, placement.layout, fonts, placement.top, options, left=left, span=right - left)
    if options.attribution and options.attribution.strip():
        _draw_attribution(canvas, options.attribution, credit_strip_height(total))


def _check(text: str, options: RenderOptions) -> bool:
    """Refuse options or a caption that cannot be drawn; whether there is a caption (else only text boxes)."""
    _check_options(options)
    has_caption = bool(text and text.strip()) or not options.boxes
    if has_caption:
        check_caption(text)
    return has_caption


def _place(canvas: Image.Image, text: str, options: RenderOptions, fonts: FontStack) -> list[Placement]:
    """The caption's blocks at the asked place, or, for auto, where :mod:`placement` finds best."""
    width, height = canvas.size
    if options.position != "auto":
        return _plan(width, height, text, options, fonts)
    from memer.faces import find_faces
    from memer.rendering.placement import Detail, choose, faces_and_boxes

    obstacles = faces_and_boxes(find_faces(canvas), options.boxes)
    return choose(width, height, text, options, fonts, Detail(canvas), obstacles).placements


def _plan_box(
    box: TextBox, width: int, options: RenderOptions, fonts: FontStack, height: int, offset: int
) -> Placement:
    """One free text box's text fitted into it and centred there, Impact-style (``height``: the picture's, which
    starts ``offset`` pixels down the canvas)."""
    left, top, right, bottom = box.pixels(width, height)
    pad = max(1, round(0.02 * min(right - left, bottom - top)))
    text = box.text if options.keep_case else box.text.upper()
    room = bottom - top - 2 * pad
    layout = _checked_layout(text, fonts, right - left - 2 * pad, room, room, options, height)
    y = offset + top + (bottom - top - layout.height) / 2
    return Placement(layout, round(y), "box")


def position_used(placements: list[Placement]) -> str:
    """The place the caption went: top, bottom, both, above or below ("" when there is only text boxes)."""
    places = {p.where for p in placements if p.where != "box"}
    if {"top", "bottom"} <= places:
        return "both"
    return next(iter(places), "")
