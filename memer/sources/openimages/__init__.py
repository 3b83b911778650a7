"""Open Images candidates: the cache's best rows for a query, as ``ImageCandidate``s.

The query is embedded with the text encoder the caller passes (the pipeline's CLIP, the
same wrapper that built the cache; checked against the manifest), searched exactly, and each
row becomes a candidate crediting the Flickr author under the picture's licence. Downloading
goes through the shared layer (``memer.http.download_images``), like every other source.

The package: ``store`` (the on-disk format), ``index`` (the exact search), ``build`` (the
builder), ``narratives`` (parsing and the bounded-memory join), ``merge`` (shards),
``transfer`` (resumable downloads), ``download`` (fetching a published cache), ``folder``
and ``checks`` (whose folder it is; part checks), ``legacy`` (importing the original AI-Memer files); the
set-up's status and estimates are ``memer.cache_setup``. None of it
imports a model: encoders come in as arguments, typed by ``TextEncoder``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from memer import settings
from memer.candidates import ImageCandidate
from memer.sources.openimages.store import MANIFEST, EmbeddingCache, image_url
from memer.text import shorten, trim_words

if TYPE_CHECKING:
    import numpy as np


class TextEncoder(Protocol):
    """What the cache needs of a text encoder (``memer.clip.ClipModel`` is one): names and vectors."""

    model_name: str
    pretrained: str

    def encode_text(self, texts: list[str], *, batch_size: int | None = None) -> np.ndarray:
        """One embedding row per text, shape (len(texts), dim), ``batch_size`` texts at a time."""
        ...

    def encode_query(self, query: str) -> np.ndarray:
        """The search vector for a query, shape (dim,)."""
        ...


def search_openimages(
    query: str, limit: int | None = None, *, clip: TextEncoder, cache: EmbeddingCache | None = None
) -> list[ImageCandidate]:
    """The ``limit`` Open Images pictures whose narratives are closest to ``query``, embedded by ``clip``."""
    limit = settings.OPENIMAGES_LIMIT if limit is None else limit
    if limit <= 0 or not query.strip():
        return []  # nothing to do: no need for a cache, or an error when there is none
    cache = cache if cache is not None else open_cache()
    cache.check_model(clip.model_name, clip.pretrained)
    ids, scores = cache.search(clip.encode_query(query), k=limit)
    return [row_candidate(cache.row(int(i)), float(s)) for i, s in zip(ids, scores)]


def open_cache() -> EmbeddingCache:
    """The configured cache, opened once per process and reopened only when it is rebuilt.

    Its search index is read into memory on the first search; keeping it open
    makes every later search in the app fast.
    """
    from pathlib import Path

    manifest = Path(settings.cache_dir()) / MANIFEST
    stamp = manifest.stat().st_mtime_ns if manifest.is_file() else None
    return _open_cache(str(Path(settings.cache_dir()).resolve()), stamp)


@lru_cache(maxsize=1)
def _open_cache(directory: str, manifest_stamp: int | None) -> EmbeddingCache:
    return EmbeddingCache.open(directory)


def row_candidate(row: dict[str, Any], cache_score: float | None = None) -> ImageCandidate:
    """A cache row as a candidate; the URL is rebuilt from settings so the bucket can be moved."""
    caption = _text(row, "caption", settings.MAX_DESCRIPTION_CHARS)
    title = _text(row, "title", settings.MAX_TITLE_CHARS) or trim_words(caption, 8) or f"Open Images {row['image_id']}"
    return ImageCandidate(
        source="openimages",
        title=title,
        image_url=image_url(row["split"], row["image_id"]),
        description=trim_words(caption),
        author=_text(row, "author", settings.MAX_AUTHOR_CHARS) or "unknown",
        license=row.get("license") or "CC BY 2.0",
        license_url=row.get("license_url") or "https://creativecommons.org/licenses/by/2.0/",
        page_url=row.get("page_url", ""),
        license_assumed=bool(row.get("license_assumed")),
        extra={
            "image_id": row["image_id"],
            "split": row["split"],
            "author_url": row.get("author_url", ""),
            "cache_score": cache_score,
            "cache_row": row.get("row"),
        },
    )


def _text(row: dict[str, Any], name: str, limit: int) -> str:
    """A text field of a row (from outside CSVs, through a cache anyone may have built): a string, capped."""
    value = row.get(name)
    if not isinstance(value, str):
        return ""
    return shorten(value, limit)
