"""The finished meme: its picture (or frames), caption and credits, and its file in the format asked for.

Encoding is lazy and done once per format: the live preview shows ``image``
(or, for an animation, its file in its own format) and a still meme never pays
for a GIF. ``save`` picks the format from the file name's extension.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

    from memer.rendering.animation import Animation


@dataclass
class Meme:
    image: Image.Image  # the meme; for an animation, its first frame (thumbnails, a still preview)
    caption: str
    attribution: str
    filename: str  # a safe suggestion with the format's extension, e.g. "apple-pie-meme.png" or "cat-meme.gif"
    metadata: dict[str, str] = field(default_factory=dict)  # PNG text: caption, source, author, licence ...
    font_size: int | None = None  # the caption's size in pixels on the finished meme (what auto-fit chose)
    warnings: list[str] = field(default_factory=list)  # what of the caption could not be drawn, and why
    position_used: str = ""  # where the caption went: top, bottom, both, above, below ("" for text boxes only)
    animation: Animation | None = None  # every captioned frame, with its timing, when the picture moves
    _encoded: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    @property
    def animated(self) -> bool:
        return self.animation is not None

    @property
    def format(self) -> str:
        """What the meme is written as by default: "png" for a still (and an APNG), else "gif" or "webp", the
        format the animation came in."""
        return self.animation.kind if self.animation is not None else "png"

    @property
    def extension(self) -> str:
        return f".{self.format}"

    @property
    def mime_type(self) -> str:
        from memer.rendering.formats import MIME_TYPES

        return MIME_TYPES[self.format]

    @property
    def data(self) -> bytes:
        """The meme's file in its own format (:attr:`format`), encoded on first use."""
        return self.encoded(self.format)

    @property
    def png(self) -> bytes:
        """The PNG with its metadata (an APNG when the meme moves), encoded on first use: a live preview shows
        ``image`` and never pays for it."""
        return self.encoded("png")

    def encoded(self, kind: str) -> bytes:
        """The meme as ``kind`` ("png"; "gif" or "webp" for an animation) with its credits, encoded once."""
        if kind not in self._encoded:
            if self.animation is None:
                from memer.rendering import png_bytes

                self._encoded[kind] = png_bytes(self.image, self.metadata)
            else:
                from memer.rendering.formats import encode_animation

                self._encoded[kind] = encode_animation(self.animation, kind, self.metadata)
        return self._encoded[kind]

    def summary(self, kind: str | None = None) -> str:
        """What a file of the meme holds, for the faces: e.g. "GIF, 31 frames, 320x240, 86 KB" (``kind``: the
        format written, default :attr:`format`)."""
        from memer.text import human_size

        kind = kind or self.format
        width, height = self.image.size
        frames = f"{len(self.animation.frames)} frames, " if self.animation is not None else ""
        note = f" ({self.animation.note})" if self.animation is not None and self.animation.note else ""
        label = "APNG" if kind == "png" and self.animated else kind.upper()
        return f"{label}, {frames}{width}x{height}, {human_size(len(self.encoded(kind)))}{note}"

    def save(self, path: str | Path) -> Path:
        """Write the meme to ``path`` atomically, in the format its extension names (a moving meme as ``.gif``,
        ``.webp`` or ``.png`` for APNG; a still one as ``.png``; the meme's own extension added when there is
        none); returns the path written. No half-written file is ever left, even when the save fails."""
        from memer.rendering.formats import meme_path
        from memer.rendering.png import save_bytes

        target, kind = meme_path(path, animated=self.animated, default=self.format)
        return save_bytes(target, self.encoded(kind), target.suffix)
