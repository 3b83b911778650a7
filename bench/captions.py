"""Benchmark: 10 captions from ONE batched ``generate`` vs 10 sequential calls (the original's way).

Runs the local engine, both ways in the same run, on random-weight models built
offline (tests/standins/): the tiny Llama-style chat model (text-only), the
tiny Qwen3-VL (it sees the picture) and a larger "realistic" random Qwen3-VL
(a wider, deeper text model and vision tower; still far smaller than the 2B
default, so the CPU finishes in a minute or two). It prints the times, the
ratio (target: batched at least 4x faster) and generated tokens per second.
The shape of the result carries over to a GPU (one call amortises the prompt,
the picture's encoding and the per-step work over N samples); the exact ratio
does not, and no GPU figure is measured here.

    python -m bench.captions [--rounds 3] [--n 10] [--skip-realistic] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is built locally


class TokenCounter:
    """Wraps a model's ``generate`` and counts the new, non-padding tokens it writes."""

    def __init__(self, local) -> None:
        self.local, self.original, self.tokens = local, local.model.generate, 0
        local.model.generate = self

    def __call__(self, **kwargs):
        output = self.original(**kwargs)
        new = output[:, kwargs["input_ids"].shape[1] :]
        self.tokens += int((new != self.local.tokenizer.pad_token_id).sum())
        return output


def measure(label: str, ask: dict, n: int, rounds: int) -> None:
    import torch

    from memer.captioning import generate_captions, local_engine

    generate_captions(n=2, **ask)  # load once, warm up
    counter = TokenCounter(local_engine.load_model(ask["model"]))
    timings: dict[str, list[float]] = {"batched": [], "sequential": []}
    tokens: dict[str, int] = {}
    usable: dict[str, int] = {}
    for round_number in range(rounds):
        for way in ("batched", "sequential"):
            torch.manual_seed(round_number)
            counter.tokens = 0
            start = time.perf_counter()
            if way == "batched":
                usable[way] = len(generate_captions(n=n, **ask).captions)
            else:
                usable[way] = sum(len(generate_captions(n=1, **ask).captions) for _ in range(n))
            timings[way].append(time.perf_counter() - start)
            tokens[way] = counter.tokens
    one, many = statistics.median(timings["batched"]), statistics.median(timings["sequential"])
    print(f"{label}, median of {rounds} rounds")
    for way, seconds in (("one batched generate", one), (f"{n} sequential calls ", many)):
        key = "batched" if way.startswith("one") else "sequential"
        rate = tokens[key] / timings[key][-1] if timings[key][-1] else 0.0
        print(f"  {n} captions, {way}: {seconds * 1000:9.1f} ms  ({usable[key]} usable, {rate:7.1f} tokens/s)")
    print(f"  ratio (sequential / batched):        {many / one:9.1f}x  (target >= 4x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--skip-realistic", action="store_true", help="only the tiny models")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1: steady figures on a shared machine)"
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(max(1, args.threads))  # two threads on a busy 2-core machine spin-wait: 10 s for 0.2 s
    from PIL import Image

    from memer import settings
    from tests.standins.tiny_lm import build_tiny_chat_lm
    from tests.standins.tiny_vlm import SIZES, build_tiny_vlm

    settings.DEVICE = "cpu"
    picture = Image.effect_mandelbrot((640, 480), (-2.0, -1.2, 1.0, 1.2), 64).convert("RGB")
    base = dict(theme="apple pie", description="a pie on a windowsill", engine="local", seed=None)
    print(
        f"CPU ({torch.get_num_threads()} threads), max_new_tokens={settings.MAX_NEW_TOKENS}, "
        f"picture downscaled to {settings.LOCAL_VISION_SIZE} px"
    )
    with tempfile.TemporaryDirectory() as folder:
        chat = str(build_tiny_chat_lm(Path(folder) / "tiny-chat-lm"))
        measure("text-only, tiny random chat model", {**base, "model": chat}, args.n, args.rounds)
        sizes = ["tiny"] if args.skip_realistic else ["tiny", "realistic"]
        for size in sizes:
            vlm = str(build_tiny_vlm(Path(folder) / f"vlm-{size}", size=size))
            vocab, hidden, layers, _, vision_hidden, depth = SIZES[size]  # vocab: trained tokens at most
            label = (
                f"vision-language, {size} random Qwen3-VL (text {layers} x {hidden}, vision {depth} x {vision_hidden}, "
                f"vocabulary <= {vocab})"
            )
            measure(label, {**base, "model": vlm, "image": picture}, args.n, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
