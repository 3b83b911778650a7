"""How long rendering a 1024 px meme with auto-fit takes (target: <= 30 ms), and an animated one.

Run as ``python -m bench.render``. Prints the median over repeats for each
position, a 500-character caption, and the extra cost of scaling a large photo
down to 1024 px, next to the target. A 4000x3000 JPEG opened the way the
pipeline opens it (JPEG draft mode, whole-factor reduction: only what a 1024 px
meme needs) is timed next to the old full decode. A 40-frame animated GIF
(Pillow's real test GIF tests/data/animated/chi.gif, 480x360) is captioned and
written as GIF (target: <= 1 s, open to bytes).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

TARGET_MS = 30.0
ANIMATION_TARGET_MS = 1000.0
REPEATS = 30
CHI = Path(__file__).resolve().parents[1] / "tests" / "data" / "animated" / "chi.gif"


def _median_ms(work, repeats: int = REPEATS) -> float:
    work()  # warm up: fonts load once per process
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    import numpy as np
    from PIL import Image

    from memer.rendering import RenderOptions, render_meme

    rng = np.random.default_rng(0)
    picture = Image.fromarray((rng.random((768, 1024, 3)) * 255).astype(np.uint8))
    photo = Image.fromarray((rng.random((3000, 4000, 3)) * 255).astype(np.uint8))
    caption = "When the code works on the first try and you have no idea why"
    cases = [
        ("1024 px, bottom, auto-fit", lambda: render_meme(picture, caption, RenderOptions(position="bottom"))),
        ("1024 px, top, auto-fit", lambda: render_meme(picture, caption, RenderOptions(position="top"))),
        ("1024 px, both, auto-fit", lambda: render_meme(picture, caption, RenderOptions(position="both"))),
        ("1024 px, 500 characters", lambda: render_meme(picture, ("meme text " * 50)[:500], RenderOptions())),
        ("4000x3000 photo scaled to 1024", lambda: render_meme(photo, caption, RenderOptions())),
    ]
    print(f"render benchmark: median of {REPEATS} runs, target <= {TARGET_MS:.0f} ms for a 1024 px meme")
    for name, work in cases:
        ms = _median_ms(work, REPEATS if "photo" not in name else 5)
        verdict = "ok" if ms <= TARGET_MS else "over target"
        print(f"  {name:34s} {ms:7.1f} ms   ratio to target {ms / TARGET_MS:4.2f}  {verdict}")
    with tempfile.TemporaryDirectory() as folder:
        _photo_file(Path(folder), caption)
        _animation(Path(folder), caption)


def _photo_file(folder: Path, caption: str) -> None:
    """A 4000x3000 JPEG with a photo's kind of content (a real picture blown up, with grain), opened and rendered."""
    import numpy as np
    from PIL import Image

    from memer.images import open_image
    from memer.rendering import RenderOptions, render_meme

    base = Image.open(CHI).convert("RGB").resize((4000, 3000))
    grain = np.random.default_rng(0).normal(0, 6, (3000, 4000, 3))
    path = folder / "photo.jpg"
    Image.fromarray(np.clip(np.asarray(base, dtype=np.float32) + grain, 0, 255).astype(np.uint8)).save(path, quality=90)
    old = _median_ms(lambda: render_meme(open_image(path), caption, RenderOptions()), 5)
    new = _median_ms(lambda: render_meme(open_image(path, max_side=1024), caption, RenderOptions()), 5)
    verdict = "ok" if new <= TARGET_MS else "over target"
    print(
        f"  4000x3000 JPEG file, open + render  {new:7.1f} ms   full decode {old:.1f} ms ({old / new:.1f}x)   "
        f"ratio to target {new / TARGET_MS:4.2f}  {verdict}"
    )
    from memer import pipeline

    picture = pipeline.own_picture(path)
    again = _median_ms(lambda: pipeline.render(picture, caption), REPEATS)  # the live preview: decoded once
    verdict = "ok" if again <= TARGET_MS else "over target"
    print(
        f"  {'4000x3000 JPEG, pipeline re-render':34s} {again:7.1f} ms   ratio to target {again / TARGET_MS:4.2f}  {verdict}"
    )


def _animation(folder: Path, caption: str) -> None:
    """40 real frames at 480x360: open, caption every frame, write the GIF (and the caption step alone)."""
    from PIL import Image

    from memer.rendering import RenderOptions, open_animation, render_animation
    from memer.rendering.formats import encode_animation

    source = Image.open(CHI)
    frames = []
    for index in range(40):
        source.seek(index % source.n_frames)
        frame = source.convert("RGB").resize((480, 360))
        frame.paste((200, 40, 40), (10 * index, 10, 10 * index + 8, 18))  # no two frames alike: none merged
        frame.info = {}
        frames.append(frame)
    path = folder / "forty.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=80, loop=0)

    def whole() -> bytes:
        animation = open_animation(path)
        assert animation is not None and len(animation.frames) == 40
        return encode_animation(render_animation(animation, caption, RenderOptions()).animation, "gif")

    animation = open_animation(path)
    assert animation is not None
    captioning = _median_ms(lambda: render_animation(animation, caption, RenderOptions()), 5)
    captioned = render_animation(animation, caption, RenderOptions()).animation
    print(f"animation benchmark: 40 frames, 480x360, target <= {ANIMATION_TARGET_MS:.0f} ms from file to GIF bytes")
    for name, work in (
        ("40 frames: open + caption + GIF", whole),
        ("40 frames: encode WebP", lambda: encode_animation(captioned, "webp")),
        ("40 frames: encode APNG", lambda: encode_animation(captioned, "png")),
    ):
        ms = _median_ms(work, 5)
        verdict = "ok" if ms <= ANIMATION_TARGET_MS else "over target"
        print(f"  {name:34s} {ms:7.1f} ms   ratio to target {ms / ANIMATION_TARGET_MS:4.2f}  {verdict}")
    print(f"  {'40 frames: caption only':34s} {captioning:7.1f} ms   (the text laid out once, pasted on each frame)")


if __name__ == "__main__":
    main()
