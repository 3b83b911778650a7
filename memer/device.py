"""The one device rule for every model and the cache search.

CUDA in float16 when there is a GPU, else the CPU in float32; ``MEMER_DEVICE``
picks one by hand and is checked, so asking for a GPU that is not there is a
clear ``ModelError`` everywhere (CLIP, the local caption model, the Open Images
search and the set-up report), not a crash deep inside torch.
"""

from __future__ import annotations

from typing import Any

from memer import settings
from memer.errors import ModelError


def choose_device(requested: str, cuda_available: bool) -> tuple[str, str]:
    """(device, precision) for a ``MEMER_DEVICE`` value: ``("cuda", "fp16")`` or ``("cpu", "fp32")``."""
    requested = requested.strip().lower()
    if not requested:
        requested = "cuda" if cuda_available else "cpu"
    if requested.startswith("cuda"):
        if not cuda_available:
            raise ModelError(
                f"MEMER_DEVICE={requested} but no CUDA GPU is available.",
                "Leave MEMER_DEVICE empty to pick the GPU when there is one, or set it to cpu.",
                code="config.invalid",
                fix="MEMER_DEVICE",
            )
        return requested, "fp16"
    return requested, "fp32"


def current_device(requested: str | None = None) -> tuple[str, str]:
    """:func:`choose_device` for this machine and ``requested`` (default ``settings.DEVICE``)."""
    import torch

    return choose_device(settings.DEVICE if requested is None else requested, torch.cuda.is_available())


def cuda_device(requested: str | None = None) -> str | None:
    """The CUDA device the same rule picks, or None for the CPU (also when torch is not installed)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    device, _ = current_device(requested)
    return device if device.startswith("cuda") else None


def torch_dtype(device: str) -> Any:
    """float16 on CUDA below compute capability 8.0 (a T4 has no fast bfloat16), bfloat16 from 8.0, float32 on CPU."""
    import torch

    if not str(device).startswith("cuda"):
        return torch.float32
    major, _minor = torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16
