"""Ranking ten captions by CLIP fit vs the caption step that wrote them, side by side in one run.

The caption step is the local engine writing ten captions of a picture in one batched call, on the tiny
random models built offline (tests/standins/): the text-only chat model and the tiny Qwen3-VL. Ranking is
:func:`memer.caption_rank.rank_batch` with the tiny random CLIP (already loaded, as after a search), and
again with ViT-B-32's real architecture (random weights: the same arithmetic as the default model, no
download) to project the figure for the real CLIP. Target: ranking under 5 % of the caption step.

    python -m bench.caption_rank [--rounds 5] [--threads 1] [--skip-vit]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is built locally


def median_ms(work, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: steady on a shared machine)")
    parser.add_argument("--skip-vit", action="store_true", help="no ViT-B-32 projection")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(max(1, args.threads))
    from PIL import Image

    from memer import settings
    from memer.caption_rank import rank_batch
    from memer.captioning import generate_captions
    from memer.clip import load_clip
    from tests.standins.tiny_clip import build_tiny_clip
    from tests.standins.tiny_lm import build_tiny_chat_lm
    from tests.standins.tiny_vlm import build_tiny_vlm

    settings.DEVICE = "cpu"
    picture = Image.effect_mandelbrot((640, 480), (-2.0, -1.2, 1.0, 1.2), 64).convert("RGB")
    ask = dict(theme="apple pie", description="a pie on a windowsill", engine="local", n=10)
    print(f"CPU ({torch.get_num_threads()} threads), median of {args.rounds} rounds, 10 captions")
    with tempfile.TemporaryDirectory() as folder:
        clips = {"tiny random CLIP": load_clip(f"local-dir:{build_tiny_clip(Path(folder) / 'clip')}", "", "cpu")}
        if not args.skip_vit:
            clips["ViT-B-32 (random weights)"] = load_clip("ViT-B-32", "", "cpu")
        steps = {
            "text-only tiny chat model": {**ask, "model": str(build_tiny_chat_lm(Path(folder) / "lm"))},
            "tiny Qwen3-VL (sees the picture)": {
                **ask,
                "model": str(build_tiny_vlm(Path(folder) / "vlm", size="tiny")),
                "image": picture,
            },
        }
        batch = None
        captioning = {}
        for label, request in steps.items():
            generate_captions(**{**request, "n": 2})  # load once, warm up
            batch = generate_captions(**request)
            captioning[label] = median_ms(lambda request=request: generate_captions(**request), args.rounds)
        assert batch is not None
        if len(batch.captions) < 10:  # the tiny model's samples can be cut: rank ten whatever it wrote
            batch.captions = (batch.captions * 10)[:10]
        ranking = {}
        for label, clip in clips.items():
            rank_batch(copy.deepcopy(batch), picture, "apple pie", clip=clip)  # warm up
            copies = [copy.deepcopy(batch) for _ in range(args.rounds)]  # copied outside the timing
            ranking[label] = median_ms(
                lambda clip=clip, copies=copies: rank_batch(copies.pop(), picture, "apple pie", clip=clip), args.rounds
            )
    for label, ms in captioning.items():
        print(f"  caption step, {label}: {ms:8.1f} ms")
    for label, ms in ranking.items():
        print(f"  ranking 10 captions, {label}: {ms:8.1f} ms")
    tiny = ranking["tiny random CLIP"]
    for label, ms in captioning.items():
        print(f"  tiny ranking / caption step ({label}): {100 * tiny / ms:5.1f} %  (target < 5 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
