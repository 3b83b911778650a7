"""Merge shards built with ``memer cache build --shard i/n`` into one cache, atomically.

Shards are contiguous slices of one deterministic row order, so concatenating them in shard
order gives exactly the single-machine build; mixed models, other source files or a missing
shard are refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from memer import settings
from memer.errors import CacheError
from memer.progress import Progress
from memer.sources.openimages.folder import check_replaceable
from memer.sources.openimages.index import SCAN_BLOCK
from memer.sources.openimages.store import CacheWriter, EmbeddingCache


def shards_dir(directory: str | Path) -> Path:
    """Where ``--shard i/n`` builds for ``directory`` go: ``<dir>-shards/`` beside it, never inside."""
    directory = Path(directory)
    return directory.parent / f"{directory.name}-shards"


def merge(
    directory: str | Path | None = None,
    shard_dirs: Sequence[str | Path] | None = None,
    *,
    progress: Progress | None = None,
) -> Path:
    """Merge the shards under ``<dir>-shards/`` (or the folders given) into ``<dir>``."""
    directory = Path(directory if directory is not None else settings.cache_dir())
    check_replaceable(directory)  # a folder memer did not create is never replaced (the writer checks again)
    if not shard_dirs:
        root = shards_dir(directory)
        shard_dirs = sorted(p for p in root.glob("*-of-*") if p.is_dir()) if root.is_dir() else []
    if not shard_dirs:
        raise CacheError(
            f"No shards found in {shards_dir(directory)}.",
            "Build them with `memer cache build --shard i/n` (same --dir) first.",
        )
    return merge_shards(shard_dirs, directory, progress=progress)


def merge_shards(shard_dirs: Iterable[str | Path], directory: str | Path, *, progress: Progress | None = None) -> Path:
    """Concatenate shards built with ``--shard i/n`` (in shard order) into one cache, atomically."""
    import numpy as np

    shards = [EmbeddingCache.open(path) for path in shard_dirs]
    if not shards:
        raise CacheError("No shards to merge.", "Build them with `memer cache build --shard i/n` first.")
    shards.sort(key=lambda s: (s.manifest.get("shard") or {}).get("index", -1))
    first = shards[0].manifest
    count = (first.get("shard") or {}).get("count")
    if count is None:
        raise CacheError(f"{shards[0].directory} is not a shard (its manifest has no 'shard').")
    indexes = [(s.manifest.get("shard") or {}).get("index") for s in shards]
    if indexes != list(range(count)):
        missing = sorted(set(range(count)) - set(indexes))
        raise CacheError(
            f"The shards do not make a whole: have {indexes} of {count}, missing {missing}.",
            "Build the missing shards with `memer cache build --shard i/n`.",
        )
    for shard in shards[1:]:
        m = shard.manifest
        for key in ("model", "pretrained", "dim"):
            if m[key] != first[key]:
                raise CacheError(
                    f"Shard {shard.directory} has {key} {m[key]!r}, shard 0 has {first[key]!r}; they cannot be merged."
                )
        if m["shard"]["total_rows"] != first["shard"]["total_rows"] or _source_sums(m) != _source_sums(first):
            raise CacheError(
                f"Shard {shard.directory} was built from other source files than shard 0; rebuild it from the same downloads."
            )
    total = sum(len(s) for s in shards)
    if total != first["shard"]["total_rows"]:
        raise CacheError(f"The shards hold {total} rows, the build planned {first['shard']['total_rows']}.")
    writer = CacheWriter(
        directory,
        total,
        int(first["dim"]),
        model=first["model"],
        pretrained=first["pretrained"],
        sources=first.get("sources", []),
        extra=_carry_extra(first),
    )
    done = 0
    try:
        for shard in shards:
            for start in range(0, len(shard), SCAN_BLOCK):
                if progress is not None:
                    progress(f"Merging shards ({done + start}/{total} rows)", (done + start) / total)
                stop = min(start + SCAN_BLOCK, len(shard))
                writer.add(
                    np.asarray(shard.embeddings[start:stop], dtype=np.float32),
                    [shard.row(i) for i in range(start, stop)],
                )
            done += len(shard)
            shard.close()
    except BaseException:
        writer.abort()
        raise
    return writer.commit(progress=progress)


def _source_sums(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((s.get("name", ""), s.get("sha256", "")) for s in manifest.get("sources", []))


def _carry_extra(manifest: dict[str, Any]) -> dict[str, Any]:
    return {key: manifest[key] for key in ("build",) if key in manifest}
