"""Hostile text through the renderer: does the cost grow linearly with the length? (target: ratio near 2).

Run as ``python -m bench.render_hostile``. Times, side by side, a word of N and
of 2N characters laid out at font size 1 (broken into long pieces), and a
credit strip of N and 2N characters, and prints each ratio: about 2 means
linear, about 4 quadratic. The credit is cut to MEMER_MAX_CREDIT_CHARS first,
so its ratio should be near 1.
"""

from __future__ import annotations

import time


def _seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    from PIL import Image

    from memer.rendering import RenderOptions, render_meme
    from memer.rendering.fonts import FontStack, font_stack
    from memer.rendering.layout import layout_text

    stack = font_stack()
    picture = Image.new("RGB", (1024, 768), (128, 128, 128))
    render_meme(picture, "warm up")  # fonts load once per process
    for n in (1000, 2000):
        # a fresh stack each time, so no measure is served from the other run's cache
        short = _seconds(lambda n=n: layout_text("X" * n, FontStack(stack.faces), 300, 300, font_size=1))
        long = _seconds(lambda n=n: layout_text("X" * (2 * n), FontStack(stack.faces), 300, 300, font_size=1))
        print(
            f"word at size 1:  {n:6d} chars {short:6.3f} s, {2 * n:6d} chars {long:6.3f} s, ratio {long / short:4.1f}"
        )
    for n in (3000, 6000):
        credit = "Image: " + "x" * n

        def draw(text: str) -> None:
            render_meme(picture, "hello", RenderOptions(attribution=text))

        short = _seconds(lambda credit=credit: draw(credit))
        long = _seconds(lambda credit=credit, n=n: draw(credit + "y" * n))
        print(
            f"credit strip:    {n:6d} chars {short:6.3f} s, {2 * n:6d} chars {long:6.3f} s, ratio {long / short:4.1f}"
        )


if __name__ == "__main__":
    main()
