"""Free text boxes: captions placed anywhere, for labelled memes ("me" / "the code I wrote at 2 am").

A box is given in fractions (0-1) of the picture's width and height, so one
layout works at any size; its text is fitted into it like a caption (largest
size that fits, Impact-style). The presets are the places a person names.
"""

from __future__ import annotations

from dataclasses import dataclass

from memer import settings
from memer.errors import RenderError

MAX_BOXES = 20  # a labelled meme has a handful; more is a mistake (or a script gone wrong)
MIN_FRACTION = 0.02  # a box narrower or flatter than 2 % of the picture has no room for a letter

# Named places: (x, y, w, h) as fractions of the picture.
PRESETS: dict[str, tuple[float, float, float, float]] = {
    "top left": (0.03, 0.03, 0.44, 0.25),
    "top right": (0.53, 0.03, 0.44, 0.25),
    "middle left": (0.03, 0.375, 0.44, 0.25),
    "middle": (0.2, 0.375, 0.6, 0.25),
    "middle right": (0.53, 0.375, 0.44, 0.25),
    "bottom left": (0.03, 0.72, 0.44, 0.25),
    "bottom right": (0.53, 0.72, 0.44, 0.25),
}


@dataclass(frozen=True)
class TextBox:
    """Text fitted into a box at (x, y), w wide and h high, all fractions of the picture (0-1)."""

    x: float
    y: float
    w: float
    h: float
    text: str

    @classmethod
    def at(cls, preset: str, text: str) -> TextBox:
        """A box at a named place ("top left", "bottom right", ... see PRESETS)."""
        if preset not in PRESETS:
            raise RenderError(
                f"Unknown box place {preset!r}.",
                f"Use one of: {', '.join(PRESETS)}.",
                code="render.bad_option",
                fix="box",
            )
        return cls(*PRESETS[preset], text)

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) on a ``width`` x ``height`` canvas."""
        left, top = round(self.x * width), round(self.y * height)
        return (
            left,
            top,
            max(left + 1, round((self.x + self.w) * width)),
            max(top + 1, round((self.y + self.h) * height)),
        )


def check_boxes(boxes: object) -> None:
    """Refuse boxes that cannot be drawn (outside the picture, too small, empty), saying which and why."""
    if not isinstance(boxes, (tuple, list)):
        raise RenderError(
            f"The text boxes are a {type(boxes).__name__}, not a list.",
            "Pass a list of memer.rendering.TextBox.",
            code="render.bad_option",
            fix="box",
        )
    if len(boxes) > MAX_BOXES:
        raise RenderError(
            f"{len(boxes)} text boxes are more than the {MAX_BOXES} a meme can carry.",
            "Use fewer boxes.",
            code="render.bad_option",
            fix="box",
        )
    for number, box in enumerate(boxes, 1):
        if not isinstance(box, TextBox):
            raise RenderError(
                f"Text box {number} is a {type(box).__name__}, not a TextBox.",
                "Pass memer.rendering.TextBox(x, y, w, h, text) with fractions of the picture.",
                code="render.bad_option",
                fix="box",
            )
        values = (box.x, box.y, box.w, box.h)
        if not all(isinstance(v, (int, float)) and 0.0 <= v <= 1.0 for v in values):
            raise RenderError(
                f"Text box {number} ({_spec(box)}) is not inside the picture.",
                "Give X,Y,W,H as fractions from 0 to 1, e.g. 0.05,0.1,0.4,0.2.",
                code="render.bad_option",
                fix="box",
            )
        if box.x + box.w > 1.0 + 1e-9 or box.y + box.h > 1.0 + 1e-9:
            raise RenderError(
                f"Text box {number} ({_spec(box)}) reaches past the picture's edge.",
                "Keep X+W and Y+H at 1 or less.",
                code="render.bad_option",
                fix="box",
            )
        if box.w < MIN_FRACTION or box.h < MIN_FRACTION:
            raise RenderError(
                f"Text box {number} ({_spec(box)}) is too small for any text.",
                f"Make it at least {MIN_FRACTION:g} wide and high.",
                code="render.bad_option",
                fix="box",
            )
        if not isinstance(box.text, str) or not box.text.strip():
            raise RenderError(
                f"Text box {number} ({_spec(box)}) has no text.",
                "Give it some text, or leave the box out.",
                code="render.empty_caption",
                fix="caption",
            )
        if len(box.text) > settings.MAX_CAPTION_CHARS:
            raise RenderError(
                f"Text box {number} holds {len(box.text)} characters, over the {settings.MAX_CAPTION_CHARS} allowed.",
                "Shorten it.",
                code="render.caption_too_long",
                fix="caption",
            )


def _spec(box: TextBox) -> str:
    return f"{box.x:g},{box.y:g},{box.w:g},{box.h:g}"
