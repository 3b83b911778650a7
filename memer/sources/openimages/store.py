"""The Open Images CLIP embedding cache on disk: format, writer, reader and integrity checks.

One directory (``settings.cache_dir()``) holds:

- ``manifest.json``: format version, CLIP model and pretrained tag, dimension, row count,
  dtype, sources (with sha256), part sizes and checksums, creation time;
- ``embeddings.npy``: the L2-normalised float16 caption embeddings, memory-mapped, row i = metadata row i;
- ``metadata.sqlite``: one row per embedding (``id`` = embedding row), image id, split, caption, credit;
- ``index-head.npy``, ``index-tail.npy`` + ``index.npz``: a derived search index (PCA-rotated int8 codes with per-row error
  bounds) that lets the CPU answer top-k without scanning the float16 matrix (see ``index.py``).

A cache is written in a temporary folder beside the target and renamed into place only when
complete, so an interrupted write never leaves a directory that opens.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memer import __version__, settings
from memer.errors import CacheError
from memer.progress import Progress
from memer.sources.openimages import checks
from memer.sources.openimages.folder import (  # noqa: F401 - the names are part of this module's face
    EMBEDDINGS,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MAX_MANIFEST_BYTES,
    METADATA,
    PARTS,
    check_replaceable,
    disk_error,
    recover_if_free,
    swap_into_place,
    write_marker,
)
from memer.sources.openimages.index import (
    INDEX_PARAMS,
    SCAN_BLOCK,
    _cpu_int8_matmul_works,
    _ExactScan,
    _Int8Search,
    _TorchSearch,
    _write_index,
)

# Rows per pass while the index is written: its float64 temporaries take about 19 KB a row, so this
# bounds that phase near 300 MB whatever the cache's size (python -m bench.cache_build).
INDEX_WRITE_BLOCK = 16_384

# Per-row metadata, in column order; ``license_assumed`` is stored as 0/1.
ROW_FIELDS = (
    "image_id",
    "split",
    "title",
    "caption",
    "author",
    "author_url",
    "license",
    "license_url",
    "page_url",
    "image_url",
    "license_assumed",
)

REBUILD_HINT = (
    "Rebuild it with `memer cache build` (or `memer cache import-legacy EMBEDDINGS.npy ANNOTATIONS.pkl`), "
    "or point MEMER_CACHE_DIR at a good cache; see cache/README.md."
)


def _broken(directory: Path, what: str) -> CacheError:
    return CacheError(f"The Open Images cache in {directory} is unusable: {what}.", REBUILD_HINT)


# --- writing -------------------------------------------------------------------------


class CacheWriter:
    """Write a cache batch by batch into a temporary folder; ``commit`` renames it into place.

    The builder streams millions of embeddings through this without holding them all;
    ``EmbeddingCache.write`` is the one-shot form.
    """

    def __init__(
        self,
        directory: str | Path,
        rows: int,
        dim: int,
        *,
        model: str,
        pretrained: str,
        sources: Sequence[dict[str, Any]] = (),
        extra: dict[str, Any] | None = None,
    ) -> None:
        import numpy as np

        self.directory = Path(directory)
        self.rows, self.dim = int(rows), int(dim)
        self.model, self.pretrained = model, pretrained or ""
        self.sources = [dict(s) for s in sources]
        self.extra = dict(extra or {})
        check_replaceable(self.directory)  # before any work: never hours of building for a folder memer may not use
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.directory.parent / f".{self.directory.name}.tmp-{os.getpid()}-{time.time_ns()}"
        self.tmp.mkdir()
        self.written = 0
        try:
            write_marker(self.tmp)  # first, so a crash's leftover is recognisably memer's
            self._embeddings = np.lib.format.open_memmap(
                self.tmp / EMBEDDINGS, mode="w+", dtype=np.float16, shape=(self.rows, self.dim)
            )
            self._db = sqlite3.connect(self.tmp / METADATA, check_same_thread=False)  # the builder writes on a thread
            columns = ", ".join(
                f"{name} {'INTEGER' if name == 'license_assumed' else 'TEXT'} NOT NULL" for name in ROW_FIELDS
            )
            self._db.execute(f"CREATE TABLE rows (id INTEGER PRIMARY KEY, {columns})")
        except OSError as err:
            self.abort()
            raise disk_error(err, self.directory.parent) or err from None

    def add(self, embeddings: Any, rows: Sequence[dict[str, Any]]) -> None:
        """Append a batch; embeddings are L2-normalised here (float32 maths, stored as float16)."""
        import numpy as np

        batch = np.asarray(embeddings, dtype=np.float32)
        if batch.ndim != 2 or batch.shape[1] != self.dim or batch.shape[0] != len(rows):
            raise CacheError(
                f"A batch of {batch.shape} embeddings does not match {len(rows)} rows of dimension {self.dim}."
            )
        if self.written + len(rows) > self.rows:
            raise CacheError(f"More rows than the {self.rows} announced for this cache.")
        norms = np.linalg.norm(batch, axis=1, keepdims=True)
        if not np.all(np.isfinite(batch)) or np.any(norms == 0):
            raise CacheError("An embedding is zero or not finite; the encoder output is broken.")
        start = self.written
        try:
            self._embeddings[start : start + len(rows)] = (batch / norms).astype(np.float16)
            self._db.executemany(
                f"INSERT INTO rows (id, {', '.join(ROW_FIELDS)}) VALUES ({', '.join('?' * (len(ROW_FIELDS) + 1))})",
                [(start + j, *(_field(row, name) for name in ROW_FIELDS)) for j, row in enumerate(rows)],
            )
        except (OSError, sqlite3.OperationalError) as err:
            # SQLite says "database or disk is full" where the memory map says ENOSPC.
            full = err if isinstance(err, OSError) else OSError(errno.ENOSPC, str(err)) if "full" in str(err) else None
            problem = disk_error(full, self.directory.parent) if full is not None else None
            if problem is None:
                raise
            self.abort()
            raise problem from None
        self.written += len(rows)

    def commit(self, *, progress: Progress | None = None) -> Path:
        """Finish the parts, write the manifest last, and swap the folder into place."""
        import numpy as np

        if self.written != self.rows:
            self.abort()
            raise CacheError(f"Only {self.written} of {self.rows} rows were written; the cache was not saved.")
        try:
            self._db.commit()
            self._db.close()
            self._embeddings.flush()
            embeddings = self._embeddings
            del self._embeddings
            _write_index(self.tmp, np.asarray(embeddings), progress=progress, block=INDEX_WRITE_BLOCK)
            del embeddings
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "model": self.model,
                "pretrained": self.pretrained,
                "dim": self.dim,
                "rows": self.rows,
                "dtype": "float16",
                "normalised": True,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "memer_version": __version__,
                "sources": self.sources,
                "files": _part_records(self.tmp, progress),
                **self.extra,
            }
            (self.tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            EmbeddingCache.open(self.tmp).close()  # what is swapped in must open (and the old cache stays till then)
            swap_into_place(self.tmp, self.directory, progress=progress)
        except OSError as err:
            self.abort()  # a half-finished copy of a ~1 GB cache must not be left behind
            raise disk_error(err, self.directory.parent) or err from None
        except BaseException:
            self.abort()
            raise
        return self.directory

    def abort(self) -> None:
        """Drop the temporary folder; the cache in place (if any) is untouched."""
        try:
            self._db.close()
        except Exception:  # noqa: BLE001 - also when __init__ failed before opening it
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


def _field(row: dict[str, Any], name: str) -> Any:
    value = row.get(name)
    if name == "license_assumed":
        return int(bool(value))
    return "" if value is None else str(value)


def _part_records(directory: Path, progress: Progress | None) -> dict[str, dict[str, Any]]:
    """Each part's size and sha256 for the manifest (the checksums take a while on a real cache)."""
    records = {}
    for number, name in enumerate(PARTS):
        if progress is not None:
            progress(f"Checksumming {name}", number / len(PARTS))
        records[name] = {"bytes": (directory / name).stat().st_size, "sha256": sha256_file(directory / name)}
    return records


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """The hex sha256 of a file, read in chunks (parts and sources are up to ~700 MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# --- reading -------------------------------------------------------------------------


@dataclass
class CacheHealth:
    """What ``verify`` found: ``ok`` and, when not, the problems in words."""

    ok: bool
    problems: list[str]


class EmbeddingCache:
    """An opened cache: ``search`` for the best rows, ``row`` for their metadata."""

    def __init__(self, directory: Path, manifest: dict[str, Any], embeddings: Any, db: sqlite3.Connection) -> None:
        self.directory = directory
        self.manifest = manifest
        self.embeddings = embeddings
        self._db = db
        self._searcher: Any = None
        self._searcher_lock = threading.Lock()

    # --- construction ---
    @classmethod
    def write(
        cls,
        directory: str | Path,
        embeddings: Any,
        rows: Sequence[dict[str, Any]],
        *,
        model: str,
        pretrained: str,
        sources: Sequence[dict[str, Any]] = (),
        extra: dict[str, Any] | None = None,
        batch: int = SCAN_BLOCK,
        progress: Progress | None = None,
    ) -> Path:
        """Write a cache from an N x D array and N row dicts, atomically."""
        import numpy as np

        array = np.asarray(embeddings)
        if array.ndim != 2:
            raise CacheError(f"Embeddings must be an N x D array, not shape {array.shape}.")
        if len(array) != len(rows):
            raise CacheError(f"{len(array)} embeddings but {len(rows)} metadata rows; they must match one to one.")
        if len(array) == 0:
            raise CacheError("There are no embeddings to write; an empty cache would find nothing.")
        writer = CacheWriter(
            directory, len(array), array.shape[1], model=model, pretrained=pretrained, sources=sources, extra=extra
        )
        try:
            for start in range(0, len(array), batch):
                writer.add(array[start : start + batch], rows[start : start + batch])
        except BaseException:
            writer.abort()
            raise
        return writer.commit(progress=progress)

    @classmethod
    def open(cls, directory: str | Path | None = None) -> EmbeddingCache:
        """Open and check a cache (fast: headers, sizes, shapes and schema, not checksums; see ``verify``)."""
        directory = Path(directory if directory is not None else settings.cache_dir())
        manifest_path = directory / MANIFEST
        if not manifest_path.is_file() and not (recover_if_free(directory) and manifest_path.is_file()):
            raise CacheError(
                f"No Open Images cache in {directory} (no {MANIFEST}).",
                REBUILD_HINT,
                code="cache.missing",
                fix="MEMER_CACHE_DIR",
            )
        try:
            manifest = checks.read_manifest(manifest_path)
        except checks.PartProblem as err:
            raise _broken(directory, str(err)) from None
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise _broken(
                directory,
                f"format {manifest.get('format')!r} v{manifest.get('format_version')} is not {FORMAT!r} v{FORMAT_VERSION}",
            )
        rows, dim, files = manifest["rows"], manifest["dim"], manifest["files"]
        for name in PARTS:
            path = directory / name
            if not path.is_file():
                raise _broken(directory, f"{name} is missing")
            expected = (files.get(name) or {}).get("bytes") if isinstance(files.get(name), dict) else None
            if expected is not None and path.stat().st_size != expected:
                raise _broken(directory, f"{name} is {path.stat().st_size} bytes, the manifest says {expected}")
        try:
            embeddings, db = checks.open_parts(directory, rows, dim, ROW_FIELDS)
        except checks.PartProblem as err:
            raise _broken(directory, str(err)) from None
        except OSError as err:
            raise _broken(directory, f"a part could not be read ({err.strerror or err})") from None
        return cls(directory, manifest, embeddings, db)

    # --- facts ---
    def __len__(self) -> int:
        return int(self.manifest["rows"])

    @property
    def model(self) -> str:
        return self.manifest["model"]

    @property
    def pretrained(self) -> str:
        return self.manifest.get("pretrained", "")

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    def check_model(self, model: str, pretrained: str | None = None) -> None:
        """Refuse a query embedded by another CLIP model than the one that built the cache."""
        same = model == self.model and (pretrained is None or (pretrained or "") == self.pretrained)
        if not same:
            build = f"memer cache build --model {model}" + (f" --pretrained {pretrained}" if pretrained else "")
            raise CacheError(
                f"The Open Images cache was built with CLIP {self.model} ({self.pretrained or 'no tag'}), "
                f"but the query was embedded with {model} ({pretrained or 'no tag'}); their vectors do not compare.",
                f"Use MEMER_CLIP_MODEL={self.model} MEMER_CLIP_PRETRAINED={self.pretrained}, or rebuild the cache "
                f"for {model} with `{build}`.",
            )

    def row(self, i: int) -> dict[str, Any]:
        found = self._db.execute(f"SELECT {', '.join(ROW_FIELDS)} FROM rows WHERE id = ?", (int(i),)).fetchone()
        if found is None:
            raise IndexError(f"row {i} is not in the cache (it has {len(self)} rows)")
        out = dict(zip(ROW_FIELDS, found))
        out["license_assumed"] = bool(out["license_assumed"])
        out["row"] = int(i)
        return out

    # --- search ---
    @property
    def searcher(self) -> Any:
        # Two first searches at once (the app's threads) must not both read the index into memory.
        with self._searcher_lock:
            if self._searcher is None:
                self._searcher = self._choose_searcher()
            return self._searcher

    def _choose_searcher(self) -> Any:
        from memer.device import cuda_device

        device = cuda_device()  # the rule CLIP follows; a MEMER_DEVICE GPU that is not there is a ModelError
        if device is not None:
            return _TorchSearch(self.embeddings, device)
        if not _cpu_int8_matmul_works():
            return _ExactScan(self.embeddings)
        try:
            return _Int8Search(self.directory, self.directory / EMBEDDINGS, self.embeddings, len(self), self.dim)
        except (ValueError, OSError, zipfile.BadZipFile) as err:  # a part changed on disk since it was opened
            raise _broken(self.directory, f"its search index could not be read ({str(err)[:120]})") from None

    def search(self, query_vector: Any, k: int = 20) -> tuple[Any, Any]:
        """Row ids and float32 scores of the ``k`` best rows, best first; exactly brute force's top k."""
        import numpy as np

        query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        if query.shape != (self.dim,):
            raise CacheError(
                f"A query of dimension {query.size} cannot search a cache of dimension {self.dim}; embed it with {self.model}."
            )
        if not np.all(np.isfinite(query)):
            raise CacheError("The query vector has NaN or infinite values.")
        k = min(int(k), len(self))
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        return self.searcher.search(query, k)

    # --- health ---
    def verify(self, *, checksums: bool = True, progress: Progress | None = None) -> CacheHealth:
        """The full check ``memer cache info`` runs (and a download before its swap): checksums, index values,
        norms, metadata fields."""
        import numpy as np

        problems = []
        files = self.manifest.get("files", {}) if checksums else {}
        for number, (name, info) in enumerate(files.items()):
            if progress is not None:
                progress(f"Checking {name}", number / (len(files) + 1))
            expected = info.get("sha256") if isinstance(info, dict) else None
            if name not in PARTS:
                problems.append(f"{name}: the manifest lists a file that is not a cache part")
            elif expected and sha256_file(self.directory / name) != expected:
                problems.append(f"{name}: sha256 differs from the manifest")
        try:
            members = checks.index_members(len(self), self.dim)
            checks.check_npz_values(self.directory / INDEX_PARAMS, list(members), checks.NORMS)
        except checks.PartProblem as err:
            problems.append(str(err))
        if progress is not None:
            progress("Checking embedding norms and metadata", len(files) / (len(files) + 1))
        bad_norms = 0
        for start in range(0, len(self), SCAN_BLOCK):
            norms = np.linalg.norm(np.asarray(self.embeddings[start : start + SCAN_BLOCK], dtype=np.float32), axis=1)
            bad_norms += int(np.sum(np.abs(norms - 1) > 1e-2))
        if bad_norms:
            problems.append(f"{bad_norms} embeddings are not unit length")
        try:
            empty = checks.bounded(
                self._db, "SELECT count(*) FROM rows WHERE image_id = '' OR split = '' OR image_url = ''"
            )[0][0]
        except (checks.PartProblem, sqlite3.Error) as err:
            problems.append(f"{METADATA}: {err}")
            empty = 0
        if empty:
            problems.append(f"{empty} metadata rows lack an image id, split or URL")
        if progress is not None:
            progress("Checked the cache", 1.0)
        return CacheHealth(not problems, problems)

    def close(self) -> None:
        if self._searcher is not None and hasattr(self._searcher, "close"):
            self._searcher.close()
        self._db.close()


def image_url(split: str, image_id: str) -> str:
    """Where Open Images serves a picture (public bucket, no credentials)."""
    return f"{settings.OPENIMAGES_URL.rstrip('/')}/{split}/{image_id}.jpg"
