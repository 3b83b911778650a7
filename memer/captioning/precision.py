"""T4-safe local generation: when float16 overflows, retry once in float32, within the promised memory.

Qwen-family models overflow in float16, which a T4 (compute capability 7.5,
no fast bfloat16) must use: their activations pass 65504, the scores become
inf or NaN, and ``generate`` fails with "probability tensor contains either
inf, nan or element < 0" (or, greedy, writes gibberish; QwenLM/Qwen3-VL #44,
#299, huggingface/transformers #33294). memer guards every local ``generate``
with :class:`FiniteScores`, which stops it at the first non-finite score (on a
GPU, before ``torch.multinomial`` would trip a device-side assert that kills
the CUDA context). :func:`run_safely` then moves the model to float32 — once,
for the rest of the process — if its estimate fits the GPU beside CLIP, as
the set-up report counts memory (captioning/memory.py), and runs the call
again; otherwise a one-line ``CaptionError`` (code ``caption.overflow``) says
what to do. Gibberish that stays finite cannot be told from a bad caption.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from memer import settings
from memer.captioning.memory import CUDA_CONTEXT_BYTES, float32_bytes, gpu_room
from memer.errors import CaptionError
from memer.text import first_line

T = TypeVar("T")

# torch.multinomial's own words when the scores it samples from are inf or NaN (CPU; CUDA asserts instead).
PROBABILITY_ERROR = "probability tensor contains either"
OVERFLOW_HINT = (
    "Use a smaller MEMER_CAPTION_MODEL, free GPU memory (restart the runtime), set MEMER_DEVICE=cpu (slow, "
    "float32), or use the OpenAI engine."
)
_convert_lock = threading.Lock()


class NonFiniteScores(RuntimeError):
    """The model's next-token scores held inf or NaN: its numbers overflowed."""


def finite_scores_processor() -> Any:
    """A transformers ``LogitsProcessor`` that raises :class:`NonFiniteScores` on NaN, +inf or a row of all -inf.

    -inf alone is legitimate (tokens masked out); a row with nothing but -inf, a NaN or a +inf is not.
    """
    import torch
    from transformers import LogitsProcessor

    class FiniteScores(LogitsProcessor):
        def __call__(self, input_ids: Any, scores: Any) -> Any:
            bad = torch.isnan(scores).any() | torch.isposinf(scores).any() | torch.isneginf(scores).all(-1).any()
            if bool(bad):
                raise NonFiniteScores(f"{PROBABILITY_ERROR} `inf`, `nan` (the model's scores overflowed)")
            return scores

    return FiniteScores()


def guarded(options: dict[str, Any]) -> dict[str, Any]:
    """``generate`` options with the finite-scores guard added to any logits processors already there."""
    from transformers import LogitsProcessorList

    processors = LogitsProcessorList(options.get("logits_processor") or [])
    processors.append(finite_scores_processor())
    return {**options, "logits_processor": processors}


def is_overflow(err: BaseException) -> bool:
    """The guard's error, or torch's own when a generate ran without it."""
    return isinstance(err, NonFiniteScores) or (isinstance(err, RuntimeError) and PROBABILITY_ERROR in str(err))


def _gb(size: int) -> str:
    return f"{size / 2**30:.1f} GB"


def _precision_name(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")


def _overflow_error(local: Any, was: Any, why: str) -> CaptionError:
    return CaptionError(
        f"the local model {local.name} overflowed in {_precision_name(was)} (inf/NaN scores, as Qwen-family "
        f"models do on a T4) and cannot move to float32: {why}.",
        OVERFLOW_HINT,
        code="caption.overflow",
        fix="MEMER_CAPTION_MODEL",
    )


def check_float32_room(local: Any, parameters: int) -> int:
    """The float32 estimate in bytes; ``CaptionError`` when it does not fit where the set-up report said.

    The report promises CLIP + the caption model + the CUDA context within the GPU's memory
    (setup.memory_report); the same sum with the caption model in float32 must fit, and the
    GPU must have the extra bytes free now (the model grows in place).
    """
    need = float32_bytes(parameters)
    if not str(local.device).startswith("cuda"):
        return need  # the CPU runs float32 already; a float16 model there (only by hand) converts in RAM
    import torch

    from memer.captioning.memory import estimate

    room = gpu_room(
        int(torch.cuda.get_device_properties(local.device).total_memory), estimate(settings.CLIP_MODEL, "fp16")
    )
    if need > room:
        why = (
            f"float32 needs about {_gb(need)}, more than the {_gb(max(room, 0))} this GPU has beside CLIP "
            f"and the CUDA context ({_gb(CUDA_CONTEXT_BYTES)})"
        )
        raise _overflow_error(local, local.dtype, why)
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info(local.device)
    extra = parameters * (4 - torch.finfo(local.dtype).bits // 8)
    if extra > free:
        raise _overflow_error(local, local.dtype, f"it needs {_gb(extra)} more GPU memory, and {_gb(free)} is free")
    return need


def to_float32(local: Any) -> str:
    """Move the loaded model to float32 for the rest of the process; the note that says so."""
    import torch

    with _convert_lock:
        was = local.dtype
        if was == torch.float32:
            return ""
        parameters = sum(p.numel() for p in local.model.parameters())
        need = check_float32_room(local, parameters)
        try:
            local.model.to(torch.float32)
        except RuntimeError as err:  # CUDA out of memory halfway: back to where it was, then say so
            local.model.to(was)
            raise _overflow_error(local, was, first_line(err, 160)) from err
        local.dtype = torch.float32
        local.precision_note = (
            f"{local.name} runs in float32 for this session: it overflowed in {_precision_name(was)} (inf/NaN scores)."
        )
    return (
        f"{local.name} overflowed in {_precision_name(was)} (inf/NaN scores, as Qwen-family models do on a T4): "
        f"memer moved it to float32 (about {_gb(need)}) for this session and ran it again."
    )


def run_safely(local: Any, run: Callable[[], T], *, what: str) -> tuple[T, str]:
    """``run()`` (a guarded generate on ``local``), retried once in float32 if it overflowed; (result, note).

    ``what`` names the work in the error ("writing captions"). Any other error passes through untouched.
    """
    try:
        return run(), ""
    except RuntimeError as err:
        if not is_overflow(err):
            raise
        first = err
    import torch

    if local.dtype == torch.float32:
        raise CaptionError(
            f"the local model {local.name} wrote inf/NaN scores while {what}, in float32: its weights may be damaged.",
            "Delete its download and fetch it again, or set MEMER_CAPTION_MODEL to another model.",
            code="caption.overflow",
            fix="MEMER_CAPTION_MODEL",
        ) from first
    note = to_float32(local)
    try:
        return run(), note
    except RuntimeError as err:
        if not is_overflow(err):
            raise
        raise CaptionError(
            f"the local model {local.name} wrote inf/NaN scores while {what}, even after moving to float32.",
            "Delete its download and fetch it again, or set MEMER_CAPTION_MODEL to another model.",
            code="caption.overflow",
            fix="MEMER_CAPTION_MODEL",
        ) from err
