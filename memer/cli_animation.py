"""The command line's side of animated memes: which file a moving (or still) meme is written to, and
``memer render`` for an animated GIF, WebP or APNG.

Kept apart from memer/cli.py (a file under 500 lines); the frame work itself is memer.rendering.animation.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from memer.errors import RenderError

if TYPE_CHECKING:
    from memer.candidates import ImageCandidate
    from memer.rendering import RenderOptions


def make_output(output: str) -> Path:
    """``memer make``'s output before anything is searched: .png, .gif or .webp (the picture is not known yet)."""
    from memer.rendering.formats import ANIMATED_SUFFIXES, meme_path

    target, _ = meme_path(output, animated=Path(output).suffix.lower() in ANIMATED_SUFFIXES)
    if not target.parent.is_dir():  # say so before minutes of work
        raise RenderError(
            f"The folder {target.parent} does not exist.",
            "Create it or write somewhere else.",
            code="render.cannot_write",
            fix="--output",
        )
    return target


def check_output_for(output: Path, picture: ImageCandidate) -> None:
    """Once the picture is known, before captions are written: a still picture gives a PNG only."""
    from memer.rendering.animation import is_animated
    from memer.rendering.formats import meme_path

    if output.suffix.lower() != ".png" and picture.path is not None and not is_animated(picture.path):
        try:
            meme_path(output, animated=False)
        except RenderError as err:
            raise RenderError(
                f"{err.message} The picture does not move, so the meme is a still PNG.",
                err.hint,
                code=err.code,
                fix="--output",
            ) from None


def render_animated(image: str, text: str, words: str, options: RenderOptions, output: str) -> bool:
    """``memer render`` for a moving picture: every frame captioned, written in the format ``output`` names,
    the path printed and what was written said on stderr. False (nothing done) for a still picture. ``words``:
    the caption for the credits (the boxes' texts when there is no caption)."""
    from memer.rendering import meme_metadata
    from memer.rendering.animation import is_animated, open_animation, render_animation
    from memer.rendering.formats import meme_path
    from memer.rendering.meme import Meme

    if not is_animated(image):
        return False
    animation = open_animation(image)
    if animation is None:
        return False
    target, kind = meme_path(output, animated=True, default=animation.kind)  # before the frames are drawn
    captioned = render_animation(animation, text, options)
    frames = captioned.animation
    meme = Meme(frames.frames[0], words, "", target.name, meme_metadata(None, words), animation=frames)
    written = meme.save(target)
    print(written)
    print(f"memer: wrote {meme.summary(kind)}", file=sys.stderr)
    return True
