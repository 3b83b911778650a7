"""Benchmark: 10 captions from ONE batched ``generate`` vs 10 sequential calls (the original's way).

Runs the local engine on a tiny random Llama-style chat model built offline
(tests/standins/tiny_lm.py), both ways in the same run, and prints the times
and the ratio (target: batched at least 4x faster). A tiny model exaggerates
the per-call overhead a real one on a GPU would also have; the shape of the
result (one call amortises the prompt and the per-step work over N samples)
carries over, the exact ratio does not.

    python -m bench.captions [--rounds 5] [--n 10]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=10)
    args = parser.parse_args()

    import torch

    from memer import settings
    from memer.captions import generate_captions
    from tests.standins.tiny_lm import build_tiny_chat_lm

    settings.DEVICE = "cpu"
    with tempfile.TemporaryDirectory() as folder:
        model = str(build_tiny_chat_lm(Path(folder) / "tiny-chat-lm"))
        ask = dict(theme="apple pie", description="a pie on a windowsill", engine="local", model=model)
        generate_captions(n=2, **ask)  # load once, warm up

        batched, sequential, got_batched, got_sequential = [], [], 0, 0
        for round_number in range(args.rounds):
            torch.manual_seed(round_number)
            start = time.perf_counter()
            got_batched = len(generate_captions(n=args.n, **ask).captions)
            batched.append(time.perf_counter() - start)

            torch.manual_seed(round_number)
            start = time.perf_counter()
            got_sequential = sum(len(generate_captions(n=1, **ask).captions) for _ in range(args.n))
            sequential.append(time.perf_counter() - start)

    one, many = statistics.median(batched), statistics.median(sequential)
    print(
        f"local engine, tiny random chat model, CPU ({torch.get_num_threads()} threads), "
        f"max_new_tokens={settings.MAX_NEW_TOKENS}, median of {args.rounds} rounds"
    )
    print(f"  {args.n} captions, one batched generate:  {one * 1000:8.1f} ms  ({got_batched} usable)")
    print(f"  {args.n} captions, {args.n} sequential calls:   {many * 1000:8.1f} ms  ({got_sequential} usable)")
    print(f"  ratio (sequential / batched):      {many / one:8.1f}x  (target >= 4x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
