"""Rank candidates against a query by CLIP similarity, one copy of each file kept; and captions against a picture.

Pure numpy over vectors any encoder made: the pipeline embeds (``memer.clip``),
this module only compares. Of duplicate pictures, the better-credited copy stays;
a caption that repeats a better one goes down the list (:func:`rank_captions`).
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


# --- captions -----------------------------------------------------------------------

CAPTION_WORDS_SAME = 0.8  # difflib ratio of two captions' word lists at which one reads as a copy of the other


def _words(text: str) -> list[str]:
    """A caption's words, lower case, without punctuation: what a reader compares two captions by."""
    import re

    return re.findall(r"\w+", text.lower())


def near_duplicate(a: str, b: str, similarity: float, threshold: float) -> bool:
    """Two captions a reader would call the same: CLIP text cosine >= ``threshold``, or mostly the same words."""
    return similarity >= threshold or _same_words(_words(a), _words(b))


def _same_words(words_a: list[str], words_b: list[str]) -> bool:
    """Whether two word lists are mostly the same (difflib ratio >= CAPTION_WORDS_SAME). The matcher's quick
    ratios are upper bounds of the full one, so most pairs are told apart before the full (slow) match."""
    from difflib import SequenceMatcher

    if words_a == words_b:
        return True
    matcher = SequenceMatcher(None, words_a, words_b)
    return all(
        ratio() >= CAPTION_WORDS_SAME for ratio in (matcher.real_quick_ratio, matcher.quick_ratio, matcher.ratio)
    )


def rank_captions(
    image_vector: np.ndarray,
    topic_vector: np.ndarray,
    caption_vectors: np.ndarray,
    texts: Sequence[str],
    *,
    topic_weight: float | None = None,
    dedupe_threshold: float | None = None,
    last: Sequence[bool] | None = None,
) -> tuple[list[int], list[float], list[int | None]]:
    """The captions best first: (order, score per caption, which earlier caption each one repeats or None).

    A caption's score is ``(1 - topic_weight) * cos(picture, caption) + topic_weight * cos(topic, caption)``
    on unit vectors from one CLIP model: how well its words match what the picture shows and what the meme
    is about, not whether it is funny. A near-duplicate (:func:`near_duplicate`) of a better caption goes
    below every caption that is not one, so the first few differ; those marked in ``last`` (the unsafe
    ones) go below all the others. Ties keep the writer's order.
    """
    import numpy as np

    weight = settings.CAPTION_TOPIC_WEIGHT if topic_weight is None else topic_weight
    threshold = settings.CAPTION_DEDUPE_THRESHOLD if dedupe_threshold is None else dedupe_threshold
    vectors = _unit_rows(np.asarray(caption_vectors, dtype=np.float32))
    if vectors.shape[0] != len(texts):
        raise ValueError(f"need one caption vector per caption ({len(texts)}), got {vectors.shape[0]}")
    if not texts:
        return [], [], []
    image = _unit_rows(np.asarray(image_vector, dtype=np.float32).reshape(1, -1))[0]
    topic = _unit_rows(np.asarray(topic_vector, dtype=np.float32).reshape(1, -1))[0]
    scores = [float(s) for s in (1.0 - weight) * (vectors @ image) + weight * (vectors @ topic)]
    held = list(last) if last is not None else [False] * len(texts)
    by_score = sorted(range(len(texts)), key=lambda i: (-scores[i], i))
    repeats: list[int | None] = [None] * len(texts)
    similar = vectors @ vectors.T >= threshold
    words = [_words(text) for text in texts]
    kept: list[int] = []  # the better captions so far, not held back: what a later one may repeat
    for i in by_score:
        repeats[i] = next((j for j in kept if similar[i, j] or _same_words(words[i], words[j])), None)
        if repeats[i] is None and not held[i]:
            kept.append(i)
    order = sorted(by_score, key=lambda i: (bool(held[i]), repeats[i] is not None))  # stable: score order within
    return order, scores, repeats


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
