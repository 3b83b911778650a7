"""Embedding candidate pictures batched vs one at a time, side by side in one run.

    python -m bench.rank                                   # the tiny random CLIP (built offline)
    python -m bench.rank --model ViT-B-32 --pretrained openai   # a real model, when its weights are reachable

Prints the time for each way, the ratio, and checks both give the same vectors.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def pictures(count: int, size: int = 480):
    """Varied, deterministic photo-sized pictures (gradients with a few shapes)."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    out = []
    for i in range(count):
        base = np.linspace(0, 255, size, dtype=np.float32)
        pixels = np.stack([np.add.outer(base * rng.random(), base * rng.random()) / 2 for _ in range(3)], axis=-1)
        image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).resize((size + 7 * i, size - 3 * i))
        draw = ImageDraw.Draw(image)
        for _ in range(5):
            x, y = rng.integers(0, size - 60, 2)
            draw.ellipse([x, y, x + 60, y + 40], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        out.append(image)
    return out


def best_times(ways: dict[str, object], repeats: int) -> tuple[dict[str, float], dict[str, object]]:
    """Best-of-N time for each way, the ways interleaved so a busy machine slows them alike."""
    best = {name: float("inf") for name in ways}
    results: dict[str, object] = {}
    for _ in range(repeats):
        for name, fn in ways.items():
            started = time.perf_counter()
            results[name] = fn()
            best[name] = min(best[name], time.perf_counter() - started)
    return best, results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="an open_clip model name (default: the tiny random CLIP)")
    parser.add_argument("--pretrained", default="", help="its pretrained tag or weights file")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: settings.DEVICE / auto)")
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=None, help="default: settings.CLIP_BATCH_SIZE")
    parser.add_argument("--repeats", type=int, default=5, help="best of N for each way")
    args = parser.parse_args(argv)

    import numpy as np

    from memer import settings
    from memer.clip import load_clip

    with tempfile.TemporaryDirectory() as scratch:
        if args.model:
            model_name = args.model
        else:
            from tests.standins.tiny_clip import build_tiny_clip

            model_name = f"local-dir:{build_tiny_clip(Path(scratch) / 'tiny-clip')}"
        clip = load_clip(model_name, args.pretrained, args.device)
        images = pictures(args.images)
        batch_size = args.batch_size or settings.CLIP_BATCH_SIZE
        clip.encode_images(images[:2])  # warm-up

        times, results = best_times(
            {
                "batched": lambda: clip.encode_images(images, batch_size=batch_size),
                "single": lambda: np.concatenate([clip.encode_images([im]) for im in images]),
                "preprocess": lambda: [clip.preprocess(im.convert("RGB")) for im in images],
            },
            args.repeats,
        )
    batched_s, single_s, preprocess_s = times["batched"], times["single"], times["preprocess"]
    batched, single = results["batched"], results["single"]

    print(f"model: {clip!r} ({clip.dtype})")
    print(f"{len(images)} images, batch size {batch_size}, best of {args.repeats}")
    print(f"  batched:        {batched_s * 1000:8.1f} ms  ({batched_s / len(images) * 1000:.2f} ms/image)")
    print(f"  one at a time:  {single_s * 1000:8.1f} ms  ({single_s / len(images) * 1000:.2f} ms/image)")
    print(f"  of which preprocessing (resize, crop, normalise; same both ways): {preprocess_s * 1000:.1f} ms")
    print(f"  ratio (one at a time / batched): {single_s / batched_s:.2f}x")
    print(f"  max difference between the two ways' vectors: {float(np.abs(batched - single).max()):.2e}")


if __name__ == "__main__":
    main()
