"""The free local engine: a Hugging Face causal language model, N samples from ONE batched ``generate``.

The model (``settings.CAPTION_MODEL``, a hub id or a local folder) is loaded
once per process. Chat models get their chat template and a zero-shot request;
base models (GPT-Neo) a few-shot page. Sampling stops at the first newline.
Safety is the offline word list: the weaker check, and the batch says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memer import settings
from memer.captions.base import Caption, CaptionBatch, CaptionRequest
from memer.captions.cleanup import clean_captions, first_line
from memer.captions.prompts import chat_messages, few_shot_prompt
from memer.captions.safety import WORD_LIST_CHECK, word_list_level
from memer.device import current_device, torch_dtype
from memer.errors import CaptionError, ModelError
from memer.hub import OFFLINE_HINT, offline_if_unreachable, unreachable_message
from memer.progress import Progress
from memer.text import first_line as first_error_line

ENGINE = "local"


@dataclass
class LocalModel:
    name: str
    model: Any  # a transformers PreTrainedModel
    tokenizer: Any
    device: str
    dtype: Any

    @property
    def is_chat(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))


MIN_TEMPERATURE = 0.05
_loaded: dict[tuple[str, str], LocalModel] = {}
_load_lock = threading.Lock()


def _dtype_keyword() -> str:
    """transformers renamed ``torch_dtype`` to ``dtype`` in 4.56."""
    import transformers

    parts = transformers.__version__.split(".")
    major, minor = int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


@contextmanager
def _no_library_bars() -> Iterator[None]:
    """transformers draws its own tqdm bars on stderr while loading; memer reports through its hook instead."""
    from transformers.utils import logging as transformers_logging

    was_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            transformers_logging.enable_progress_bar()


def _is_path(name: str) -> bool:
    """A folder (or what is written as one), not a hub id: the hub is never asked for it."""
    return name.startswith(("/", ".", "~")) or Path(name).expanduser().is_dir()


def load_model(name: str | None = None, device: str | None = None, *, progress: Progress | None = None) -> LocalModel:
    """The model and tokenizer, loaded once per process (per name and device).

    A first load (minutes, with a multi-GB download from the hub) reports through
    ``progress(message, fraction)``; nothing is printed.
    """
    name = name or settings.CAPTION_MODEL
    device, _ = current_device(device)
    with _load_lock:
        cached = _loaded.get((name, device))
        if cached is not None:
            return cached
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise ModelError(
                "the local caption engine needs transformers and torch.",
                "pip install 'memer[local]', or use the OpenAI engine.",
            ) from None
        dtype = torch_dtype(device)
        hub = None
        started = time.perf_counter()
        if progress:
            progress(f"Loading the caption model {name} on {device} (the first time downloads it) …", None)
        try:
            # A hub id with the hub unreachable loads from the local cache only (memer.hub), without retries.
            with _no_library_bars(), nullcontext() if Path(name).is_dir() else offline_if_unreachable() as hub:
                tokenizer = AutoTokenizer.from_pretrained(name)
                model = AutoModelForCausalLM.from_pretrained(name, **{_dtype_keyword(): dtype})
        except (OSError, ValueError, KeyError) as err:
            if hub is not None and not hub.reachable:
                raise ModelError(
                    f"could not load the caption model {name!r}: {unreachable_message(hub)}.",
                    OFFLINE_HINT.replace("a local folder", "a local folder (MEMER_CAPTION_MODEL=/path)"),
                ) from None
            raise ModelError(
                f"could not load the caption model {name!r}: {first_error_line(err, 200)}",
                "Set MEMER_CAPTION_MODEL to a Hugging Face model id (with internet access) or a local folder "
                "holding a causal language model and its tokenizer, or use the OpenAI engine.",
            ) from err
        try:
            model.to(device)
        except RuntimeError as err:  # CUDA out of memory, a broken driver
            raise ModelError(
                f"could not move the caption model to {device}: {first_error_line(err, 200)}",
                "Free GPU memory (restart the runtime), set MEMER_DEVICE=cpu, or use a smaller MEMER_CAPTION_MODEL.",
            ) from err
        model.eval()
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        loaded = LocalModel(name, model, tokenizer, device, dtype)
        _loaded[(name, device)] = loaded
        if progress:
            progress(f"Loaded the caption model {name} on {device} in {time.perf_counter() - started:.1f} s", None)
        return loaded


def build_prompt(local: LocalModel, request: CaptionRequest) -> str:
    """The chat template when the tokenizer has one, else the few-shot page."""
    if local.is_chat:
        return local.tokenizer.apply_chat_template(
            chat_messages(request.theme, request.description, request.style), tokenize=False, add_generation_prompt=True
        )
    return few_shot_prompt(request.theme, request.description, request.style)


def newline_token_ids(tokenizer: Any) -> list[int]:
    """Tokens that are (or end in) a line break, so sampling stops at the end of the caption."""
    ids = set()
    for text in ("\n", "\n\n", "\r\n"):
        encoded = tokenizer.encode(text, add_special_tokens=False)
        if len(encoded) == 1:
            ids.add(encoded[0])
    return sorted(ids)


def sample(local: LocalModel, prompt: str, n: int) -> list[str]:
    """N continuations of ``prompt`` from one batched ``generate`` call (the prompt is encoded once)."""
    import torch

    tokenizer = local.tokenizer
    encoded = tokenizer(prompt, return_tensors="pt", add_special_tokens=not local.is_chat)
    # Only what every causal LM takes: transformers 4.x refuses e.g. token_type_ids in generate.
    inputs = {name: encoded[name].to(local.device) for name in ("input_ids", "attention_mask") if name in encoded}
    stop_ids = [i for i in [tokenizer.eos_token_id, *newline_token_ids(tokenizer)] if i is not None]
    options: dict[str, Any] = dict(
        do_sample=True,
        temperature=max(settings.TEMPERATURE, MIN_TEMPERATURE),  # 0 is fine for OpenAI; sampling needs > 0
        top_p=settings.TOP_P,
        max_new_tokens=max(settings.MAX_NEW_TOKENS, 1),
        num_return_sequences=n,
        eos_token_id=stop_ids,
        pad_token_id=tokenizer.pad_token_id,
        # Also stops on tokens that merely contain a line break (".\n", "!\n" ...).
        stop_strings=["\n"],
        tokenizer=tokenizer,
    )
    with torch.inference_mode():
        output = local.model.generate(**inputs, **options)
    new_tokens = output[:, inputs["input_ids"].shape[1] :]
    return tokenizer.batch_decode(new_tokens, skip_special_tokens=True)


def generate(request: CaptionRequest, *, model: str, progress: Progress | None = None) -> CaptionBatch:
    """N captions from one batched ``generate``, levelled by the offline word list."""
    local = load_model(model, progress=progress)
    prompt = build_prompt(local, request)
    try:
        raw = sample(local, prompt, request.n)
    except (RuntimeError, ValueError) as err:  # CUDA out of memory, settings generate refuses
        raise CaptionError(
            f"the local model failed while writing captions: {first_error_line(err, 200)}",
            "Ask for fewer captions (--n), free GPU memory, or use a smaller MEMER_CAPTION_MODEL.",
        ) from err
    texts, note = clean_captions([first_line(text) for text in raw], request.n)
    captions = [Caption(text, ENGINE, local.name, *word_list_level(text)) for text in texts]
    return CaptionBatch(captions, ENGINE, local.name, WORD_LIST_CHECK, note)
