"""Build the Open Images cache from Google's Localized Narratives and the Open Images metadata.

Steps: download (resumable, sha256 recorded) the captions-only narratives and the image
metadata CSVs, stream them (the train CSV is ~640 MB and is never loaded whole), keep one
caption per image, join it with the picture's author and licence, embed the captions with
the text encoder the caller passes in batches, and write the cache atomically (``store.CacheWriter``).
``--shard i/n`` builds a contiguous slice of the same row order, and ``merge_shards`` joins them.

Progress goes to an optional ``progress(message, fraction)`` hook; this module never prints.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memer import http, settings
from memer.errors import CacheError
from memer.progress import Progress
from memer.sources.openimages.index import SCAN_BLOCK
from memer.sources.openimages.store import CacheWriter, EmbeddingCache, image_url, sha256_file
from memer.text import collapse_whitespace, human_size

if TYPE_CHECKING:
    from memer.sources.openimages import TextEncoder

SPLITS = ("train", "validation", "test")
NARRATIVE_FILES = {
    "train": "open_images_train_v6_captions.jsonl",
    "validation": "open_images_validation_captions.jsonl",
    "test": "open_images_test_captions.jsonl",
}
METADATA_FILES = {
    "train": "train/train-images-boxable-with-rotation.csv",
    "validation": "validation/validation-images-with-rotation.csv",
    "test": "test/test-images-with-rotation.csv",
}
NARRATIVE_RULE = (
    "longest caption (after collapsing whitespace) wins; ties go to the lowest annotator_id, then the "
    "caption text: it does not depend on line order, so re-downloads and shards agree, and the fullest "
    "description gives CLIP and the user the most to go on"
)
CHUNK = 1 << 16  # a broken connection loses at most this much of a download
REPORT_BYTES = 1 << 20  # a download reports its progress about once per this many bytes


# --- downloads -----------------------------------------------------------------------


def download_file(
    url: str, dest: str | Path, *, progress: Progress | None = None, session: Any = None
) -> dict[str, Any]:
    """Stream ``url`` to ``dest``, resuming a partial ``.part`` file with a Range request.

    Returns the source record kept in the manifest (name, url, bytes, sha256). A finished
    file is not fetched again.
    """
    import requests

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file():
        return _source_record(url, dest)
    part = dest.with_name(dest.name + ".part")
    session = session or http.get_session()  # memer's User-Agent, timeouts and retry policy
    # The session already retries 429 and 5xx answers (honouring Retry-After); this loop only
    # picks a broken or short transfer up again where it stopped.
    attempts = max(1, settings.HTTP_RETRIES + 1)
    last_error = ""
    for _ in range(attempts):
        last_error = ""
        have = part.stat().st_size if part.is_file() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with session.get(url, headers=headers, stream=True, timeout=http.timeout()) as response:
                if response.status_code == 416 and have:  # the part file already holds everything
                    break
                if response.status_code not in (200, 206):
                    raise CacheError(
                        f"Could not download {url} (HTTP {response.status_code}).",
                        "Check the URL settings (MEMER_NARRATIVES_URL, MEMER_OPENIMAGES_META_URL) and your connection.",
                    )
                if response.status_code == 200:
                    have = 0  # the server ignored Range: start over
                length = response.headers.get("Content-Length")
                total = have + int(length) if length and length.isdigit() else None
                with open(part, "ab" if have else "wb") as out:
                    reported = -REPORT_BYTES
                    for block in response.iter_content(CHUNK):
                        out.write(block)
                        have += len(block)
                        if progress is not None and have - reported >= REPORT_BYTES:
                            reported = have
                            _report_download(progress, dest.name, have, total)
                    if progress is not None and reported != have:
                        _report_download(progress, dest.name, have, total)
                if total is not None and part.stat().st_size != total:
                    last_error = f"got {part.stat().st_size} of {total} bytes"
                    continue
                break
        except requests.RequestException as err:
            last_error = http.describe_failure(err)
            continue
    if last_error:
        if part.is_file():
            raise CacheError(
                f"Could not download {url} ({last_error}); the partial file {part} is kept.",
                "Run the same command again to resume.",
            )
        raise CacheError(
            f"Could not download {url} ({last_error}).", "Check your connection and run the same command again."
        )
    if not part.is_file():
        raise CacheError(
            f"Could not download {url} (no data).",
            "Check the URL settings (MEMER_NARRATIVES_URL, MEMER_OPENIMAGES_META_URL) and your connection.",
        )
    part.rename(dest)
    return _source_record(url, dest)


def _report_download(progress: Progress, name: str, have: int, total: int | None) -> None:
    if total:
        progress(f"Downloading {name} ({human_size(have)} of {human_size(total)})", min(1.0, have / total))
    else:
        progress(f"Downloading {name} ({human_size(have)})", None)


def _source_record(url: str, path: Path) -> dict[str, Any]:
    return {"name": path.name, "url": url, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


# --- parsing (pure, streaming) -------------------------------------------------------


def iter_narratives(path: str | Path) -> Iterator[tuple[str, str, str]]:
    """(image_id, annotator_id, caption) per line of a Localized Narratives captions file."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                yield str(record["image_id"]), str(record.get("annotator_id", "")), str(record["caption"])
            except (ValueError, KeyError, TypeError) as err:
                raise CacheError(
                    f"{path} line {number} is not a narrative record ({err}).",
                    "Delete the file so the next build downloads it again.",
                ) from None


def _annotator_key(annotator: str) -> tuple[int, str]:
    return (int(annotator), "") if annotator.isdigit() else (1 << 62, annotator)


def choose_narratives(records: Iterator[tuple[str, str, str]]) -> dict[str, str]:
    """One caption per image by ``NARRATIVE_RULE``; empty captions never win."""
    best: dict[str, tuple[int, tuple[int, str], str]] = {}
    for image_id, annotator, caption in records:
        text = collapse_whitespace(caption)
        if not text:
            continue
        candidate = (-len(text), _annotator_key(annotator), text)
        current = best.get(image_id)
        if current is None or candidate < current:
            best[image_id] = candidate
    return {image_id: entry[2] for image_id, entry in best.items()}


def iter_metadata(path: str | Path) -> Iterator[dict[str, str]]:
    """Rows of an Open Images ``*-images-with-rotation.csv``, streamed (quoted commas handled by csv)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"ImageID", "OriginalLandingURL", "License", "AuthorProfileURL", "Author"} - set(
            reader.fieldnames or []
        )
        if missing:
            raise CacheError(
                f"{path} lacks the columns {sorted(missing)}; it is not an Open Images metadata CSV.",
                "Delete it so the next build downloads it again.",
            )
        yield from reader


_CC = re.compile(r"creativecommons\.org/licenses/([a-z\-]+)/([0-9.]+)", re.IGNORECASE)


def license_name(url: str) -> str:
    """'https://creativecommons.org/licenses/by/2.0/' -> 'CC BY 2.0'; other URLs are kept as they are."""
    match = _CC.search(url or "")
    if not match:
        return url.strip()
    return f"CC {match.group(1).upper()} {match.group(2)}"


def metadata_row(split: str, image_id: str, caption: str, meta: dict[str, str]) -> dict[str, Any]:
    license_url = (meta.get("License") or "").strip()
    return {
        "image_id": image_id,
        "split": split,
        "title": (meta.get("Title") or "").strip(),
        "caption": caption,
        "author": (meta.get("Author") or "").strip() or "unknown",
        "author_url": (meta.get("AuthorProfileURL") or "").strip(),
        "license": license_name(license_url),
        "license_url": license_url,
        "page_url": (meta.get("OriginalLandingURL") or "").strip(),
        "image_url": image_url(split, image_id),
        "license_assumed": False,
    }


def join_split(split: str, narratives_path: str | Path, metadata_path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """Rows for one split, sorted by image id, and how many captioned images had no metadata (dropped)."""
    captions = choose_narratives(iter_narratives(narratives_path))
    rows = []
    for meta in iter_metadata(metadata_path):
        caption = captions.pop(meta["ImageID"], None)
        if caption is not None:
            rows.append(metadata_row(split, meta["ImageID"], caption, meta))
    rows.sort(key=lambda row: row["image_id"])
    return rows, len(captions)


# --- the build -----------------------------------------------------------------------


@dataclass
class BuildReport:
    directory: Path
    rows: int
    total_rows: int
    skipped_without_metadata: int
    sources: list[dict[str, Any]] = field(default_factory=list)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'2/4' -> (2, 4) (0-based index); None for no sharding."""
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 0 <= int(match.group(1)) < int(match.group(2)):
        raise CacheError(f"--shard {text!r} is not i/n with 0 <= i < n (for example 0/4 ... 3/4).")
    return int(match.group(1)), int(match.group(2))


def check_splits(splits: Sequence[str] | None) -> list[str]:
    """The splits to build (all when none are named); unknown names are refused before any work."""
    chosen = list(splits or SPLITS)
    unknown = [s for s in chosen if s not in SPLITS]
    if unknown or not chosen:
        raise CacheError(f"Unknown split(s) {unknown}; choose from {', '.join(SPLITS)}.")
    return chosen


def shards_dir(directory: str | Path) -> Path:
    """Where ``--shard i/n`` builds for ``directory`` go: ``<dir>-shards/`` beside it, never inside."""
    directory = Path(directory)
    return directory.parent / f"{directory.name}-shards"


def download_sources(
    splits: Sequence[str], download_dir: Path, *, progress: Progress | None = None
) -> dict[str, tuple[Path, Path, list[dict[str, Any]]]]:
    """(narratives, metadata CSV, their source records) per split, downloaded or found finished."""
    session = http.get_session()
    out = {}
    for split in splits:
        narratives_url = f"{settings.NARRATIVES_URL.rstrip('/')}/{NARRATIVE_FILES[split]}"
        metadata_url = f"{settings.OPENIMAGES_META_URL.rstrip('/')}/{METADATA_FILES[split]}"
        narratives = download_dir / NARRATIVE_FILES[split]
        metadata = download_dir / Path(METADATA_FILES[split]).name
        records = [
            download_file(narratives_url, narratives, progress=progress, session=session),
            download_file(metadata_url, metadata, progress=progress, session=session),
        ]
        out[split] = (narratives, metadata, records)
    return out


def build_cache(
    splits: Sequence[str] | None = None,
    *,
    encoder: TextEncoder,
    batch_size: int | None = None,
    shard: tuple[int, int] | None = None,
    directory: str | Path | None = None,
    download_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Download, join, embed with ``encoder`` and write the cache (or one shard of it).

    The caller loads the encoder (``memer.clip.load_clip`` in the CLI), so this layer never
    imports a model; the cache records its ``model_name`` and ``pretrained`` tag.
    """
    import numpy as np

    splits = check_splits(splits)
    directory = Path(directory if directory is not None else settings.cache_dir())
    download_dir = Path(download_dir if download_dir is not None else settings.cache_download_dir())
    files = download_sources(splits, download_dir, progress=progress)
    rows: list[dict[str, Any]] = []
    skipped = 0
    sources: list[dict[str, Any]] = []
    for split in splits:
        narratives, metadata, records = files[split]
        if progress is not None:
            progress(f"Joining the {split} captions with their metadata", None)
        split_rows, split_skipped = join_split(split, narratives, metadata)
        rows += split_rows
        skipped += split_skipped
        sources += records
    total = len(rows)
    if not total:
        raise CacheError(
            "The downloaded files yield no captioned image with metadata; nothing to build.",
            "Check the files in " + str(download_dir),
        )
    extra: dict[str, Any] = {
        "build": {
            "kind": "localized-narratives",
            "splits": splits,
            "narrative_rule": NARRATIVE_RULE,
            "skipped_without_metadata": skipped,
        }
    }
    target = directory
    if shard is not None:
        index, count = shard
        rows = rows[index * total // count : (index + 1) * total // count]
        extra["shard"] = {"index": index, "count": count, "total_rows": total}
        target = shards_dir(directory) / f"{index}-of-{count}"
        if not rows:
            raise CacheError(f"Shard {index}/{count} of {total} rows is empty; use fewer shards.")
    batch_size = max(1, batch_size or settings.CLIP_BATCH_SIZE)
    first = np.asarray(encoder.encode_text([rows[0]["caption"]]), dtype=np.float32)
    writer = CacheWriter(
        target,
        len(rows),
        first.shape[1],
        model=encoder.model_name,
        pretrained=encoder.pretrained or "",
        sources=sources,
        extra=extra,
    )
    try:
        for start in range(0, len(rows), batch_size):
            if progress is not None:
                progress(f"Embedding captions ({start}/{len(rows)})", start / len(rows))
            batch = rows[start : start + batch_size]
            writer.add(encoder.encode_text([row["caption"] for row in batch]), batch)
        if progress is not None:
            progress(f"Embedding captions ({len(rows)}/{len(rows)})", 1.0)
    except BaseException:
        writer.abort()
        raise
    writer.commit(progress=progress)
    return BuildReport(target, len(rows), total, skipped, sources)


# --- merging shards ------------------------------------------------------------------


def merge(
    directory: str | Path | None = None,
    shard_dirs: Sequence[str | Path] | None = None,
    *,
    progress: Progress | None = None,
) -> Path:
    """Merge the shards under ``<dir>-shards/`` (or the folders given) into ``<dir>``."""
    directory = Path(directory if directory is not None else settings.cache_dir())
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
