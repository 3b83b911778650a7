"""The command line's layout flags: ``--position`` (auto by default) and ``--box X,Y,W,H=TEXT``.

Kept apart from memer/cli.py (one idea per module): how a caption's place and
free text boxes are written on a command line, and read back into what the
renderer takes (memer.rendering.TextBox, fractions of the picture).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from memer.errors import MemerError

if TYPE_CHECKING:
    from memer.rendering import TextBox

BOX_HELP = (
    "a free text box: X,Y,W,H as fractions 0-1 of the picture, then =TEXT (e.g. 0.05,0.1,0.4,0.2=me); "
    "or a place such as 'top left=me'; repeatable"
)


def add_position(p: argparse.ArgumentParser, choices: tuple[str, ...] | None) -> None:
    """--position, its choices from the renderer (memer.rendering.POSITIONS; None when it cannot import)."""
    p.add_argument(
        "--position",
        choices=choices,
        default="auto",
        help="auto (default: off faces, on the least detail), top, bottom, both, or above/below (a band outside)",
    )


def add_boxes(p: argparse.ArgumentParser) -> None:
    """--box, repeatable."""
    p.add_argument("--box", action="append", default=[], metavar="X,Y,W,H=TEXT", help=BOX_HELP)


def parse_box(spec: str) -> TextBox:
    """``X,Y,W,H=TEXT`` (or ``PLACE=TEXT``) as a TextBox, checked; one clear line when it is not."""
    from memer.rendering import PRESETS, TextBox
    from memer.rendering.boxes import check_boxes

    where, equals, text = spec.partition("=")
    if not equals:
        raise _bad(spec, "it has no =TEXT")
    where = where.strip().lower()
    if where in PRESETS:
        box = TextBox.at(where, text)
    else:
        parts = where.split(",")
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            numbers = []
        if len(numbers) != 4:
            raise _bad(spec, f"{where!r} is neither four numbers X,Y,W,H nor a place ({', '.join(PRESETS)})")
        x, y, w, h = numbers
        box = TextBox(x, y, w, h, text)
    check_boxes([box])
    return box


def _bad(spec: str, why: str) -> MemerError:
    return MemerError(
        f"--box {spec[:80]!r}: {why}.",
        "Write --box X,Y,W,H=TEXT with fractions 0-1 of the picture, e.g. --box 0.05,0.1,0.4,0.2=me.",
        code="input.invalid",
        fix="--box",
    )


def boxes(args: argparse.Namespace) -> tuple[TextBox, ...]:
    """The --box flags, each read and checked, in order."""
    return tuple(parse_box(spec) for spec in args.box)
