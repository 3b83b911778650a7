"""Reference renders: a few memes drawn with the bundled fonts, kept as PNGs beside this file.

tests/test_render_reference.py draws each case again and compares it with its PNG within a tolerance, so a
change to the look of a meme (placement, size, outline, fonts, credit strip) shows up as a failing test.
When a change of look is meant, a reviewer regenerates them on purpose, looks at each, and commits them:

    python -m tests.reference --update      # writes tests/reference/<case>.png
    python -m tests.reference               # says which cases differ, writes nothing
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from memer.rendering import RenderOptions, render_meme

FOLDER = Path(__file__).resolve().parent
OUTPUT_SIZE = 320  # small: what is compared is the look, and small PNGs keep the repository light
# Pillow and FreeType versions differ a little in anti-aliasing; a moved, resized or missing caption differs a lot.
MAX_MEAN_DIFFERENCE = 1.5  # mean absolute difference per channel, 0-255
MAX_DIFFERING_FRACTION = 0.01  # pixels with a channel off by more than PIXEL_THRESHOLD
PIXEL_THRESHOLD = 48


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    options: RenderOptions
    size: tuple[int, int] = (640, 480)


CASES = [
    Case("top", "one does not simply", RenderOptions(position="top", output_size=OUTPUT_SIZE)),
    Case("bottom", "walk into mordor", RenderOptions(position="bottom", output_size=OUTPUT_SIZE)),
    Case("both", "top text|bottom text", RenderOptions(position="both", output_size=OUTPUT_SIZE)),
    Case(
        "long-fitted",
        "when the caption goes on and on about the pie on the windowsill and still has to fit in its box",
        RenderOptions(position="bottom", output_size=OUTPUT_SIZE),
    ),
    Case("right-to-left", "שלום עולם 2024", RenderOptions(position="bottom", output_size=OUTPUT_SIZE)),
    Case(
        "credit-strip",
        "photo of the day",
        RenderOptions(
            position="bottom", output_size=OUTPUT_SIZE, attribution="Jane Doe, CC BY-SA 4.0, via Wikimedia Commons"
        ),
        size=(480, 640),
    ),
    # auto placement on this picture (no face; the bright disc in the middle is the detail) and the caption band
    Case("auto", "auto keeps off the detail", RenderOptions(position="auto", output_size=OUTPUT_SIZE)),
    Case("band-above", "me explaining the caption band", RenderOptions(position="above", output_size=OUTPUT_SIZE)),
]


def picture(size: tuple[int, int]) -> Image.Image:
    """A fixed picture with light and dark areas, so the outline shows against both."""
    width, height = size
    ramp = np.linspace(40, 220, width, dtype=np.float64)
    rows = np.linspace(0.6, 1.0, height, dtype=np.float64)[:, None]
    pixels = np.stack([ramp * rows, (255 - ramp) * rows, np.full((height, width), 120.0)], axis=2)
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    ImageDraw.Draw(image).ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(245, 235, 200))
    return image


def render(case: Case) -> Image.Image:
    return render_meme(picture(case.size), case.text, case.options)


def path_of(case: Case) -> Path:
    return FOLDER / f"{case.name}.png"


def difference(expected: Image.Image, actual: Image.Image) -> tuple[float, float]:
    """The mean absolute difference per channel and the fraction of pixels off by more than PIXEL_THRESHOLD."""
    if expected.size != actual.size:
        return 255.0, 1.0
    a = np.asarray(expected.convert("RGB"), dtype=np.int16)
    b = np.asarray(actual.convert("RGB"), dtype=np.int16)
    off = np.abs(a - b)
    return float(off.mean()), float((off.max(axis=2) > PIXEL_THRESHOLD).mean())


def within_tolerance(expected: Image.Image, actual: Image.Image) -> bool:
    mean, fraction = difference(expected, actual)
    return mean <= MAX_MEAN_DIFFERENCE and fraction <= MAX_DIFFERING_FRACTION


def _main(argv: list[str]) -> int:
    update = "--update" in argv
    overridden = sorted(name for name in os.environ if name.startswith("MEMER_"))
    if update and overridden:
        print(f"Unset {', '.join(overridden)} first: the references are drawn with memer's defaults.")
        return 2
    differing = 0
    for case in CASES:
        actual = render(case)
        path = path_of(case)
        if update:
            actual.save(path, optimize=True)
            print(f"wrote {path.relative_to(FOLDER.parents[1])} - look at it before committing")
            continue
        if not path.is_file():
            print(f"{case.name}: no reference yet (run with --update)")
            differing += 1
            continue
        with Image.open(path) as expected:
            mean, fraction = difference(expected, actual)
            same = within_tolerance(expected, actual)
        differing += not same
        print(f"{case.name}: {'same' if same else 'DIFFERS'} (mean {mean:.2f}, {fraction:.2%} of pixels)")
    return 1 if differing else 0
