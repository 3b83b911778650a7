"""How long rendering a 1024 px meme with auto-fit takes (target: <= 30 ms).

Run as ``python -m bench.render``. Prints the median over repeats for each
position, a 500-character caption, a long caption in eight scripts (shaped, with
right-to-left runs: issue 21), and the extra cost of scaling a large photo down to
1024 px, next to the target.
"""

from __future__ import annotations

import statistics
import time

TARGET_MS = 30.0
REPEATS = 30


def _median_ms(work, repeats: int = REPEATS) -> float:
    work()  # warm up: fonts load once per process
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


_runs = iter(range(10**9))


def _fresh(caption: str) -> str:
    """The caption with a word no earlier run measured, so the width cache cannot answer for all of it."""
    return f"{caption} नंबर{next(_runs)}"


def main() -> None:
    import numpy as np
    from PIL import Image

    from memer.rendering import RenderOptions, render_meme

    rng = np.random.default_rng(0)
    picture = Image.fromarray((rng.random((768, 1024, 3)) * 255).astype(np.uint8))
    photo = Image.fromarray((rng.random((3000, 4000, 3)) * 255).astype(np.uint8))
    caption = "When the code works on the first try and you have no idea why"
    mixed = (
        "WHEN THE CODE WORKS जब कोड पहली बार चलता है שלום עולם (IV)! مرحبا بالعالم 123 "
        "โค้ดทำงานแล้ว குறியீடு வேலை செய்கிறது 代码第一次就能运行 ПОЧЕМУ ΓΙΑΤΙ 안녕하세요"
    )
    cases = [
        ("1024 px, bottom, auto-fit", lambda: render_meme(picture, caption, RenderOptions(position="bottom"))),
        ("1024 px, top, auto-fit", lambda: render_meme(picture, caption, RenderOptions(position="top"))),
        ("1024 px, both, auto-fit", lambda: render_meme(picture, caption, RenderOptions(position="both"))),
        ("1024 px, 500 characters", lambda: render_meme(picture, ("meme text " * 50)[:500], RenderOptions())),
        (f"1024 px, {len(mixed)} chars in 8 scripts", lambda: render_meme(picture, mixed, RenderOptions())),
        ("1024 px, 8 scripts, new words each run", lambda: render_meme(picture, _fresh(mixed), RenderOptions())),
        ("4000x3000 photo scaled to 1024", lambda: render_meme(photo, caption, RenderOptions())),
    ]
    print(f"render benchmark: median of {REPEATS} runs, target <= {TARGET_MS:.0f} ms for a 1024 px meme")
    for name, work in cases:
        ms = _median_ms(work, REPEATS if "photo" not in name else 5)
        verdict = "ok" if ms <= TARGET_MS else "over target"
        print(f"  {name:34s} {ms:7.1f} ms   ratio to target {ms / TARGET_MS:4.2f}  {verdict}")


if __name__ == "__main__":
    main()
