"""Import the original AI-Memer cache files (ViT-B/32 float16 .npy + annotations pickle) into a cache.

Those files carry no licence or Flickr page, so rows are recorded as CC BY 2.0 with
``license_assumed``; the pickle is read by an unpickler that refuses every class or function,
so a booby-trapped file runs nothing.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from memer import settings
from memer.errors import CacheError
from memer.sources.openimages.folder import check_replaceable
from memer.sources.openimages.index import Progress
from memer.sources.openimages.store import EmbeddingCache, image_url, sha256_file

CC_BY_2 = ("CC BY 2.0", "https://creativecommons.org/licenses/by/2.0/")


class _NoGlobalsUnpickler(pickle.Unpickler):
    """Unpickles plain data only: any class or function reference (the way code runs) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise CacheError(
            f"The annotations pickle asks for {module}.{name}; only plain lists, tuples and strings are allowed, so it was refused.",
            "Use the original AI-Memer annotations file, or build the cache with `memer cache build`.",
        )


def load_legacy_annotations(path: str | Path) -> list[tuple[str, str, str]]:
    """Read the original ``[("split/imageid", description, author), ...]`` pickle without running code."""
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except OSError as err:
        raise CacheError(
            f"Could not read the annotations file {path} ({err.strerror or err}).",
            "Give the path of the original AI-Memer annotations pickle.",
        ) from None
    with handle:
        try:
            data = _NoGlobalsUnpickler(handle).load()
        except CacheError:
            raise
        except Exception as err:  # noqa: BLE001
            raise CacheError(f"{path} is not a readable annotations pickle ({err}).") from None
    if not isinstance(data, (list, tuple)):
        raise CacheError(f"{path} holds a {type(data).__name__}, not a list of (split/imageid, description, author).")
    out = []
    for n, item in enumerate(data):
        if not (isinstance(item, (list, tuple)) and len(item) >= 3 and all(isinstance(v, str) for v in item[:3])):
            raise CacheError(f"Entry {n} of {path} is not a (split/imageid, description, author) triple of strings.")
        if "/" not in item[0]:
            raise CacheError(f"Entry {n} of {path} has image key {item[0]!r}; expected 'split/imageid'.")
        out.append((item[0], item[1], item[2]))
    return out


def import_legacy(
    embeddings_path: str | Path,
    annotations_path: str | Path,
    directory: str | Path | None = None,
    *,
    progress: Progress | None = None,
) -> Path:
    """Turn the original AI-Memer files (ViT-B/32 float16 .npy + annotations pickle) into a cache."""
    import numpy as np

    directory = Path(directory if directory is not None else settings.cache_dir())
    check_replaceable(directory)  # before reading anything: a folder memer did not create is never replaced
    if not Path(embeddings_path).is_file():
        raise CacheError(f"{embeddings_path} does not exist.", "Give the path of the original embeddings .npy file.")
    try:
        embeddings = np.load(embeddings_path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as err:
        raise CacheError(f"{embeddings_path} is not a plain .npy array ({err}).") from None
    annotations = load_legacy_annotations(annotations_path)
    if embeddings.ndim != 2 or len(embeddings) != len(annotations):
        raise CacheError(
            f"{embeddings_path} has shape {embeddings.shape} but {annotations_path} lists {len(annotations)} images; they must match row for row."
        )
    rows = [legacy_row(key, description, author) for key, description, author in annotations]
    sources = [
        {"name": Path(p).name, "url": "", "sha256": sha256_file(p), "bytes": Path(p).stat().st_size}
        for p in (embeddings_path, annotations_path)
    ]
    return EmbeddingCache.write(
        directory,
        embeddings,
        rows,
        model="ViT-B-32",
        pretrained="openai",
        sources=sources,
        extra={"build": {"kind": "legacy-import"}},
        progress=progress,
    )


def legacy_row(key: str, description: str, author: str) -> dict[str, Any]:
    """A cache row for one legacy entry; the licence is assumed, so the app says so."""
    split, image_id = key.split("/", 1)
    return {
        "image_id": image_id,
        "split": split,
        "title": "",
        "caption": description,
        "author": author,
        "author_url": "",
        "license": CC_BY_2[0],
        "license_url": CC_BY_2[1],
        "page_url": "",
        "image_url": image_url(split, image_id),
        "license_assumed": True,
    }
