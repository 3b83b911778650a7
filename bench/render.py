"""How long rendering a 1024 px meme with auto-fit takes (target: <= 30 ms), and an animated one.

Run as ``python -m bench.render``. Prints the median over repeats for each
position, a 500-character caption, a long caption in eight scripts (shaped, with
right-to-left runs: issue 21), and the extra cost of scaling a large photo down to
1024 px, next to the target. Auto placement (faces found by dlib's HOG
detector, then each place laid out and scored on the picture's detail) has its
own target, AUTO_TARGET_MS: it looks at the picture, which a fixed place never
does; without dlib it says so and times placement by detail alone. A 4000x3000
JPEG opened the way the pipeline opens it (JPEG draft mode, whole-factor
reduction: only what a 1024 px meme needs) is timed next to the old full decode.
A 40-frame animated GIF (Pillow's real test GIF tests/data/animated/chi.gif,
480x360) is captioned and written as GIF (target: <= 1 s, open to bytes).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

TARGET_MS = 30.0
ANIMATION_TARGET_MS = 1000.0
AUTO_TARGET_MS = 150.0  # auto placement with face detection: "well under a second", and quick enough to type to
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


_runs = iter(range(10**9))


def _fresh(caption: str) -> str:
    """The caption with a word no earlier run measured, so the width cache cannot answer for all of it."""
    return f"{caption} नंबर{next(_runs)}"


def main() -> None:
    import numpy as np
    from PIL import Image

    from memer import faces
    from memer.rendering import RenderOptions, TextBox, render_meme
    from tests.test_placement import framed

    rng = np.random.default_rng(0)
    picture = Image.fromarray((rng.random((768, 1024, 3)) * 255).astype(np.uint8))
    photo = Image.fromarray((rng.random((3000, 4000, 3)) * 255).astype(np.uint8))
    portrait = framed("high")  # the NASA astronaut (tests/pictures) in a 600x1000 frame: one face, found
    caption = "When the code works on the first try and you have no idea why"
    mixed = (
        "WHEN THE CODE WORKS जब कोड पहली बार चलता है שלום עולם (IV)! مرحبا بالعالم 123 "
        "โค้ดทำงานแล้ว குறியீடு வேலை செய்கிறது 代码第一次就能运行 ПОЧЕМУ ΓΙΑΤΙ 안녕하세요"
    )
    bottom, auto = RenderOptions(position="bottom"), RenderOptions(position="auto")
    boxes = RenderOptions(
        position="bottom",
        boxes=(TextBox.at("top left", "me"), TextBox.at("top right", "my code"), TextBox.at("middle", "the bug")),
    )
    cases = [
        ("1024 px, bottom, auto-fit", lambda: render_meme(picture, caption, bottom), TARGET_MS),
        ("1024 px, top, auto-fit", lambda: render_meme(picture, caption, RenderOptions(position="top")), TARGET_MS),
        ("1024 px, both, auto-fit", lambda: render_meme(picture, caption, RenderOptions(position="both")), TARGET_MS),
        ("1024 px, 500 characters", lambda: render_meme(picture, ("meme text " * 50)[:500], bottom), TARGET_MS),
        (f"1024 px, {len(mixed)} chars in 8 scripts", lambda: render_meme(picture, mixed, bottom), TARGET_MS),
        ("1024 px, 8 scripts, new words each run", lambda: render_meme(picture, _fresh(mixed), bottom), TARGET_MS),
        ("4000x3000 photo scaled to 1024", lambda: render_meme(photo, caption, bottom), TARGET_MS),
        ("1024 px, band below", lambda: render_meme(picture, caption, RenderOptions(position="below")), TARGET_MS),
        ("1024 px, caption + 3 text boxes", lambda: render_meme(picture, caption, boxes), TARGET_MS),
        ("auto, portrait with a face", lambda: faces.forget() or render_meme(portrait, caption, auto), AUTO_TARGET_MS),
        ("auto, the same picture redrawn", lambda: render_meme(portrait, caption, auto), TARGET_MS),
    ]
    print(f"render benchmark: median of {REPEATS} runs, target <= {TARGET_MS:.0f} ms for a 1024 px meme")
    if not faces.detector_available():
        print("  (no dlib here: the auto row places by detail alone; pip install memer[faces])")
    measured = {}
    for name, work, target in cases:
        ms = measured[name] = _median_ms(work, REPEATS if "photo" not in name else 5)
        verdict = "ok" if ms <= target else "over target"
        print(f"  {name:34s} {ms:7.1f} ms   ratio to target {ms / target:4.2f}  {verdict} (target {target:.0f} ms)")
    fitted = render_meme(photo, caption, bottom)  # the in-memory photo row, side by side with the way before issue 22
    old = _median_ms(
        lambda: render_meme(
            photo.copy().resize(fitted.size, Image.Resampling.LANCZOS, reducing_gap=1.5), caption, bottom
        ),
        5,
    )
    new = measured["4000x3000 photo scaled to 1024"]
    print(
        f"  4000x3000 photo: {new:.1f} ms against {old:.1f} ms before (copy, Lanczos, reducing_gap 1.5): {old / new:.1f}x"
    )
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
    old = _median_ms(lambda: render_meme(open_image(path), caption, RenderOptions(position="bottom")), 5)
    new = _median_ms(lambda: render_meme(open_image(path, max_side=1024), caption, RenderOptions(position="bottom")), 5)
    verdict = "ok" if new <= TARGET_MS else "over target"
    print(
        f"  4000x3000 JPEG file, open + render  {new:7.1f} ms   full decode {old:.1f} ms ({old / new:.1f}x)   "
        f"ratio to target {new / TARGET_MS:4.2f}  {verdict}"
    )
    from memer import pipeline

    picture = pipeline.own_picture(path)
    again = _median_ms(lambda: pipeline.render(picture, caption, position="bottom"), REPEATS)  # the live preview
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
        return encode_animation(render_animation(animation, caption, RenderOptions(position="bottom")).animation, "gif")

    animation = open_animation(path)
    assert animation is not None
    captioning = _median_ms(lambda: render_animation(animation, caption, RenderOptions(position="bottom")), 5)
    captioned = render_animation(animation, caption, RenderOptions(position="bottom")).animation
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
