"""The set-up report: where the notebook runs (Colab or not, GPU or CPU) and what will be downloaded.

The notebook's set-up cell only calls :func:`describe_setup`, so what a user is
told lives here, next to the settings it reads, and is tested like any code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from memer import settings
from memer.captioning.memory import CUDA_CONTEXT_BYTES, MemoryEstimate, estimate
from memer.text import human_size

# Download sizes of the models memer uses by default, as published by their hosts.
KNOWN_CLIP_SIZES = {("ViT-B-32", "openai"): "about 600 MB", ("ViT-B-32", "laion2b_s34b_b79k"): "about 600 MB"}
KNOWN_CAPTION_MODEL_SIZES = {
    "Qwen/Qwen3-VL-2B-Instruct": "about 4.3 GB",
    "Qwen/Qwen2.5-1.5B-Instruct": "about 3.1 GB",
    "Qwen/Qwen2.5-0.5B-Instruct": "about 1 GB",
}


def in_colab() -> bool:
    """True inside Google Colab, whose kernel imports ``google.colab`` at start."""
    return "google.colab" in sys.modules


def where_running() -> str:
    """Google Colab, a Jupyter kernel elsewhere, IPython in a terminal, or plain Python: said as it is."""
    if in_colab():
        return "Google Colab"
    shell = None
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        try:
            shell = ipython.get_ipython()
        except Exception:  # noqa: BLE001 - an odd IPython must not break the report
            shell = None
    if shell is None:
        return "plain Python (not a notebook)"
    if getattr(shell, "kernel", None) is not None:
        return "a Jupyter notebook on this computer (not Colab)"
    return "IPython in a terminal (not a notebook)"


def accelerator() -> str:
    """One line: the GPU the models will use, or why they will run on the CPU."""
    try:
        import torch
    except ImportError:
        return "torch is not installed: CLIP ranking and the local caption model need it (pip install 'memer[all]')."
    from memer.device import current_device
    from memer.errors import ModelError

    try:
        device, _ = current_device()
    except ModelError as err:
        return str(err)
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(device)
        return f"GPU: {props.name} ({props.total_memory / 2**30:.0f} GB); CLIP and the local caption model run on it."
    if torch.cuda.is_available():
        return f"MEMER_DEVICE={settings.DEVICE}: the models run on the CPU although a GPU is there."
    hint = " In Colab: Runtime > Change runtime type > T4 GPU." if in_colab() else ""
    return (
        "No GPU: everything runs on the CPU. Searching takes longer and the local caption model is slow; "
        f"an OpenAI key makes captions fast.{hint}"
    )


def _is_local(model: str) -> bool:
    return model.startswith("local-dir:") or Path(model).expanduser().exists()


def _folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def download_notes() -> list[str]:
    """What memer will fetch on first use, and roughly how big it is."""
    notes = []
    clip_model, pretrained = settings.CLIP_MODEL, settings.CLIP_PRETRAINED
    if _is_local(clip_model):
        notes.append(f"CLIP model: local ({clip_model}), nothing to download.")
    else:
        size = KNOWN_CLIP_SIZES.get((clip_model, pretrained), "size unknown")
        notes.append(f"CLIP model {clip_model} ({pretrained}): {size}, downloaded on the first search.")
    caption_model = _caption_model()
    if _is_local(caption_model):
        notes.append(f"Local caption model: {caption_model}, nothing to download.")
    else:
        size = KNOWN_CAPTION_MODEL_SIZES.get(caption_model, "size unknown")
        notes.append(
            f"Local caption model {caption_model}: {size}, downloaded only when you pick the local engine "
            "(not needed with an OpenAI key)."
        )
    cache_dir = Path(settings.cache_dir())
    if cache_dir.is_dir() and any(cache_dir.iterdir()):
        notes.append(f"Open Images cache: {cache_dir} ({human_size(_folder_size(cache_dir))}), already here.")
    else:
        notes.append(
            f"Open Images cache: not found in {cache_dir}; searches use Wikimedia Commons and Wikipedia "
            "(build it with `memer cache build`)."
        )
    notes.append("Pictures: a few MB per search, from the sources' thumbnail servers.")
    return notes


def _caption_model() -> str:
    from memer.captioning.model_kind import default_caption_model

    return default_caption_model()[0]


def _gb(size: int) -> str:
    return f"{size / 2**30:.1f} GB"


def memory_report(clip: MemoryEstimate, caption: MemoryEstimate, gpu: str | None, gpu_bytes: int | None) -> list[str]:
    """Lines on the memory CLIP and the caption model will take, and a warning when they will not fit the GPU."""
    parts = []
    for what, model in (("CLIP", clip), ("caption model", caption)):
        size = _gb(model.bytes) if model.bytes is not None else "unknown"
        parts.append(f"{what} {model.name}: {size}")
    lines = ["; ".join(parts) + " (estimated from the parameter count, with room for 10 samples)."]
    if clip.bytes is None or caption.bytes is None:
        return lines
    if gpu is None:
        return [*lines, f"On the CPU they take about {_gb(clip.bytes + caption.bytes)} of RAM."]
    need = clip.bytes + caption.bytes + CUDA_CONTEXT_BYTES
    if gpu_bytes is not None and need > gpu_bytes:
        lines.append(
            f"WARNING: CLIP + {caption.name} need about {_gb(need)} but the {gpu} has {_gb(gpu_bytes)}: the caption "
            "model will not fit. Set MEMER_CAPTION_MODEL to a smaller model, use the OpenAI engine, or MEMER_DEVICE=cpu."
        )
    elif gpu_bytes is not None:
        lines.append(f"Together about {_gb(need)} of the {gpu}'s {_gb(gpu_bytes)}: they fit.")
    return lines


def memory_notes() -> list[str]:
    """:func:`memory_report` for this machine's GPU (or CPU) and the configured models."""
    try:
        import torch

        from memer.device import current_device

        device, precision = current_device()
    except Exception:  # noqa: BLE001 - no torch, a broken one, a bad MEMER_DEVICE: accelerator() already says so
        return []
    gpu, total = None, None
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(device)
        gpu, total = props.name, int(props.total_memory)
    clip = estimate(settings.CLIP_MODEL, precision)
    return memory_report(clip, estimate(_caption_model(), precision), gpu, total)


def describe_setup() -> str:
    """The set-up cell's report: where we run, on what, what memory the models take, and what will download."""
    lines = [f"memer is running in {where_running()}.", accelerator()]
    memory = memory_notes()
    if memory:
        lines += ["", "Memory:"] + [f"  - {note}" for note in memory]
    lines += ["", "Downloads:"]
    lines += [f"  - {note}" for note in download_notes()]
    return "\n".join(lines)
