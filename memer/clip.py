"""CLIP: one open_clip model for text and image embeddings.

The model is named like open_clip names it: a built-in architecture plus a
pretrained tag (``ViT-B-32`` + ``openai``), ``local-dir:/path/to/folder`` (a
folder with ``open_clip_config.json`` and weights) or ``hf-hub:org/name``. The
same wrapper embeds queries for the Open Images cache and for ranking, so both
see the query the same way (``settings.QUERY_PROMPT``).

Ranking lives in :mod:`memer.rank` (pure numpy); the pipeline joins the two.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memer import settings
from memer.device import current_device
from memer.errors import ModelError
from memer.hub import OFFLINE_HINT as HUB_OFFLINE_HINT
from memer.hub import hub_status, offline_if_unreachable, unreachable_message
from memer.model_code import check_open_clip_config, never_ask, read_config, uses_hf_tokenizer
from memer.progress import Progress, silent
from memer.text import collapse_whitespace, first_line

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

LOCAL_DIR_PREFIX = "local-dir:"
HF_HUB_PREFIX = "hf-hub:"
MODEL_HINT = "Set MEMER_CLIP_MODEL to an open_clip model (e.g. ViT-B-32), local-dir:/path/to/folder or hf-hub:org/name."
OFFLINE_HINT = (
    "If you are offline, download the weights where you have a network, then set MEMER_CLIP_MODEL=local-dir:/path "
    "(a folder with open_clip_config.json and weights) or MEMER_CLIP_PRETRAINED=/path/to/weights file."
)
HUB_HINT = HUB_OFFLINE_HINT.replace("a local folder", "a local folder (MEMER_CLIP_MODEL=local-dir:/path)")

_loaded: dict[tuple[str, str, str], ClipModel] = {}
_load_lock = threading.Lock()


# --- loading ------------------------------------------------------------------


def load_clip(
    model: str | None = None,
    pretrained: str | None = None,
    device: str | None = None,
    *,
    progress: Progress | None = None,
) -> ClipModel:
    """The CLIP model named by the arguments or the settings, loaded once per process.

    ``pretrained`` is only used with a built-in architecture name; empty means
    no weights (random init). ``local-dir:`` and ``hf-hub:`` carry their own.
    A first load reports through ``progress(message, fraction)``; nothing is printed.
    """
    model_name = (settings.CLIP_MODEL if model is None else model).strip()
    pretrained = (settings.CLIP_PRETRAINED if pretrained is None else pretrained).strip()
    if not model_name:
        raise ModelError("No CLIP model is set.", MODEL_HINT, code="model.clip_failed", fix="MEMER_CLIP_MODEL")
    if model_name.startswith((LOCAL_DIR_PREFIX, HF_HUB_PREFIX)):
        pretrained = ""  # open_clip ignores it for these forms; don't pretend otherwise
    if _needs_hub(model_name, pretrained):  # ask the hub while torch imports: its answer is ready when needed
        threading.Thread(target=hub_status, name="memer-hub-check", daemon=True).start()
    _require_open_clip()
    device_name, precision = current_device(device)
    key = (_identity(model_name), pretrained, device_name)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _load(model_name, pretrained, device_name, precision, progress or silent)
        return _loaded[key]


def _require_open_clip() -> None:
    try:
        for name in ("torch", "open_clip"):
            importlib.import_module(name)
    except ImportError as exc:
        raise ModelError(
            f"CLIP ranking needs open_clip and torch ({exc}).",
            "Install them with: pip install 'memer[clip]'",
            code="model.clip_failed",
        ) from exc


def forget_loaded_models() -> None:
    """Drop every loaded model (frees memory; the next :func:`load_clip` loads afresh)."""
    with _load_lock:
        _loaded.clear()


def _identity(model_name: str) -> str:
    if model_name.startswith(LOCAL_DIR_PREFIX):
        return LOCAL_DIR_PREFIX + str(_local_dir(model_name).resolve())
    return model_name


def _local_dir(model_name: str) -> Path:
    return Path(model_name[len(LOCAL_DIR_PREFIX) :]).expanduser()


def _describe(model_name: str, pretrained: str) -> str:
    return f"{model_name} ({pretrained})" if pretrained else model_name


def _load(model_name: str, pretrained: str, device: str, precision: str, progress: Progress) -> ClipModel:
    description = _describe(model_name, pretrained)
    started = time.perf_counter()
    progress(f"Loading CLIP {description} on {device} …", 0.0)
    if not _needs_hub(model_name, pretrained):
        open_clip_name = _check_model_name(model_name, pretrained)
        progress(f"Loading CLIP {description} on {device} (weights) …", 1 / 3)
        clip_model, preprocess, tokenizer = _create(open_clip_name, model_name, pretrained, device, precision)
    else:
        if not model_name.startswith(HF_HUB_PREFIX):  # a bad name or tag is said before the hub is asked
            _check_model_name(model_name, pretrained)
        failure = None
        with offline_if_unreachable() as hub:
            try:
                open_clip_name = _check_model_name(model_name, pretrained)  # hf-hub: fetches the weights
                progress(f"Loading CLIP {description} on {device} (weights) …", 1 / 3)
                clip_model, preprocess, tokenizer = _create(open_clip_name, model_name, pretrained, device, precision)
            except ModelError:
                if hub.reachable:
                    raise
                failure = ModelError(f"Could not load CLIP {description}: {unreachable_message(hub)}.", HUB_HINT)
        if failure is not None:  # raised outside the handler: the libraries' retries and paths stay out of it
            raise failure
    progress(f"Loading CLIP {description} on {device} (ready check) …", 2 / 3)
    loaded = ClipModel(
        clip_model,
        preprocess,
        tokenizer,
        model_name=model_name,
        pretrained=pretrained,
        device=device,
        precision=precision,
    )
    progress(f"Loaded CLIP {description} on {device} in {time.perf_counter() - started:.1f} s", 1.0)
    return loaded


def _needs_hub(model_name: str, pretrained: str) -> bool:
    """Whether loading asks the Hugging Face hub: hf-hub: models and pretrained tags (not local folders or files)."""
    if model_name.startswith(LOCAL_DIR_PREFIX):
        return False
    if model_name.startswith(HF_HUB_PREFIX):
        return True
    return bool(pretrained) and not Path(pretrained).expanduser().is_file()


def _check_model_name(model_name: str, pretrained: str) -> str:
    """The name to hand open_clip, after checks that give a clear error before any download."""
    import open_clip

    if model_name.startswith(LOCAL_DIR_PREFIX):
        folder = _local_dir(model_name)
        if not folder.is_dir():
            raise ModelError(
                f"CLIP model folder {folder} does not exist.",
                "Check the path in MEMER_CLIP_MODEL=local-dir:/path/to/folder.",
                code="model.clip_failed",
                fix="MEMER_CLIP_MODEL",
            )
        if not (folder / "open_clip_config.json").is_file():
            raise ModelError(
                f"CLIP model folder {folder} has no open_clip_config.json.",
                "A local-dir model needs open_clip_config.json (model_cfg, preprocess_cfg) and a weights file "
                "(open_clip_model.safetensors or open_clip_pytorch_model.bin), as on the Hugging Face hub.",
                code="model.clip_failed",
                fix="MEMER_CLIP_MODEL",
            )
        # Its HF tokenizer is read from the folder itself: a config asking for the folder's code is refused here.
        check_open_clip_config(_open_clip_config(model_name), str(folder), tokenizer_folder=folder)
        return LOCAL_DIR_PREFIX + str(folder)
    if model_name.startswith(HF_HUB_PREFIX):
        repo = model_name[len(HF_HUB_PREFIX) :]
        from open_clip.pretrained import download_pretrained_from_hf

        try:  # open_clip falls back to random weights when this fails; we'd rather say so
            download_pretrained_from_hf(repo)
        except Exception as exc:
            raise ModelError(
                f"Could not get the weights of {model_name}: {first_line(exc)}",
                OFFLINE_HINT,
                code="model.offline",
                fix="MEMER_CLIP_MODEL",
            ) from exc
        check_open_clip_config(_open_clip_config(model_name), model_name)
        return model_name
    architecture = model_name.replace("/", "-")
    if architecture not in open_clip.list_models():
        raise ModelError(
            f"{model_name!r} is not an open_clip model.", MODEL_HINT, code="model.clip_failed", fix="MEMER_CLIP_MODEL"
        )
    tags = open_clip.list_pretrained_tags_by_model(architecture)
    if pretrained and pretrained not in tags and not Path(pretrained).expanduser().is_file():
        known = ", ".join(tags) or "none"
        raise ModelError(
            f"{pretrained!r} is neither a pretrained tag of {model_name} nor a weights file.",
            f"Set MEMER_CLIP_PRETRAINED to one of: {known}; or to a weights file; or to nothing for random weights.",
            code="model.clip_failed",
            fix="MEMER_CLIP_PRETRAINED",
        )
    return model_name


def _open_clip_config(model_name: str) -> dict[str, Any]:
    """The open_clip config memer hands open_clip: the folder's or the hub repo's file, or the built-in one.

    A hub repo without one is ``{}`` (open_clip then takes the repo's HF tokenizer).
    """
    import open_clip

    if model_name.startswith(LOCAL_DIR_PREFIX):
        path = _local_dir(model_name) / "open_clip_config.json"
    elif model_name.startswith(HF_HUB_PREFIX):
        from open_clip.pretrained import download_pretrained_from_hf

        try:
            path = Path(download_pretrained_from_hf(model_name[len(HF_HUB_PREFIX) :], "open_clip_config.json"))
        except Exception:  # noqa: BLE001 - no config in the repo: open_clip falls back to its tokenizer
            return {}
    else:
        return {"model_cfg": open_clip.get_model_config(model_name.replace("/", "-")) or {}}
    try:
        return read_config(path) or {}
    except ModelError as exc:
        raise ModelError(
            f"Could not load CLIP {model_name}: {exc.message}.",
            MODEL_HINT,
            code="model.clip_failed",
            fix="MEMER_CLIP_MODEL",
        ) from None


def _tokenizer_options(open_clip_name: str) -> dict[str, Any]:
    """``trust_remote_code=False`` for an HF tokenizer (open_clip's own tokenizers take no such option)."""
    config = _open_clip_config(open_clip_name)
    hub_fallback = open_clip_name.startswith(HF_HUB_PREFIX) and not config.get("model_cfg")
    return {"trust_remote_code": False} if hub_fallback or uses_hf_tokenizer(config) else {}


def _create(open_clip_name: str, model_name: str, pretrained: str, device: str, precision: str) -> tuple[Any, Any, Any]:
    import open_clip

    weights = (
        str(Path(pretrained).expanduser()) if pretrained and Path(pretrained).expanduser().is_file() else pretrained
    )
    tokenizer_options = _tokenizer_options(open_clip_name)
    try:
        with never_ask():  # an HF text tower is loaded without trust_remote_code: transformers must not ask stdin
            clip_model, _, preprocess = open_clip.create_model_and_transforms(
                open_clip_name, pretrained=weights or None, device=device, precision=precision
            )
            tokenizer = open_clip.get_tokenizer(open_clip_name, **tokenizer_options)
    except Exception as exc:
        message = f"Could not load CLIP {_describe(model_name, pretrained)}: {first_line(exc)}"
        if "download" in str(exc).lower() or "hub" in str(exc).lower():
            raise ModelError(message, OFFLINE_HINT, code="model.offline", fix="MEMER_CLIP_MODEL") from exc
        raise ModelError(message, MODEL_HINT, code="model.clip_failed", fix="MEMER_CLIP_MODEL") from exc
    clip_model.eval()
    return clip_model, preprocess, tokenizer


# --- the model ----------------------------------------------------------------


def query_prompt(query: str) -> str:
    """The text a query is embedded as: ``settings.QUERY_PROMPT`` with ``{query}`` filled in."""
    template = settings.QUERY_PROMPT
    query = collapse_whitespace(query)
    if "{query}" in template:
        return template.replace("{query}", query)
    return f"{template} {query}".strip()


def _input_side(model: Any) -> int:
    """The shorter side of the pictures the model's vision tower takes (224 for ViT-B-32), 0 when it does not say."""
    size = getattr(getattr(model, "visual", None), "image_size", None)
    sides = size if isinstance(size, (tuple, list)) else (size,)
    return min((int(side) for side in sides if isinstance(side, int) and side > 0), default=0)


def reduced_for(image: Image.Image, side: int) -> Image.Image:
    """``image`` box-reduced by the largest whole factor that keeps its shorter side at least ``2 * side`` (a model
    input of ``side`` pixels), over a centred box of whole blocks so the picture's geometry is kept.

    The preprocessing's bicubic resize of a full photo costs more than a small model's pass (13 ms of a 1600 px
    photo for ViT-B-32; 1.3 ms of a 3.7 ms caption ranking with a tiny model). What is left is at least a 2x
    bicubic step, Pillow's reducing_gap 2: on a grainy 4000x3000 photo the pixels CLIP sees differ by 0.2 grey
    levels on average (tests/test_clip.py)."""
    factor = min(image.size) // (2 * side) if side > 0 else 1  # a model that does not say its input: as is
    if factor < 2:
        return image
    width, height = image.size
    left, top = width % factor // 2, height % factor // 2
    return image.reduce(factor, (left, top, left + width - width % factor, top + height - height % factor))


class ClipModel:
    """A loaded open_clip model; every vector it returns is float32 and unit length."""

    def __init__(
        self,
        model: Any,
        preprocess: Any,
        tokenizer: Any,
        *,
        model_name: str,
        pretrained: str,
        device: str,
        precision: str = "fp32",
    ) -> None:
        self.model = model
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.model_name = model_name
        self.pretrained = pretrained
        self.device = device
        self.dtype = "float16" if precision == "fp16" else "float32"  # what images are fed in as
        self.input_side = _input_side(model)
        self.dim = int(self.encode_text([""]).shape[1])

    def __repr__(self) -> str:
        return f"ClipModel({_describe(self.model_name, self.pretrained)!r}, device={self.device!r}, dim={self.dim})"

    def encode_text(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        def encode(batch: Sequence[str]) -> Any:
            return self.model.encode_text(self.tokenizer(list(batch)).to(self.device))

        return self._encode(texts, encode, batch_size)

    def encode_images(self, images: Sequence[Image.Image], *, batch_size: int | None = None) -> np.ndarray:
        import torch

        dtype = getattr(torch, self.dtype)

        def encode(batch: Sequence[Image.Image]) -> Any:
            pixels = torch.stack(
                [self.preprocess(reduced_for(image.convert("RGB"), self.input_side)) for image in batch]
            )
            return self.model.encode_image(pixels.to(self.device, dtype=dtype))

        return self._encode(images, encode, batch_size)

    def encode_query(self, query: str) -> np.ndarray:
        """The query as a visual prompt, shape (dim,): the same for cache search and ranking."""
        return self.encode_text([query_prompt(query)])[0]

    def _encode(
        self, items: Sequence[Any], encode: Callable[[Sequence[Any]], Any], batch_size: int | None
    ) -> np.ndarray:
        import numpy as np
        import torch

        size = max(1, batch_size or settings.CLIP_BATCH_SIZE)
        if not items:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        chunks: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(items), size):
                features = encode(items[start : start + size]).float()
                features = torch.nn.functional.normalize(features, dim=-1)
                chunks.append(features.cpu().numpy().astype(np.float32, copy=False))
        return np.concatenate(chunks)
