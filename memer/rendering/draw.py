"""Placing and drawing: where each caption block goes on the picture, then drawing it there.

Drawing only places what the layout decided; the one check made here is that a
layout measured at the reference size still fits at its real size, where
hinting can make text a pixel or two wider.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memer import settings
from memer.errors import RenderError
from memer.images import flatten
from memer.rendering.boxes import TextBox, check_boxes
from memer.rendering.case import upper_case
from memer.rendering.fonts import Face, FontStack, font_stack, load_font, visual_runs
from memer.rendering.layout import (
    Cluster,
    TextLayout,
    caption_lines,
    check_caption,
    check_drawable,
    has_ink,
    layout_text,
    split_both,
)
from memer.scaling import resampled
from memer.text import display_safe

if TYPE_CHECKING:
    from PIL import Image, ImageDraw

# auto: where the caption covers no face and the least detail (memer.rendering.placement); above / below: in a
# plain band added outside the picture (memer.rendering.band); the others are fixed places on the picture.
POSITIONS = ("auto", "top", "bottom", "both", "above", "below")
ON_PICTURE = ("top", "bottom", "both")


@dataclass
class RenderOptions:
    """How to set a caption: where, how big, which case, and an optional credit strip."""

    position: str = "auto"  # one of POSITIONS
    font_size: int | None = None  # None: auto-fit
    keep_case: bool = False
    attribution: str | None = None  # burned into the bottom edge when given
    output_size: int | None = None  # longest side; None: settings.OUTPUT_SIZE
    text_color: str = "white"  # any colour Pillow knows: a name ("yellow") or "#rrggbb"
    outline_color: str = "black"
    language: str | None = None  # a code or name (None: settings.LANGUAGE): letter case by its rules (rendering.case)
    boxes: tuple[TextBox, ...] = ()  # free text boxes, each placed by fractions of the picture


def _check_options(options: RenderOptions) -> None:
    """Refuse options that cannot be drawn, before any font is loaded or pixel touched."""
    if options.position not in POSITIONS:
        raise RenderError(
            f"Unknown caption position {options.position!r}.",
            f"Use {', '.join(POSITIONS)}.",
            code="render.bad_option",
            fix="position",
        )
    if options.font_size is not None and (not isinstance(options.font_size, int) or options.font_size < 1):
        raise RenderError(
            f"Font size {options.font_size!r} is not a positive whole number.",
            "Use auto or e.g. 64.",
            code="render.bad_option",
            fix="font_size",
        )
    for what, colour in (("text", options.text_color), ("outline", options.outline_color)):
        if not _is_colour(colour):
            raise RenderError(
                f"Unknown {what} colour {colour!r}.",
                "Use a colour name such as white or #ffcc00.",
                code="render.bad_option",
                fix="colour",
            )
    check_boxes(options.boxes)
    size = options.output_size
    if size is not None and (not isinstance(size, int) or size < 16):
        raise RenderError(
            f"Output size {size!r} is too small.",
            "Use at least 16 pixels, e.g. 1024.",
            code="render.bad_option",
            fix="size",
        )


def _is_colour(value: object) -> bool:
    from PIL import ImageColor

    if not isinstance(value, str):
        return False
    try:
        ImageColor.getrgb(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def _target_size(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """The picture's size scaled so its longest side is ``longest`` (small pictures grow)."""
    width, height = size
    factor = longest / max(width, height)
    return max(1, round(width * factor)), max(1, round(height * factor))


def _scaled(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """The picture as opaque RGB at ``target`` size, always a copy with none of the input's info (a
    transparency key or colour profile would travel into the meme): drawing never touches the caller's image."""

    if target != image.size and image.mode == "RGB":
        # Resampled first: flatten copies, and copying the small result is cheaper than a 12-megapixel original.
        image = resampled(image, target)
    rgb = flatten(image, colour_key=False)  # open_image already applied any key; this one only drops it
    if target == rgb.size:
        return rgb
    return resampled(rgb, target)


def fit_picture(image: Image.Image, longest: int) -> Image.Image:
    """``image`` as the renderer would scale it for a ``longest``-pixel meme: a picture kept at this size (the
    pipeline's cache) is drawn on again without being scaled again."""
    return _scaled(image, _target_size(image.size, longest))


@dataclass(frozen=True)
class Placement:
    """A laid-out text block and the y of its top edge on the canvas (it is centred across)."""

    layout: TextLayout
    top: int
    where: str = ""  # top | bottom | above | below | box


def plan_meme(
    width: int, height: int, text: str, options: RenderOptions, fonts: FontStack | None = None
) -> list[Placement]:
    """Where each caption block goes on a ``width`` x ``height`` canvas at a fixed place (top, bottom or both); no
    drawing. Auto placement looks at the picture (:func:`memer.rendering.compose.render_placed`); without one, it
    is the bottom, where it puts the caption of a plain picture."""
    _check_options(options)
    if options.position == "auto":
        from dataclasses import replace

        options = replace(options, position="bottom")
    if options.position not in ON_PICTURE:
        raise RenderError(
            f"Planning without the picture needs a fixed position, not {options.position!r}.",
            "Use top, bottom, both or auto.",
            code="render.bad_option",
            fix="position",
        )
    return _plan(width, height, text, options, fonts)


def _plan(
    width: int,
    height: int,
    text: str,
    options: RenderOptions,
    fonts: FontStack | None,
    limits: dict[str, float] | None = None,
) -> list[Placement]:
    """``plan_meme`` for options already checked; ``limits`` caps a block's height by where it goes (the room
    auto placement leaves above or below a face), shrinking the text rather than letting it grow past."""
    check_caption(text)
    fonts = fonts or font_stack()
    margin = max(1, round(settings.MARGIN * width))
    edge = max(1, round(settings.MARGIN * min(width, height)))  # above and below the text
    strip = credit_strip_height(height) if options.attribution and options.attribution.strip() else 0
    text = text if options.keep_case else upper_case(text, options.language)
    box_width = width - 2 * margin
    _check_room(width, height, box_width, height - strip - 2 * edge)
    if options.position == "both":
        top_text, bottom_text = split_both(text)
        region = (height - strip) / 2 - edge
        parts = [(top_text, "top"), (bottom_text, "bottom")]
    else:
        region = height - strip - 2 * edge
        parts = [("\n".join(caption_lines(text)), options.position)]
    drawable = [(part, where) for part, where in parts if has_ink(part, fonts)]
    if not drawable:  # "|" alone leaves both halves empty
        check_drawable(" ".join(part for part, _ in parts), fonts)
    limits = limits or {}
    rooms = [min(region, limits.get(where, region)) for _, where in drawable]
    boxes = [min(settings.BLOCK_HEIGHT * height, room) for room in rooms]
    layouts = [
        _checked_layout(part, fonts, box_width, box, room, options, height)
        for (part, _), box, room in zip(drawable, boxes, rooms)
    ]
    if len(layouts) == 2 and options.font_size is None:
        shared = min(layout.size for layout in layouts)  # one size for both halves looks deliberate
        layouts = [
            layout
            if layout.size == shared
            else _checked_layout(part, fonts, box_width, box, room, options, height, shared)
            for layout, (part, _), box, room in zip(layouts, drawable, boxes, rooms)
        ]
    return [
        Placement(layout, edge if where == "top" else height - strip - edge - layout.height, where)
        for layout, (_, where) in zip(layouts, drawable)
    ]


def _check_room(width: int, height: int, box_width: int, box_height: int) -> None:
    """Refuse a picture too narrow or too flat for any caption, saying so in its own terms."""
    if box_width >= settings.MIN_TEXT_WIDTH and box_height >= settings.MIN_TEXT_WIDTH // 2:
        return
    shape = "narrow" if box_width < settings.MIN_TEXT_WIDTH else "flat"
    raise RenderError(
        f"The picture is too {shape} for a caption: at {width}x{height} px there is no room for text.",
        "Use a picture that is less long and thin, or crop it.",
        code="render.bad_picture",
        fix="image",
    )


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


def _draw_block(
    canvas: Image.Image,
    draw: ImageDraw.ImageDraw,
    layout: TextLayout,
    fonts: FontStack,
    top: float,
    options: RenderOptions | None = None,
    *,
    left: float = 0.0,
    span: float | None = None,
) -> None:
    """Each line centred across the canvas (or across ``span`` pixels from ``left``), each run in its own face:
    white with a black outline unless asked."""
    options = options or RenderOptions()
    width = canvas.size[0] if span is None else span
    baseline = top + layout.ascent
    count = len(layout.lines)
    offsets = layout.offsets or (0.0,) * count
    directions = layout.rtl or (False,) * count
    for line, line_width, offset, rtl in zip(layout.lines, layout.widths, offsets, directions):
        x = left + (width - line_width) / 2 + offset
        _draw_line(
            canvas,
            draw,
            fonts,
            line,
            x,
            baseline,
            layout.size,
            rtl=rtl,
            stroke=layout.stroke,
            fill=options.text_color,
            outline=options.outline_color,
        )
        baseline += layout.pitch


def _draw_line(
    canvas: Image.Image,
    draw: ImageDraw.ImageDraw,
    fonts: FontStack,
    line: Sequence[Cluster],
    x: float,
    baseline: float,
    size: int,
    *,
    rtl: bool,
    stroke: int = 0,
    fill: str = "white",
    outline: str = "black",
) -> None:
    """One line from its left edge, run by run in display order (right-to-left runs shaped as such)."""
    for index, text, direction in visual_runs(line, rtl):
        face = fonts.faces[index]
        if face.color:
            x += _draw_emoji(canvas, fonts, face, text, x, baseline, size)
            continue
        font = load_font(face.path, fonts.face_size(index, size))
        draw.text(
            (x, baseline),
            text,
            font=font,
            fill=fill,
            stroke_width=stroke,
            stroke_fill=outline,
            anchor="ls",
            direction=direction,
        )
        x += font.getlength(text, direction=direction)


def _draw_emoji(
    canvas: Image.Image, fonts: FontStack, face: Face, text: str, x: float, baseline: float, size: int
) -> float:
    """Colour emoji are drawn at the font's own size and resized to sit with the text."""
    from PIL import Image, ImageDraw

    font = load_font(face.path, face.load_size or size)
    scale = fonts.emoji_scale(face, size)
    left, top, right, bottom = font.getbbox(text, anchor="ls")
    advance = font.getlength(text)
    # Pillow types a bounding box as floats; FreeType's are whole pixels.
    tile = Image.new("RGBA", (int(max(1, right - min(0, left))), int(max(1, bottom - top))), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((-min(0, left), -top), text, font=font, embedded_color=True, anchor="ls")
    target = (max(1, round(tile.width * scale)), max(1, round(tile.height * scale)))
    tile = tile.resize(target, Image.Resampling.LANCZOS)
    canvas.paste(tile, (round(x + min(0, left) * scale), round(baseline + top * scale)), tile)
    return advance * scale


def credit_strip_height(height: int) -> int:
    """The credit band's height: 3 % of the picture, never too small to read."""
    return max(12, round(height * 0.03))


@functools.lru_cache(maxsize=4)
def _plain_stack(fonts: FontStack) -> FontStack:
    """The fallbacks without Anton: a plain sans reads better than Anton at credit-line sizes. The first
    fallback with Latin letters leads, so a credit's digits and punctuation come from the same font."""
    rest = fonts.faces[1:]
    latin = next((face for face in rest if ord("H") in face.codepoints), None)
    ordered = [latin, *(face for face in rest if face is not latin)] if latin is not None else list(rest)
    return FontStack(ordered or fonts.faces)


def _credit_clusters(fonts: FontStack, text: str, size: int, room: float) -> list[Cluster]:
    """The credit's clusters, cut with "…" to fit ``room`` at ``size``: the longest prefix, found by bisection."""
    clusters = fonts.clusters(text)
    if fonts.real_width(clusters, size) <= room:
        return clusters
    ellipsis_face = fonts.face_for("…")
    tail = [Cluster(ellipsis_face, "…")] if ellipsis_face is not None else []
    good, bad = 0, len(clusters)  # clusters[:good] + tail fits (or nothing does); clusters[:bad] does not
    while bad - good > 1:
        middle = (good + bad) // 2
        if fonts.real_width([*clusters[:middle], *tail], size) <= room:
            good = middle
        else:
            bad = middle
    return [*clusters[: max(good, 1)], *tail]


def _draw_attribution(canvas: Image.Image, text: str, strip: int) -> None:
    """A dark band across the bottom edge with the credit in small plain letters.

    Outside text (a Commons author can be thousands of characters) is cut to
    settings.MAX_CREDIT_CHARS first, and the size and the cut are each found with
    a bounded number of measures, so drawing the credit stays quick whatever it holds.
    """
    from PIL import Image, ImageDraw

    width, height = canvas.size
    band = Image.new("RGBA", (width, strip), (0, 0, 0, 170))
    canvas.paste(band, (0, height - strip), band)
    plain = _plain_stack(font_stack())
    text = display_safe(text, settings.MAX_CREDIT_CHARS)
    clusters = plain.clusters(text)
    if not clusters:
        return
    size = max(6, round(strip * 0.62))
    padding = max(2, strip // 3)
    room = width - 2 * padding
    full = plain.real_width(clusters, size)
    if full > room:  # width grows with size: jump near the size that fits, then step down a little
        size = max(6, int(size * room / full))
        for _ in range(8):
            if size <= 6 or plain.real_width(clusters, size) <= room:
                break
            size -= 1
    clusters = _credit_clusters(plain, text, size, room)
    draw = ImageDraw.Draw(canvas)
    x = (width - plain.real_width(clusters, size)) / 2
    baseline = height - strip / 2 + size * 0.35
    _draw_line(canvas, draw, plain, clusters, x, baseline, size, rtl=False)
