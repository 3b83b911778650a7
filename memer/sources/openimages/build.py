"""Build the Open Images cache from Google's Localized Narratives and the Open Images metadata.

Steps: download (resumable, sha256 recorded; ``transfer``) the captions-only narratives and
the image metadata CSVs, join them in bounded memory (``narratives.JoinedRows``: one caption
per image, with the picture's author and licence, in one deterministic order), embed the
captions with the text encoder the caller passes in batches sized to its device, and write
the cache atomically (``store.CacheWriter``) on a writer thread, so the encoder never waits
for the metadata. ``--shard i/n`` builds a contiguous slice of the same row order, and
``merge.merge_shards`` joins them.

Progress goes to an optional ``progress(message, fraction)`` hook; this module never prints.
"""

from __future__ import annotations

import queue
import re
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memer import http, settings
from memer.errors import CacheError
from memer.progress import Progress
from memer.sources.openimages.folder import check_replaceable
from memer.sources.openimages.merge import shards_dir
from memer.sources.openimages.narratives import NARRATIVE_RULE, JoinedRows
from memer.sources.openimages.store import CacheWriter
from memer.sources.openimages.transfer import download_file

if TYPE_CHECKING:
    from memer.sources.openimages import TextEncoder

SPLITS = ("train", "validation", "test")
QUICK_SPLITS = ("validation", "test")  # the quick build: about a quarter of the pictures
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
# Narrated images per split as Localized Narratives publishes them (675,155 in all): what a build
# will embed, less the few without metadata, so the set-up can estimate a build before downloading.
SPLIT_CAPTIONS = {"train": 507_444, "validation": 41_691, "test": 126_020}
CPU_BATCH = 128  # captions per encoder call on a CPU: bigger batches do not run faster there
GPU_BATCH_MAX = 8192
# Working memory one caption takes in the text tower on a GPU in float16, with room to spare
# (an estimate for ViT-B-32-sized towers: 77 tokens x 512 wide x 12 layers of activations).
GPU_BYTES_PER_CAPTION = 1 << 20
WRITE_QUEUE = 2  # batches the writer thread may lag behind the encoder


@dataclass
class BuildReport:
    directory: Path
    rows: int
    total_rows: int
    skipped_without_metadata: int
    sources: list[dict[str, Any]] = field(default_factory=list)
    batch_size: int = 0
    seconds_encoding: float = 0.0


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


def source_urls(split: str) -> tuple[str, str]:
    """(narratives URL, metadata CSV URL) of one split, from the settings."""
    return (
        f"{settings.NARRATIVES_URL.rstrip('/')}/{NARRATIVE_FILES[split]}",
        f"{settings.OPENIMAGES_META_URL.rstrip('/')}/{METADATA_FILES[split]}",
    )


def download_sources(
    splits: Sequence[str], download_dir: Path, *, progress: Progress | None = None
) -> dict[str, tuple[Path, Path, list[dict[str, Any]]]]:
    """(narratives, metadata CSV, their source records) per split, downloaded or found finished."""
    session = http.get_session()
    out = {}
    for split in splits:
        narratives_url, metadata_url = source_urls(split)
        narratives = download_dir / NARRATIVE_FILES[split]
        metadata = download_dir / Path(METADATA_FILES[split]).name
        records = [
            download_file(narratives_url, narratives, progress=progress, session=session),
            download_file(metadata_url, metadata, progress=progress, session=session),
        ]
        out[split] = (narratives, metadata, records)
    return out


def build_batch_size(device: str, free_bytes: int | None = None) -> int:
    """Captions per encoder call: ``MEMER_CACHE_BUILD_BATCH``, or sized to the device's free memory.

    On a GPU (float16) several thousand captions go in at once when memory allows; on a CPU
    a modest batch is as fast and keeps memory low.
    """
    if settings.CACHE_BUILD_BATCH > 0:
        return settings.CACHE_BUILD_BATCH
    if not str(device).startswith("cuda"):
        return CPU_BATCH
    if free_bytes is None:
        import torch

        free_bytes, _total = torch.cuda.mem_get_info(device)
    fits = max(1, free_bytes // (2 * GPU_BYTES_PER_CAPTION))  # half the free memory, for safety
    size = 1 << (int(fits).bit_length() - 1)  # a power of two
    return max(CPU_BATCH, min(GPU_BATCH_MAX, size))


class _WriterThread:
    """``CacheWriter.add`` on a thread of its own, so the encoder works on the next batch meanwhile."""

    def __init__(self, writer: CacheWriter) -> None:
        self.writer = writer
        self._queue: queue.Queue[tuple[Any, list[dict[str, Any]]] | None] = queue.Queue(WRITE_QUEUE)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="memer-cache-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self.writer.add(*item)
                except BaseException as err:  # noqa: BLE001 - handed to the main thread
                    self._error = err

    def add(self, embeddings: Any, rows: list[dict[str, Any]]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((embeddings, rows))

    def finish(self) -> None:
        """Wait for every batch to be written; raise what the writer raised."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def _time_left(seconds_per_row: float, rows_left: int) -> str:
    left = seconds_per_row * rows_left
    if left >= 90 * 60:
        return f"about {left / 3600:.1f} h left"
    if left >= 90:
        return f"about {left / 60:.0f} min left"
    return f"about {max(1, round(left))} s left"


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
    splits = check_splits(splits)
    directory = Path(directory if directory is not None else settings.cache_dir())
    # Refused before hours of work: a folder memer did not create is never replaced (the writer checks again).
    check_replaceable(shards_dir(directory) / f"{shard[0]}-of-{shard[1]}" if shard is not None else directory)
    download_dir = Path(download_dir if download_dir is not None else settings.cache_download_dir())
    files = download_sources(splits, download_dir, progress=progress)
    sources = [record for split in splits for record in files[split][2]]
    with tempfile.TemporaryDirectory(prefix=".memer-join-", dir=download_dir) as work:
        joined = JoinedRows(Path(work) / "join.sqlite")
        try:
            skipped = 0
            for split in splits:
                if progress is not None:
                    progress(f"Joining the {split} captions with their metadata", None)
                skipped += joined.add_split(split, files[split][0], files[split][1])
            return _embed_and_write(
                joined, splits, skipped, sources, encoder, batch_size, shard, directory, download_dir, progress
            )
        finally:
            joined.close()


def _embed_and_write(
    joined: JoinedRows,
    splits: list[str],
    skipped: int,
    sources: list[dict[str, Any]],
    encoder: TextEncoder,
    batch_size: int | None,
    shard: tuple[int, int] | None,
    directory: Path,
    download_dir: Path,
    progress: Progress | None,
) -> BuildReport:
    import numpy as np

    total = len(joined)
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
    start, stop, target = 0, total, directory
    if shard is not None:
        index, count = shard
        start, stop = index * total // count, (index + 1) * total // count
        extra["shard"] = {"index": index, "count": count, "total_rows": total}
        target = shards_dir(directory) / f"{index}-of-{count}"
        if start == stop:
            raise CacheError(f"Shard {index}/{count} of {total} rows is empty; use fewer shards.")
    rows = stop - start
    size = max(1, batch_size or build_batch_size(str(getattr(encoder, "device", "cpu"))))
    writer: CacheWriter | None = None
    background: _WriterThread | None = None
    done, started = 0, time.monotonic()
    try:
        for batch in joined.batches(start, stop, size):
            if progress is not None:
                pace = (time.monotonic() - started) / done if done else None
                left = f", {_time_left(pace, rows - done)}" if pace is not None else ""
                progress(f"Embedding captions ({done}/{rows}{left})", done / rows)
            vectors = np.asarray(encoder.encode_text([row["caption"] for row in batch], batch_size=size), np.float32)
            if writer is None:  # the first batch tells the dimension
                writer = CacheWriter(
                    target,
                    rows,
                    vectors.shape[1],
                    model=encoder.model_name,
                    pretrained=encoder.pretrained or "",
                    sources=sources,
                    extra=extra,
                )
                background = _WriterThread(writer)
            assert background is not None
            background.add(vectors, batch)
            done += len(batch)
        if background is not None:
            background.finish()
        if progress is not None:
            progress(f"Embedding captions ({rows}/{rows})", 1.0)
    except BaseException:
        if background is not None:
            try:
                background.finish()
            except BaseException:  # noqa: BLE001 - the first error is the one to report
                pass
        if writer is not None:
            writer.abort()
        raise
    seconds = time.monotonic() - started
    assert writer is not None
    writer.commit(progress=progress)
    return BuildReport(target, rows, total, skipped, sources, size, seconds)
