"""Rank candidates against a query by CLIP similarity, one copy of each file kept.

Pure numpy over vectors any encoder made: the pipeline embeds (``memer.clip``),
this module only compares. Of duplicates, the better-credited copy stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from memer import settings
from memer.candidates import ImageCandidate
from memer.text import IMAGE_SUFFIXES, collapse_whitespace, strip_namespace

if TYPE_CHECKING:
    import numpy as np

_UNKNOWN_AUTHORS = {"", "unknown", "anonymous", "unknown author", "n/a", "none"}


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
    name = collapse_whitespace(strip_namespace(unquote(title).replace("_", " ")).lower())
    return name if name.endswith(IMAGE_SUFFIXES) else ""


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
