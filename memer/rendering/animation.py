"""Animated memes: an animated GIF, WebP or APNG keeps moving, with the caption on every frame.

The caption is laid out once, on the first frame (so a placement that looks at
the picture sees a real one), and drawn once more on a black and a white
canvas: the two together give its exact colour and coverage (difference
matting), whatever was drawn (outline, emoji, the credit strip, the
AI-generated tag). Each frame then only gets that overlay pasted on. Frame
durations, disposal and looping are kept as read; ``formats`` writes them.

Bounded: frames x pixels stay under settings.MAX_ANIMATION_PIXELS. Frames are
drawn smaller first (never below ``MIN_ANIMATION_SIDE``), and an animation
that still does not fit (a 10,000-frame GIF) is refused with a clear line
before any frame is decoded.
"""

from __future__ import annotations

import functools
import io
import math
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from memer import settings
from memer.errors import ImageError
from memer.images import flatten, open_image, read_picture, sniff_image_type
from memer.scaling import resampled

if TYPE_CHECKING:
    from PIL import Image

    from memer.rendering.compose import Composition
    from memer.rendering.draw import Placement, RenderOptions

# The formats that can move, by the kind sniff_image_type names.
ANIMATED_KINDS = ("gif", "webp", "png")
# Frames are drawn smaller to fit the cap, but not below this (longest side, pixels): a caption must stay readable.
MIN_ANIMATION_SIDE = 320


@dataclass
class Animation:
    """The frames of a moving picture, composed (each a whole picture, opaque RGB) and scaled alike."""

    frames: list[Image.Image]
    durations: list[int]  # milliseconds, per frame, as read
    disposals: list[int] | None  # per frame, as read (GIF disposal methods, APNG dispose ops); None for WebP
    loop: int | None  # as read: GIF's loop count (None: plays once), APNG's plays / WebP's loop (0: forever)
    kind: str  # "gif" | "webp" | "png" (APNG): what it was read from
    note: str = ""  # what memer changed to keep within the cap, for the faces to show
    stored_frames: int = 0  # the frames in the file

    @property
    def size(self) -> tuple[int, int]:
        return self.frames[0].size


@dataclass
class AnimatedMeme:
    """The captioned frames with the timing they came with, and where the caption went."""

    animation: Animation
    placements: list[Placement] = field(default_factory=list)
    composition: Composition | None = None  # the plan drawn on every frame (its size: the band's canvas)

    @property
    def frames(self) -> list[Image.Image]:
        return self.animation.frames


def is_animated(source: str | Path | bytes) -> bool:
    """Whether ``source`` is a GIF, WebP or APNG with more than one frame (no frame is decoded)."""
    from PIL import Image

    try:
        data, _ = read_picture(source, settings.MAX_IMAGE_BYTES)
    except ImageError:
        return False  # open_image says why, in its own words
    if sniff_image_type(data[:32]) not in ANIMATED_KINDS:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                return getattr(image, "n_frames", 1) > 1
    except Exception:  # noqa: BLE001 - an unreadable file is a still to this question; open_image refuses it
        return False


def frame_size(size: tuple[int, int], frames: int, longest: int, *, max_pixels: int | None = None) -> tuple[int, int]:
    """Each frame's size: the picture scaled to ``longest`` like a still, then smaller until frames x pixels fit
    ``max_pixels`` (default settings.MAX_ANIMATION_PIXELS). Raises ``ImageError`` when even frames of
    ``MIN_ANIMATION_SIDE`` would not fit."""
    cap = settings.MAX_ANIMATION_PIXELS if max_pixels is None else max_pixels
    width, height = size
    factor = longest / max(width, height)
    target = max(1, round(width * factor)), max(1, round(height * factor))
    if frames * target[0] * target[1] <= cap:
        return target
    shrink = math.sqrt(cap / (frames * target[0] * target[1]))
    smaller = max(1, math.floor(target[0] * shrink)), max(1, math.floor(target[1] * shrink))
    if max(smaller) < min(MIN_ANIMATION_SIDE, max(target)):
        floor_pixels = _scaled_area(size, min(MIN_ANIMATION_SIDE, max(target)))
        raise ImageError(
            f"The animation has {frames:,} frames: even at {min(MIN_ANIMATION_SIDE, max(target))} px that is "
            f"{frames * floor_pixels / 1e6:,.0f} megapixels of frames, over the {cap / 1e6:,.0f} megapixel limit.",
            "Use a shorter animation (fewer frames), or raise MEMER_MAX_ANIMATION_PIXELS.",
            code="image.too_many_frames",
            fix="MEMER_MAX_ANIMATION_PIXELS",
        )
    return smaller


def _scaled_area(size: tuple[int, int], longest: int) -> int:
    factor = longest / max(size)
    return max(1, round(size[0] * factor)) * max(1, round(size[1] * factor))


def open_animation(
    source: str | Path | bytes, *, longest: int | None = None, max_pixels: int | None = None
) -> Animation | None:
    """The frames of an animated GIF, WebP or APNG scaled to ``longest`` (default settings.OUTPUT_SIZE; an
    animation is not made larger than it is, except up to ``MIN_ANIMATION_SIDE``) within the frame cap, or
    None for a still picture. Raises ``ImageError`` as :func:`memer.images.open_image` does,
    and for an animation over the cap (before decoding its frames)."""
    from PIL import Image

    data, name = read_picture(source, settings.MAX_IMAGE_BYTES)
    kind = sniff_image_type(data[:32])
    first = open_image(data)  # every check a still gets: the caps, damage, a bomb
    if kind not in ANIMATED_KINDS:
        return None
    # Never blown up past its own size (a 1024 px GIF of a 320 px one is 10x the bytes and time for no detail),
    # but small ones grow to MIN_ANIMATION_SIDE so the caption stays readable.
    longest = min(longest or settings.OUTPUT_SIZE, max(max(first.size), MIN_ANIMATION_SIDE))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                count = getattr(image, "n_frames", 1)
                if count < 2:
                    return None
                natural = _target(first.size, longest)
                size = frame_size(first.size, count, longest, max_pixels=max_pixels)
                frames, durations, disposals = [], [], []
                for index in range(count):
                    image.seek(index)
                    frames.append(_frame(image, size))
                    durations.append(max(0, round(float(image.info.get("duration") or 0))))
                    disposals.append(_disposal(image, kind))
                loop = image.info.get("loop")
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError) as err:
        raise ImageError(
            f"{name} is an animation whose frames cannot all be decoded ({str(err) or type(err).__name__}).",
            "Pick another picture, or use its first frame as a still.",
            code="image.unreadable",
            fix="image",
        ) from None
    note = (
        f"drawn at {size[0]}x{size[1]} instead of {natural[0]}x{natural[1]}: {count} frames, "
        "over MEMER_MAX_ANIMATION_PIXELS at full size"
        if size != natural
        else ""
    )
    kept = None if kind == "webp" or any(d is None for d in disposals) else [int(d or 0) for d in disposals]
    return Animation(frames, durations, kept, _loop(loop, kind), kind, note, count)


def cached_animation(path: str | Path) -> Animation | None:
    """:func:`open_animation` of a file at the current settings, decoded once for every re-render (the live
    preview); None for a still picture."""
    path = Path(path)
    return _cached(str(path), path.stat().st_mtime_ns, settings.OUTPUT_SIZE, settings.MAX_ANIMATION_PIXELS)


@functools.lru_cache(maxsize=2)
def _cached(path: str, mtime_ns: int, longest: int, max_pixels: int) -> Animation | None:
    return open_animation(path, longest=longest, max_pixels=max_pixels)


def _target(size: tuple[int, int], longest: int) -> tuple[int, int]:
    factor = longest / max(size)
    return max(1, round(size[0] * factor)), max(1, round(size[1] * factor))


def _frame(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The current frame, composed by Pillow, on white, as RGB at ``size``."""

    rgba = image.convert("RGBA")  # Pillow's own frame modes (P + key, RGB, RGBA, LA ...) all convert cleanly
    rgb = flatten(rgba, colour_key=False)
    if rgb.size == size:
        return rgb
    return resampled(rgb, size)


def _disposal(image: Image.Image, kind: str) -> int | None:
    if kind == "gif":
        return getattr(image, "disposal_method", 0)
    if kind == "png":
        value = image.info.get("disposal")
        return int(value) if value is not None else 0
    return None


def _loop(value: object, kind: str) -> int | None:
    """How often it plays, as read: None only for a GIF without a loop block (it plays once)."""
    if value is None:
        return None if kind == "gif" else 0
    try:
        return max(0, int(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


def render_animation(
    animation: Animation, text: str, options: RenderOptions | None = None, *, ai_label: bool = False
) -> AnimatedMeme:
    """Every frame with the caption (and text boxes) on it: planned once on the real first frame (auto
    placement looks at it), drawn once as an overlay, then pasted on each frame. With a band above or below,
    each frame goes where the picture lies inside the taller canvas.

    ``options.output_size`` is ignored: the frames are already at the size the cap allows.
    """
    from PIL import Image as PILImage

    from memer.rendering.compose import plan_composition
    from memer.rendering.draw import RenderOptions

    options = replace(options or RenderOptions(), output_size=max(animation.size))
    plan = plan_composition(animation.frames[0], text, options)
    colour, alpha = caption_overlay(plan, options, ai_label=ai_label)
    box = alpha.getbbox()
    frames = []
    for frame in animation.frames:
        if plan.size == frame.size:
            canvas = frame.copy()
        else:  # a band: the frame inside the taller canvas (the overlay covers the band whole)
            canvas = PILImage.new("RGB", plan.size, "white")
            canvas.paste(frame, (0, plan.offset))
        if box is not None:
            canvas.paste(colour.crop(box), box[:2], alpha.crop(box))
        frames.append(canvas)
    return AnimatedMeme(replace(animation, frames=frames), plan.placements, plan)


def caption_overlay(
    plan: Composition, options: RenderOptions, *, ai_label: bool = False
) -> tuple[Image.Image, Image.Image]:
    """(colour, coverage) of everything drawn on a frame: the band, the planned blocks, the text boxes, the credit
    strip and the tag (memer.rendering.compose draws them, as on a still).

    Drawn on black and on white: where white shows through, coverage is what the two differ by, and the
    colour is what the black one holds divided by the coverage (exact for any drawing that blends linearly).
    """
    import numpy as np
    from PIL import Image as PILImage

    from memer.rendering.compose import draw_composition
    from memer.rendering.label import add_ai_label

    canvases = []
    for background in ((0, 0, 0), (255, 255, 255)):
        canvas = PILImage.new("RGB", plan.size, background)
        draw_composition(canvas, plan, options)
        canvases.append(add_ai_label(canvas) if ai_label else canvas)
    on_black = np.asarray(canvases[0], dtype=np.float32)
    on_white = np.asarray(canvases[1], dtype=np.float32)
    coverage = np.clip(255.0 - (on_white - on_black).mean(axis=2), 0.0, 255.0)
    safe = np.where(coverage > 0, coverage, 1.0)[..., None]
    colour = np.clip(np.rint(on_black * 255.0 / safe), 0, 255).astype(np.uint8)
    alpha = PILImage.fromarray(np.rint(coverage).astype(np.uint8))
    return PILImage.fromarray(colour), alpha
