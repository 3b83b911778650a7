"""A small visible "AI-generated" tag in a corner of a meme made from a generated picture.

Kept apart from the caption drawing: it is one rule (where and how big the tag
is), applied after the meme is drawn, and it never moves the caption.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memer.rendering.fonts import font_stack, load_font

if TYPE_CHECKING:
    from PIL import Image

AI_LABEL_TEXT = "AI-generated"


def label_box(width: int, height: int, text_width: float, size: int) -> tuple[int, int, int, int]:
    """The tag's box (left, top, right, bottom): the top-right corner, a little in from the edges."""
    padding = max(2, size // 3)
    inset = max(2, round(min(width, height) * 0.015))
    right = width - inset
    left = max(0, round(right - text_width - 2 * padding))
    return left, inset, right, inset + size + 2 * padding


def add_ai_label(image: Image.Image, text: str = AI_LABEL_TEXT) -> Image.Image:
    """A copy of ``image`` with ``text`` in small white letters on a dark tag, top right."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    canvas = image.convert("RGB") if image.mode != "RGB" else image.copy()
    width, height = canvas.size
    size = max(8, round(min(width, height) * 0.028))
    faces = font_stack().faces
    # a plain sans reads best this small: the first fallback with every letter of the tag
    plain = next((f for f in faces[1:] if not f.color and all(ord(c) in f.codepoints for c in text)), faces[0])
    font = load_font(plain.path, size)
    left, top, right, bottom = label_box(width, height, font.getlength(text), size)
    tag = PILImage.new("RGBA", (max(1, right - left), max(1, bottom - top)), (0, 0, 0, 160))
    canvas.paste(tag, (left, top), tag)
    ImageDraw.Draw(canvas).text(((left + right) / 2, (top + bottom) / 2), text, font=font, fill="white", anchor="mm")
    return canvas
