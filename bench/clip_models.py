"""Benchmark: CPU cost of the candidate default CLIP models, measured with random weights.

    python -m bench.clip_models                  # the candidates in settings' comment (a few minutes)
    python -m bench.clip_models --models ViT-B-32,ViT-B-16 --texts 64 --images 16

Real weights cannot be fetched here, but cost depends only on the architecture: open_clip
builds each one with ``pretrained=None``. Text towers get random token ids of the model's
context length (SigLIP's tokenizer lives on the Hugging Face hub, so no tokenizer is timed here;
``bench.cache_build`` times open_clip's own tokenizer), image towers random pixels at the model's
resolution. Each tower runs once to warm up, then the models are timed in interleaved rounds (the best
round is kept, since other load on a shared machine only slows a round down); the ratios are
to ViT-B-32, measured side by side, in one process, on the same threads.
"""

from __future__ import annotations

import argparse
import time

CANDIDATES = ["ViT-B-32", "ViT-B-32-256", "ViT-B-16", "ViT-B-16-SigLIP"]


def prepare(name: str, texts: int, images: int) -> dict:
    import open_clip
    import torch

    model = open_clip.create_model(name, pretrained=None, device="cpu")
    model.eval()
    text_cfg = open_clip.get_model_config(name)["text_cfg"]
    context = int(text_cfg.get("context_length", 77))
    vocab = int(text_cfg.get("vocab_size", 49408))
    size = model.visual.image_size
    side = size[0] if isinstance(size, (tuple, list)) else int(size)
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(1, vocab, (texts, context), generator=generator)
    pixels = torch.randn((images, 3, side, side), generator=generator)
    with torch.inference_mode():  # warm-up, not counted
        model.encode_text(tokens[:2])
        model.encode_image(pixels[:2])
    params = sum(p.numel() for p in model.parameters()) / 1e6
    return {"model": model, "tokens": tokens, "pixels": pixels, "side": side, "params_m": params, "best": {}}


def time_once(entry: dict) -> None:
    """One timed pass of each tower; the best pass of all rounds is kept (other load only slows a pass down)."""
    import torch

    model = entry["model"]
    with torch.inference_mode():
        for key, run, count in (
            ("captions_per_s", lambda: model.encode_text(entry["tokens"]), len(entry["tokens"])),
            ("images_per_s", lambda: model.encode_image(entry["pixels"]), len(entry["pixels"])),
        ):
            started = time.perf_counter()
            run()
            rate = count / (time.perf_counter() - started)
            entry["best"][key] = max(rate, entry["best"].get(key, 0.0))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(CANDIDATES))
    parser.add_argument("--texts", type=int, default=64, help="captions per timed batch")
    parser.add_argument("--images", type=int, default=16, help="images per timed batch")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds; the best is kept")
    args = parser.parse_args(argv)
    import torch

    print(f"CPU, {torch.get_num_threads()} threads, float32, random weights")
    print(
        f"{'model':22s} {'params M':>9s} {'px':>4s} {'captions/s':>11s} {'images/s':>9s} {'text x':>7s} {'image x':>8s}"
    )
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    entries = {name: prepare(name, args.texts, args.images) for name in names}
    for _ in range(args.repeats):  # rounds interleave the models, so a busy moment hits them all alike
        for entry in entries.values():
            time_once(entry)
    base: dict[str, float] | None = None
    for name in names:
        entry = entries[name]
        row = {**entry["best"], "side": entry["side"], "params_m": entry["params_m"]}
        base = base or row
        print(
            f"{name:22s} {row['params_m']:9.1f} {row['side']:4.0f} {row['captions_per_s']:11.1f} "
            f"{row['images_per_s']:9.1f} {base['captions_per_s'] / row['captions_per_s']:6.2f}x "
            f"{base['images_per_s'] / row['images_per_s']:7.2f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
