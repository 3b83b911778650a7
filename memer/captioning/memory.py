"""How much GPU memory a model will take, estimated before it is loaded.

Parameters × bytes per parameter (2 in float16 / bfloat16, 4 in float32) plus
a margin for activations and the key/value cache of ten samples. The
parameter count comes from the model's own config (built on torch's ``meta``
device: no weights are read or downloaded) when the config is on this machine
(a local folder, or the hub cache), else from ``settings.MODEL_PARAMETERS_B``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memer import settings
from memer.model_code import never_ask

ACTIVATION_MARGIN = 1.2  # × the weights: activations, the KV cache of 10 short samples, allocator slack
CUDA_CONTEXT_BYTES = 500 * 2**20  # what the CUDA context and kernels take once per process


@dataclass
class MemoryEstimate:
    name: str
    parameters: int | None  # None: unknown
    bytes_per_parameter: int
    source: str  # "config" or "table" (or "unknown")

    @property
    def bytes(self) -> int | None:
        if self.parameters is None:
            return None
        return int(self.parameters * self.bytes_per_parameter * ACTIVATION_MARGIN)


def bytes_per_parameter(precision: str) -> int:
    return 4 if precision == "fp32" else 2


def parameters_from_config(name: str) -> int | None:
    """The parameter count of the model ``name`` from its config alone, or None when the config is not here."""
    try:
        import torch
        from transformers import AutoConfig
    except Exception:  # noqa: BLE001 - not installed, or a broken install: no estimate from the config
        return None
    from memer.captioning.model_kind import VISION, model_kind

    local = Path(name).expanduser()
    no_code = {"trust_remote_code": False}  # a config asking for its folder's code gives no estimate, never a run
    try:
        with never_ask():
            config = (
                AutoConfig.from_pretrained(str(local), **no_code)
                if local.is_dir()
                else AutoConfig.from_pretrained(name, local_files_only=True, **no_code)
            )
            kind = model_kind(config)
            auto_class: Any  # imported only where needed: older transformers lack the vision one
            if kind == VISION:
                from transformers import AutoModelForImageTextToText as auto_class
            else:
                from transformers import AutoModelForCausalLM as auto_class
            with torch.device("meta"):
                model = auto_class.from_config(config, **no_code)
    except Exception:  # noqa: BLE001 - no config here, or one this transformers cannot build: fall back to the table
        return None
    return sum(p.numel() for p in model.parameters())


def estimate(name: str, precision: str) -> MemoryEstimate:
    """The estimate for model ``name`` in ``precision`` ("fp16" or "fp32")."""
    per = bytes_per_parameter(precision)
    counted = parameters_from_config(name)
    if counted is not None:
        return MemoryEstimate(name, counted, per, "config")
    billions = settings.MODEL_PARAMETERS_B.get(name)
    if billions is not None:
        return MemoryEstimate(name, int(billions * 1e9), per, "table")
    return MemoryEstimate(name, None, per, "unknown")


def float32_bytes(parameters: int) -> int:
    """What a model of ``parameters`` takes in float32, counted as :class:`MemoryEstimate` counts it."""
    return MemoryEstimate("", parameters, bytes_per_parameter("fp32"), "count").bytes or 0


def gpu_room(gpu_bytes: int, clip: MemoryEstimate) -> int:
    """Bytes left for the caption model on a GPU of ``gpu_bytes``: the set-up report's sum, CLIP and the context taken."""
    return gpu_bytes - (clip.bytes or 0) - CUDA_CONTEXT_BYTES
