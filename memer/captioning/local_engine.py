"""The free local engine: a Hugging Face model, N samples from ONE batched ``generate``.

The model (``settings.CAPTION_MODEL``, a hub id or a local folder) is loaded
once per process, as what its own config says it is (captions/model_kind.py):
a vision-language model sees the downscaled picture (captions/local_vision.py);
a text-only causal LM reads its description: chat models get their chat
template, base models (GPT-Neo) a few-shot page. Sampling stops at the first
newline. Safety is the trained offline classifier (captions/classifier.py)
and, when the model sees, its own rating of each picture+caption pair
(captions/picture_safety.py). Every ``generate`` is guarded against float16
overflow and retried once in float32 (captions/precision.py).
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
from memer.captioning import local_vision
from memer.captioning.base import Caption, CaptionBatch, CaptionRequest
from memer.captioning.cleanup import clean_captions, first_line
from memer.captioning.model_download import model_folder
from memer.captioning.model_kind import TEXT, VISION, model_kind
from memer.captioning.picture_safety import checked_levels
from memer.captioning.precision import guarded, run_safely
from memer.captioning.prompts import chat_messages, few_shot_prompt
from memer.captioning.safety import language_note
from memer.device import current_device, torch_dtype
from memer.errors import CaptionError, ModelError
from memer.hub import OFFLINE_HINT, offline_if_unreachable, unreachable_message
from memer.model_code import check_transformers_folder, never_ask
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
    kind: str = TEXT  # VISION: sees the picture through ``processor``
    processor: Any = None
    precision_note: str = ""  # set when float16 overflowed and the model moved to float32 (captions/precision.py)

    @property
    def is_chat(self) -> bool:
        return self.kind == VISION or bool(getattr(self.tokenizer, "chat_template", None))

    @property
    def sees_pictures(self) -> bool:
        return self.kind == VISION


MIN_TEMPERATURE = 0.05
_loaded: dict[tuple[str, str], LocalModel] = {}
_load_lock = threading.Lock()


def _dtype_keyword() -> str:
    """transformers renamed ``torch_dtype`` to ``dtype`` in 4.56."""
    from memer.captioning.model_kind import transformers_version

    return "dtype" if transformers_version() >= (4, 56) else "torch_dtype"


def _load_weights(folder: str, dtype: Any) -> tuple[str, Any, Any, Any]:
    """(kind, model, tokenizer, processor) for the model in ``folder``, chosen by its config.

    A folder whose configs ask for its own code is refused first (memer.model_code); every
    load also says ``trust_remote_code=False``, and transformers may not ask stdin meanwhile.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    check_transformers_folder(folder, "The caption model")
    no_code = {"trust_remote_code": False}
    with never_ask():
        kind = model_kind(AutoConfig.from_pretrained(folder, **no_code))
        if kind == VISION:
            from transformers import AutoModelForImageTextToText, AutoProcessor

            processor = AutoProcessor.from_pretrained(folder, **no_code)
            model = AutoModelForImageTextToText.from_pretrained(
                folder, attn_implementation="sdpa", **no_code, **{_dtype_keyword(): dtype}
            )
            return kind, model, processor.tokenizer, processor
        tokenizer = AutoTokenizer.from_pretrained(folder, **no_code)
        model = AutoModelForCausalLM.from_pretrained(folder, **no_code, **{_dtype_keyword(): dtype})
        return kind, model, tokenizer, None


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
    from memer.captioning.model_kind import default_caption_model

    name = name or default_caption_model()[0]
    device, _ = current_device(device)
    with _load_lock:
        cached = _loaded.get((name, device))
        if cached is not None:
            return cached
        try:
            import transformers  # noqa: F401
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
            with _no_library_bars(), nullcontext() if _is_path(name) else offline_if_unreachable() as hub:
                folder = model_folder(name, progress)
                kind, model, tokenizer, processor = _load_weights(folder, dtype)
        except ModelError:
            raise
        except Exception as err:  # OSError, ValueError, the hub's errors: all mean the model is not usable
            if isinstance(err, MemoryError):
                raise
            if hub is not None and not hub.reachable:
                raise ModelError(
                    f"could not load the caption model {name!r}: {unreachable_message(hub)}.",
                    OFFLINE_HINT.replace("a local folder", "a local folder (MEMER_CAPTION_MODEL=/path)"),
                ) from None
            raise ModelError(
                f"could not load the caption model {name!r}: {first_error_line(err, 200)}",
                "Set MEMER_CAPTION_MODEL to a Hugging Face model id (with internet access) or a local folder "
                "holding a vision-language or causal language model and its tokenizer, or use the OpenAI engine.",
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
        loaded = LocalModel(name, model, tokenizer, device, dtype, kind, processor)
        _loaded[(name, device)] = loaded
        if progress:
            progress(f"Loaded the caption model {name} on {device} in {time.perf_counter() - started:.1f} s", None)
        return loaded


def build_prompt(local: LocalModel, request: CaptionRequest) -> str:
    """The chat template when the tokenizer has one, else the few-shot page."""
    if local.is_chat:
        return local.tokenizer.apply_chat_template(
            chat_messages(request.theme, request.description, request.style, request.language),
            tokenize=False,
            add_generation_prompt=True,
        )
    return few_shot_prompt(request.theme, request.description, request.style, request.language)


def newline_token_ids(tokenizer: Any) -> list[int]:
    """Tokens that are (or end in) a line break, so sampling stops at the end of the caption."""
    ids = set()
    for text in ("\n", "\n\n", "\r\n"):
        encoded = tokenizer.encode(text, add_special_tokens=False)
        if len(encoded) == 1:
            ids.add(encoded[0])
    return sorted(ids)


def sampling_options(tokenizer: Any, n: int) -> dict[str, Any]:
    """What ``generate`` gets for N one-line captions: sampling, N sequences, stop at the first line break."""
    stop_ids = [i for i in [tokenizer.eos_token_id, *newline_token_ids(tokenizer)] if i is not None]
    return dict(
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


def run_generate(local: LocalModel, inputs: dict[str, Any], options: dict[str, Any]) -> list[str]:
    """ONE ``generate`` call; the decoded new tokens of every returned sequence."""
    import torch

    with torch.inference_mode():
        output = local.model.generate(**inputs, **guarded(options))
    new_tokens = output[:, inputs["input_ids"].shape[1] :]
    return local.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)


def sample(local: LocalModel, prompt: str, n: int) -> list[str]:
    """N continuations of ``prompt`` from one batched ``generate`` call (the prompt is encoded once)."""
    encoded = local.tokenizer(prompt, return_tensors="pt", add_special_tokens=not local.is_chat)
    # Only what every causal LM takes: transformers 4.x refuses e.g. token_type_ids in generate.
    inputs = {name: encoded[name].to(local.device) for name in ("input_ids", "attention_mask") if name in encoded}
    return run_generate(local, inputs, sampling_options(local.tokenizer, n))


def sample_vision(local: LocalModel, request: CaptionRequest, n: int) -> list[str]:
    """N captions of the picture from one ``generate``: the picture and the prompt are encoded once, N samples follow.

    The prompt (with the picture) is run once and its key/value cache copied N
    times (local_vision.shared_prefix); where this transformers cannot continue
    from such a cache, ``num_return_sequences`` does the same in one call.
    """
    inputs = local_vision.caption_inputs(local, request, settings.LOCAL_VISION_SIZE)
    options = sampling_options(local.tokenizer, n)
    if n > 1 and "pixel_values" in inputs:
        try:
            prefixed = local_vision.shared_prefix(local.model, inputs, n)
        except (TypeError, ValueError, AttributeError, KeyError, NotImplementedError):
            prefixed = None  # an older or different model class: the plain batch below
        if prefixed is not None:
            return run_generate(local, prefixed, {**options, "num_return_sequences": 1})
    return run_generate(local, inputs, options)


def seed_sampling(seed: int | None) -> None:
    """The same seed gives the same samples on the same machine (torch seeds the CPU and every GPU)."""
    if seed is None:
        return
    import torch

    torch.manual_seed(seed)


def generate(request: CaptionRequest, *, model: str, progress: Progress | None = None) -> CaptionBatch:
    """N captions from one batched ``generate``, levelled by the offline classifier and the picture+caption check."""
    local = load_model(model, progress=progress)

    def write() -> list[str]:
        seed_sampling(request.seed)  # again before a retry in float32: the same seed, the same draw
        if local.sees_pictures:
            return sample_vision(local, request, request.n)
        return sample(local, build_prompt(local, request), request.n)

    try:
        raw, precision_note = run_safely(local, write, what="writing captions")
    except (RuntimeError, ValueError) as err:  # CUDA out of memory, settings generate refuses
        raise CaptionError(
            f"the local model failed while writing captions: {first_error_line(err, 200)}",
            "Ask for fewer captions (--n), free GPU memory, or use a smaller MEMER_CAPTION_MODEL.",
        ) from err
    texts, note = clean_captions([first_line(text) for text in raw], request.n, request.language)
    levels, check, safety_note = checked_levels(local, request.image, texts)
    check = language_note(check, request.language, multilingual=False)
    captions = [
        Caption(text, ENGINE, local.name, level, categories) for text, (level, categories) in zip(texts, levels)
    ]
    # A switch to float32 while describing the picture (whose note no face shows) is said here too.
    precision_note = precision_note or local.precision_note
    note = " ".join(part for part in (note, precision_note, safety_note) if part)
    return CaptionBatch(captions, ENGINE, local.name, check, note, request.description)
