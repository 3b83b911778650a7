"""CLIP: one open_clip model for text and image embeddings, and the ranking of candidates.

The model is named like open_clip names it: a built-in architecture plus a
pretrained tag (``ViT-B-32`` + ``openai``), ``local-dir:/path/to/folder`` (a
folder with ``open_clip_config.json`` and weights) or ``hf-hub:org/name``. The
same wrapper embeds queries for the Open Images cache and for ranking, so both
see the query the same way (``settings.QUERY_PROMPT``).

Ranking (:func:`rank`) is pure numpy so it can be tested with any encoder.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from memer import settings
from memer.candidates import ImageCandidate
from memer.errors import ImageError, ModelError

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from memer.pipeline import ProgressHook

LOCAL_DIR_PREFIX = "local-dir:"
HF_HUB_PREFIX = "hf-hub:"
MODEL_HINT = "Set MEMER_CLIP_MODEL to an open_clip model (e.g. ViT-B-32), local-dir:/path/to/folder or hf-hub:org/name."
OFFLINE_HINT = (
    "If you are offline, download the weights where you have a network, then set MEMER_CLIP_MODEL=local-dir:/path "
    "(a folder with open_clip_config.json and weights) or MEMER_CLIP_PRETRAINED=/path/to/weights file."
)

_loaded: dict[tuple[str, str, str], ClipModel] = {}
_load_lock = threading.Lock()


# --- device choice ------------------------------------------------------------


def choose_device(requested: str, cuda_available: bool) -> tuple[str, str]:
    """(device, open_clip precision): CUDA in float16 when there is one, else CPU in float32."""
    requested = requested.strip().lower()
    if not requested:
        requested = "cuda" if cuda_available else "cpu"
    if requested.startswith("cuda"):
        if not cuda_available:
            raise ModelError(
                f"MEMER_DEVICE={requested} but no CUDA GPU is available.",
                "Leave MEMER_DEVICE empty to pick the GPU when there is one, or set it to cpu.",
            )
        return requested, "fp16"
    return requested, "fp32"


def current_device(requested: str | None = None) -> tuple[str, str]:
    """:func:`choose_device` for this machine and ``settings.DEVICE``."""
    import torch

    return choose_device(settings.DEVICE if requested is None else requested, torch.cuda.is_available())


# --- loading ------------------------------------------------------------------


def load_clip(model: str | None = None, pretrained: str | None = None, device: str | None = None) -> ClipModel:
    """The CLIP model named by the arguments or the settings, loaded once per process.

    ``pretrained`` is only used with a built-in architecture name; empty means
    no weights (random init). ``local-dir:`` and ``hf-hub:`` carry their own.
    """
    model_name = (settings.CLIP_MODEL if model is None else model).strip()
    pretrained = (settings.CLIP_PRETRAINED if pretrained is None else pretrained).strip()
    if not model_name:
        raise ModelError("No CLIP model is set.", MODEL_HINT)
    if model_name.startswith((LOCAL_DIR_PREFIX, HF_HUB_PREFIX)):
        pretrained = ""  # open_clip ignores it for these forms; don't pretend otherwise
    _require_open_clip()
    device_name, precision = current_device(device)
    key = (_identity(model_name), pretrained, device_name)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _load(model_name, pretrained, device_name, precision)
        return _loaded[key]


def _require_open_clip() -> None:
    try:
        for name in ("torch", "open_clip"):
            importlib.import_module(name)
    except ImportError as exc:
        raise ModelError(
            f"CLIP ranking needs open_clip and torch ({exc}).", "Install them with: pip install 'memer[clip]'"
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


def _load(model_name: str, pretrained: str, device: str, precision: str) -> ClipModel:
    from tqdm.auto import tqdm

    description = _describe(model_name, pretrained)
    started = time.perf_counter()
    status = tqdm(total=3, desc=f"Loading CLIP {description} on {device}", unit="step", file=sys.stderr, leave=False)
    try:
        open_clip_name = _check_model_name(model_name, pretrained)
        status.update()
        clip_model, preprocess, tokenizer = _create(open_clip_name, model_name, pretrained, device, precision)
        status.update()
        loaded = ClipModel(
            clip_model,
            preprocess,
            tokenizer,
            model_name=model_name,
            pretrained=pretrained,
            device=device,
            precision=precision,
        )
        status.update()
    finally:
        status.close()
    print(f"Loaded CLIP {description} on {device} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return loaded


def _check_model_name(model_name: str, pretrained: str) -> str:
    """The name to hand open_clip, after checks that give a clear error before any download."""
    import open_clip

    if model_name.startswith(LOCAL_DIR_PREFIX):
        folder = _local_dir(model_name)
        if not folder.is_dir():
            raise ModelError(
                f"CLIP model folder {folder} does not exist.",
                "Check the path in MEMER_CLIP_MODEL=local-dir:/path/to/folder.",
            )
        if not (folder / "open_clip_config.json").is_file():
            raise ModelError(
                f"CLIP model folder {folder} has no open_clip_config.json.",
                "A local-dir model needs open_clip_config.json (model_cfg, preprocess_cfg) and a weights file "
                "(open_clip_model.safetensors or open_clip_pytorch_model.bin), as on the Hugging Face hub.",
            )
        return LOCAL_DIR_PREFIX + str(folder)
    if model_name.startswith(HF_HUB_PREFIX):
        repo = model_name[len(HF_HUB_PREFIX) :]
        from open_clip.pretrained import download_pretrained_from_hf

        try:  # open_clip falls back to random weights when this fails; we'd rather say so
            download_pretrained_from_hf(repo)
        except Exception as exc:
            raise ModelError(f"Could not get the weights of {model_name}: {_first_line(exc)}", OFFLINE_HINT) from exc
        return model_name
    architecture = model_name.replace("/", "-")
    if architecture not in open_clip.list_models():
        raise ModelError(f"{model_name!r} is not an open_clip model.", MODEL_HINT)
    tags = open_clip.list_pretrained_tags_by_model(architecture)
    if pretrained and pretrained not in tags and not Path(pretrained).expanduser().is_file():
        known = ", ".join(tags) or "none"
        raise ModelError(
            f"{pretrained!r} is neither a pretrained tag of {model_name} nor a weights file.",
            f"Set MEMER_CLIP_PRETRAINED to one of: {known}; or to a weights file; or to nothing for random weights.",
        )
    return model_name


def _create(open_clip_name: str, model_name: str, pretrained: str, device: str, precision: str) -> tuple[Any, Any, Any]:
    import open_clip

    weights = (
        str(Path(pretrained).expanduser()) if pretrained and Path(pretrained).expanduser().is_file() else pretrained
    )
    try:
        clip_model, _, preprocess = open_clip.create_model_and_transforms(
            open_clip_name, pretrained=weights or None, device=device, precision=precision
        )
        tokenizer = open_clip.get_tokenizer(open_clip_name)
    except Exception as exc:
        message = f"Could not load CLIP {_describe(model_name, pretrained)}: {_first_line(exc)}"
        if "download" in str(exc).lower() or "hub" in str(exc).lower():
            raise ModelError(message, OFFLINE_HINT) from exc
        raise ModelError(message, MODEL_HINT) from exc
    clip_model.eval()
    return clip_model, preprocess, tokenizer


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


# --- the model ----------------------------------------------------------------


def query_prompt(query: str) -> str:
    """The text a query is embedded as: ``settings.QUERY_PROMPT`` with ``{query}`` filled in."""
    template = settings.QUERY_PROMPT
    query = " ".join(query.split())
    if "{query}" in template:
        return template.replace("{query}", query)
    return f"{template} {query}".strip()


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
        self.dim = int(self.encode_text([""]).shape[1])

    def __repr__(self) -> str:
        return f"ClipModel({_describe(self.model_name, self.pretrained)!r}, device={self.device!r}, dim={self.dim})"

    def encode_text(
        self, texts: Sequence[str], *, batch_size: int | None = None, show_progress: bool = False
    ) -> np.ndarray:
        def encode(batch: Sequence[str]) -> Any:
            return self.model.encode_text(self.tokenizer(list(batch)).to(self.device))

        return self._encode(texts, encode, batch_size, show_progress, "Embedding texts")

    def encode_images(
        self, images: Sequence[Image.Image], *, batch_size: int | None = None, show_progress: bool = False
    ) -> np.ndarray:
        import torch

        dtype = getattr(torch, self.dtype)

        def encode(batch: Sequence[Image.Image]) -> Any:
            pixels = torch.stack([self.preprocess(image.convert("RGB")) for image in batch])
            return self.model.encode_image(pixels.to(self.device, dtype=dtype))

        return self._encode(images, encode, batch_size, show_progress, "Embedding images")

    def encode_query(self, query: str) -> np.ndarray:
        """The query as a visual prompt, shape (dim,): the same for cache search and ranking."""
        return self.encode_text([query_prompt(query)])[0]

    def _encode(
        self,
        items: Sequence[Any],
        encode: Callable[[Sequence[Any]], Any],
        batch_size: int | None,
        show_progress: bool,
        label: str,
    ) -> np.ndarray:
        import numpy as np
        import torch
        from tqdm.auto import tqdm

        size = max(1, batch_size or settings.CLIP_BATCH_SIZE)
        if not items:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        chunks: list[np.ndarray] = []
        starts = range(0, len(items), size)
        with torch.inference_mode():
            for start in tqdm(starts, desc=label, unit="batch", disable=not show_progress or len(starts) < 2):
                features = encode(items[start : start + size]).float()
                features = torch.nn.functional.normalize(features, dim=-1)
                chunks.append(features.cpu().numpy().astype(np.float32, copy=False))
        return np.concatenate(chunks)


# --- ranking (pure) -----------------------------------------------------------

_UNKNOWN_AUTHORS = {"", "unknown", "anonymous", "unknown author", "n/a", "none"}
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp", ".svg")


def attribution_quality(candidate: ImageCandidate) -> tuple[int, ...]:
    """How well a candidate can be credited; a larger tuple is better.

    In order of weight: a free licence; a licence read from the source (better
    than an assumed one, better than none); a named author; a licence URL; a
    file page; the original file's URL.
    """
    if candidate.license.strip():
        licence_known = 1 if candidate.license_assumed else 2
    else:
        licence_known = 0
    return (
        int(candidate.free),
        licence_known,
        int(candidate.author.strip().lower() not in _UNKNOWN_AUTHORS),
        int(bool(candidate.license_url.strip())),
        int(bool(candidate.page_url.strip())),
        int(bool(candidate.original_url.strip())),
    )


def _normal_url(url: str) -> str:
    url = url.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.netloc.lower()}{unquote(parts.path).rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


def _normal_title(title: str) -> str:
    """A file title without namespace, underscores or case, when it names an image file; else ""."""
    name = unquote(title).replace("_", " ").strip().lower()
    for prefix in ("file:", "image:"):
        if name.startswith(prefix):
            name = name[len(prefix) :].strip()
    name = " ".join(name.split())
    return name if name.endswith(_IMAGE_SUFFIXES) else ""


def file_keys(candidate: ImageCandidate) -> dict[str, str]:
    """What identifies the file behind a candidate: two candidates sharing any key are the same file."""
    keys = {
        "same original file": _normal_url(candidate.original_url),
        "same image URL": _normal_url(candidate.image_url),
        "same file page": _normal_url(candidate.page_url),
        "same file name": _normal_title(candidate.title),
    }
    return {reason: key for reason, key in keys.items() if key}


def _same_file(a: dict[str, str], b: dict[str, str]) -> str:
    """The reason two key sets name the same file, or ""."""
    for reason, key in a.items():
        if b.get(reason) == key:
            return reason
    return "same file" if set(a.values()) & set(b.values()) else ""


def rank(
    query_vector: np.ndarray,
    candidates: Sequence[ImageCandidate],
    image_vectors: np.ndarray,
    top_k: int | None = None,
    dedupe_threshold: float | None = None,
) -> tuple[list[ImageCandidate], list[tuple[ImageCandidate, str]]]:
    """Score candidates by cosine similarity with the query; keep the best ``top_k``, duplicates dropped.

    Sets ``candidate.score`` on every candidate. Of a group of duplicates (same
    file, or image cosine >= ``dedupe_threshold``) the better-attributed one
    (:func:`attribution_quality`, then the higher score) stays. Every candidate
    ends up either in the ranked list (best first) or in the dropped list with
    a reason.
    """
    import numpy as np

    top_k = settings.TOP_K if top_k is None else top_k
    threshold = settings.DEDUPE_THRESHOLD if dedupe_threshold is None else dedupe_threshold
    if not candidates:
        return [], []
    vectors = np.asarray(image_vectors, dtype=np.float32)
    query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    if vectors.ndim != 2 or vectors.shape != (len(candidates), query.shape[0]):
        raise ValueError(
            f"need one {query.shape[0]}-dimensional image vector per candidate ({len(candidates)}), got {vectors.shape}"
        )
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    query = query / max(float(np.linalg.norm(query)), 1e-12)
    scores = vectors @ query
    for candidate, score in zip(candidates, scores):
        candidate.score = float(score)

    keys = [file_keys(candidate) for candidate in candidates]
    # The better-attributed first, so that of any duplicates it is the one kept.
    preference = sorted(
        range(len(candidates)), key=lambda i: (attribution_quality(candidates[i]), float(scores[i]), -i), reverse=True
    )
    kept: list[int] = []
    dropped: list[tuple[ImageCandidate, str]] = []
    for i in preference:
        reason = _duplicate_reason(i, kept, candidates, keys, vectors, threshold)
        if reason:
            dropped.append((candidates[i], reason))
        else:
            kept.append(i)

    kept.sort(key=lambda i: (-float(scores[i]), i))
    ranked = [candidates[i] for i in kept[: max(top_k, 0)]]
    for place, i in enumerate(kept[max(top_k, 0) :], start=max(top_k, 0) + 1):
        dropped.append((candidates[i], f"ranked {place}, below the top {top_k} (score {scores[i]:.3f})"))
    return ranked, dropped


def _duplicate_reason(
    i: int,
    kept: Iterable[int],
    candidates: Sequence[ImageCandidate],
    keys: Sequence[dict[str, str]],
    vectors: np.ndarray,
    threshold: float,
) -> str:
    for j in kept:
        original = f'duplicate of "{candidates[j].title}" ({candidates[j].source_name}'
        same = _same_file(keys[i], keys[j])
        if same:
            return f"{original}, {same})"
        similarity = float(vectors[i] @ vectors[j])
        if similarity >= threshold:
            return f"{original}, image similarity {similarity:.2f})"
    return ""


def embed_and_rank(
    clip: ClipModel,
    query: str,
    candidates: Sequence[ImageCandidate],
    *,
    top_k: int | None = None,
    dedupe_threshold: float | None = None,
    progress: ProgressHook | None = None,
) -> tuple[list[ImageCandidate], list[tuple[ImageCandidate, str]]]:
    """Embed downloaded candidates (``candidate.path`` set) and :func:`rank` them against the query.

    A candidate with no file, or one that is not a readable image, is dropped
    with the reason; it never stops the others.
    """
    import numpy as np

    from memer.images import open_image

    dropped: list[tuple[ImageCandidate, str]] = []
    usable = []
    for candidate in candidates:
        if candidate.path is None:
            dropped.append((candidate, "not downloaded"))
        else:
            usable.append(candidate)

    embedded: list[ImageCandidate] = []
    chunks: list[np.ndarray] = []
    size = max(1, settings.CLIP_BATCH_SIZE)
    for start in range(0, len(usable), size):
        if progress:
            progress("Comparing pictures with the query", start / len(usable))
        images, batch = [], []
        for candidate in usable[start : start + size]:
            try:
                images.append(open_image(candidate.path))
                batch.append(candidate)
            except ImageError as exc:
                dropped.append((candidate, f"unreadable image: {exc}"))
        if images:
            chunks.append(clip.encode_images(images))
            embedded.extend(batch)
        for image in images:
            image.close()
    if progress:
        progress("Comparing pictures with the query", 1.0)

    vectors = np.concatenate(chunks) if chunks else np.zeros((0, clip.dim), dtype=np.float32)
    ranked, duplicates = rank(
        clip.encode_query(query), embedded, vectors, top_k=top_k, dedupe_threshold=dedupe_threshold
    )
    return ranked, dropped + duplicates
