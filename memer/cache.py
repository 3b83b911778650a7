"""The Open Images CLIP embedding cache: on-disk format, integrity checks and exact fast search.

One directory (``settings.CACHE_DIR``) holds:

- ``manifest.json``: format version, CLIP model and pretrained tag, dimension, row count,
  dtype, sources (with sha256), part sizes and checksums, creation time;
- ``embeddings.npy``: the L2-normalised float16 caption embeddings, memory-mapped, row i = metadata row i;
- ``metadata.sqlite``: one row per embedding (``id`` = embedding row), image id, split, caption, credit;
- ``index.npy`` + ``index.npz``: a derived search index (PCA-rotated int8 codes with per-row error
  bounds) that lets the CPU answer top-k without scanning the float16 matrix (see ``_Int8Search``).

A cache is written in a temporary folder beside the target and renamed into place only when
complete, so an interrupted write never leaves a directory that opens.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memer import __version__, settings
from memer.errors import CacheError

if TYPE_CHECKING:
    pass

FORMAT = "memer-openimages-cache"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
EMBEDDINGS = "embeddings.npy"
METADATA = "metadata.sqlite"
INDEX_HEAD = "index-head.npy"
INDEX_TAIL = "index-tail.npy"
INDEX_PARAMS = "index.npz"
PARTS = (EMBEDDINGS, METADATA, INDEX_HEAD, INDEX_TAIL, INDEX_PARAMS)

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

CC_BY_2 = ("CC BY 2.0", "https://creativecommons.org/licenses/by/2.0/")

# Slack added to every bound, far above float64 rounding in the index and the float32
# rounding of the brute-force reference (<= 512 * 2**-24 ~ 3e-5 for unit vectors).
BOUND_MARGIN = 1e-4
# Above this share of rows in the shortlist, a blockwise exact scan is cheaper than row reads.
SHORTLIST_SCAN_SHARE = 1 / 32
SCAN_BLOCK = 65_536
# The strongest rotated directions (CLIP text embeddings share a large common one) are scored in
# float32: left in int8 they would dominate the query's quantisation step and loosen every bound.
LEADING_DIMS = 8
# int8 dimensions scored for every row in stage 1; the rest only for rows stage 1 keeps.
HEAD_CODES = 120
# Gather the survivors' tail codes when at most 1/GATHER_SHARE of the rows survive, else scan them all.
GATHER_SHARE = 8

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
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.directory.parent / f".{self.directory.name}.tmp-{os.getpid()}-{time.time_ns()}"
        self.tmp.mkdir()
        self._embeddings = np.lib.format.open_memmap(
            self.tmp / EMBEDDINGS, mode="w+", dtype=np.float16, shape=(self.rows, self.dim)
        )
        self._db = sqlite3.connect(self.tmp / METADATA)
        columns = ", ".join(
            f"{name} {'INTEGER' if name == 'license_assumed' else 'TEXT'} NOT NULL" for name in ROW_FIELDS
        )
        self._db.execute(f"CREATE TABLE rows (id INTEGER PRIMARY KEY, {columns})")
        self.written = 0

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
        self._embeddings[start : start + len(rows)] = (batch / norms).astype(np.float16)
        self._db.executemany(
            f"INSERT INTO rows (id, {', '.join(ROW_FIELDS)}) VALUES ({', '.join('?' * (len(ROW_FIELDS) + 1))})",
            [(start + j, *(_field(row, name) for name in ROW_FIELDS)) for j, row in enumerate(rows)],
        )
        self.written += len(rows)

    def commit(self, *, progress: bool = False) -> Path:
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
            _write_index(self.tmp, np.asarray(embeddings), progress=progress)
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
                "files": {
                    name: {"bytes": (self.tmp / name).stat().st_size, "sha256": sha256_file(self.tmp / name)}
                    for name in PARTS
                },
                **self.extra,
            }
            (self.tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            _swap_into_place(self.tmp, self.directory)
        except BaseException:
            self.abort()  # a half-finished copy of a ~1 GB cache must not be left behind
            raise
        return self.directory

    def abort(self) -> None:
        """Drop the temporary folder; the cache in place (if any) is untouched."""
        try:
            self._db.close()
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


def _field(row: dict[str, Any], name: str) -> Any:
    value = row.get(name)
    if name == "license_assumed":
        return int(bool(value))
    return "" if value is None else str(value)


def _swap_into_place(tmp: Path, directory: Path) -> None:
    """Rename the finished folder over the target; the old cache is removed only afterwards."""
    old = None
    if directory.exists():
        old = directory.parent / f".{directory.name}.old-{os.getpid()}-{time.time_ns()}"
        directory.rename(old)
    try:
        tmp.rename(directory)
    except BaseException:
        if old is not None:
            old.rename(directory)  # put the old cache back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# --- the search index ----------------------------------------------------------------
#
# Exact top-k on a CPU without reading the 691 MB float16 matrix per query. Rows are rotated
# by the eigenvectors of X^T X (an orthogonal map, so dot products are unchanged), strongest
# direction first. The first LEADING_DIMS rotated values are kept in float32; the rest are
# quantised to int8 with one scale per dimension, split into a small "head" block and the
# "tail". Per row we store the norms of the quantisation residuals and of the codes, and the
# exact norm of the tail. A query is rotated, scaled and quantised the same way and scored
# with exact int8 x int8 -> int32 products. Cauchy-Schwarz bounds every row's error:
#
#   stage 1 (leading + head only): |exact - approx| <= |q_h| r_h + e_h |c_h| + |q_t| |x_t| + margin
#   stage 2 (all dimensions):      |exact - approx| <= |q_h| r_h + e_h |c_h| + |q_t| r_t + e_t |c_t| + margin
#
# where r are stored residual norms, c code norms, and e the query's own rounding error (the
# passes over every row use the largest r and c, the final filter each row's own). A threshold
# T below the true k-th score comes from exactly re-scoring the best few rows of stage 1, and
# is raised by the k-th best stage-2 lower bound. Only rows whose stage-1 upper bound reaches T
# get a tail score (a gather, or one scan of the tail block when many survive), and only rows
# whose stage-2 upper bound reaches T are re-scored exactly from the float16 file. No other row can be in the top k, so the
# answer equals the brute-force float32 product's for any data; the data only decides how
# much work is skipped (on anisotropic data such as CLIP text embeddings, most of it).


def _index_layout(dim: int) -> tuple[int, int, int]:
    """(leading float32 dims, head int8 dims, tail int8 dims) for a dimension."""
    leading = min(LEADING_DIMS, dim // 4)
    head = min(HEAD_CODES, (dim - leading) // 4)
    return leading, head, dim - leading - head


def _write_index(directory: Path, embeddings: Any, *, progress: bool = False, block: int = SCAN_BLOCK) -> None:
    import numpy as np

    rows, dim = embeddings.shape
    lead, head, _ = _index_layout(dim)
    split = lead + head
    second_moment = np.zeros((dim, dim), dtype=np.float64)
    for start in range(0, rows, block):
        chunk = np.asarray(embeddings[start : start + block], dtype=np.float32)
        second_moment += (chunk.T @ chunk).astype(np.float64)
    _, eigenvectors = np.linalg.eigh(second_moment)
    rotation = eigenvectors[:, ::-1].copy()  # strongest direction first
    peak = np.zeros(dim - lead, dtype=np.float64)
    for start in range(0, rows, block):
        rotated = np.asarray(embeddings[start : start + block], dtype=np.float64) @ rotation[:, lead:]
        np.maximum(peak, np.abs(rotated).max(axis=0, initial=0.0), out=peak)
    scales = np.where(peak > 0, peak / 127.0, 1.0)
    head_codes = np.lib.format.open_memmap(directory / INDEX_HEAD, mode="w+", dtype=np.int8, shape=(rows, head))
    tail_codes = np.lib.format.open_memmap(directory / INDEX_TAIL, mode="w+", dtype=np.int8, shape=(rows, dim - split))
    per_row = {
        name: np.empty(rows, dtype=np.float32)
        for name in ("residual_head", "residual_tail", "code_norm_head", "code_norm_tail", "tail_norm")
    }
    leading = np.empty((rows, lead), dtype=np.float32)
    for start in range(0, rows, block):
        rotated = np.asarray(embeddings[start : start + block], dtype=np.float64) @ rotation
        stop = start + len(rotated)
        leading[start:stop] = rotated[:, :lead]
        quantised = np.clip(np.rint(rotated[:, lead:] / scales), -127, 127)
        head_codes[start:stop] = quantised[:, :head].astype(np.int8)
        tail_codes[start:stop] = quantised[:, head:].astype(np.int8)
        error = np.concatenate(
            [rotated[:, :lead] - leading[start:stop], rotated[:, lead:] - quantised * scales], axis=1
        )
        # Norms are rounded up to float32 so a stored bound is never below the true one.
        per_row["residual_head"][start:stop] = _round_up(np.linalg.norm(error[:, :split], axis=1))
        per_row["residual_tail"][start:stop] = _round_up(np.linalg.norm(error[:, split:], axis=1))
        per_row["code_norm_head"][start:stop] = _round_up(np.linalg.norm(quantised[:, :head], axis=1))
        per_row["code_norm_tail"][start:stop] = _round_up(np.linalg.norm(quantised[:, head:], axis=1))
        per_row["tail_norm"][start:stop] = _round_up(np.linalg.norm(rotated[:, split:], axis=1))
    head_codes.flush()
    tail_codes.flush()
    del head_codes, tail_codes
    np.savez(directory / INDEX_PARAMS, rotation=rotation, scales=scales, leading=leading, **per_row)


def _round_up(values: Any) -> Any:
    import numpy as np

    as32 = values.astype(np.float32)
    return np.where(as32.astype(np.float64) < values, np.nextafter(as32, np.float32(np.inf)), as32)


def _pick_top(ids: Any, scores: Any, k: int) -> tuple[Any, Any]:
    """Best ``k`` by score descending, ties by lower row id (so results are deterministic)."""
    import numpy as np

    order = np.lexsort((ids, -scores.astype(np.float64)))[:k]
    return ids[order].astype(np.int64), scores[order].astype(np.float32)


class _ExactScan:
    """Blockwise float16 -> float32 product over the memory map; exact, slow, needs only numpy."""

    name = "numpy-exact-scan"

    def __init__(self, embeddings: Any) -> None:
        self.embeddings = embeddings

    def search(self, query: Any, k: int) -> tuple[Any, Any]:
        return _scan_top(self.embeddings, query, k)


def _scan_top(embeddings: Any, query: Any, k: int, block: int = SCAN_BLOCK) -> tuple[Any, Any]:
    import numpy as np

    best_ids = np.empty(0, dtype=np.int64)
    best_scores = np.empty(0, dtype=np.float32)
    for start in range(0, len(embeddings), block):
        scores = np.asarray(embeddings[start : start + block], dtype=np.float32) @ query
        # Everything tied with the block's k-th score stays, so ties resolve by row id as elsewhere.
        keep = (
            np.flatnonzero(scores >= np.partition(scores, len(scores) - k)[len(scores) - k])
            if len(scores) > k
            else np.arange(len(scores))
        )
        best_ids = np.concatenate([best_ids, keep + start])
        best_scores = np.concatenate([best_scores, scores[keep]])
        best_ids, best_scores = _pick_top(best_ids, best_scores, k)
    return best_ids, best_scores


class _Int8Search:
    """CPU search: exact integer products on int8 codes, proven bounds, exact re-scoring of a shortlist."""

    name = "cpu-int8-bounded"

    def __init__(self, directory: Path, embeddings: Any, rows: int, dim: int) -> None:
        import numpy as np
        import torch

        self.torch = torch
        self.embeddings = embeddings
        self.rows, self.dim = rows, dim
        self.lead, self.head, _ = _index_layout(dim)
        # Read into memory once (~380 MB for 675k rows, a fraction of a second from the page cache):
        # a memory map would take a page fault on every first touch, and the gather of stage 2
        # touches rows scattered over the whole tail block.
        self.head_codes = torch.from_numpy(np.load(directory / INDEX_HEAD, allow_pickle=False))
        self.tail_codes = torch.from_numpy(np.load(directory / INDEX_TAIL, allow_pickle=False))
        with np.load(directory / INDEX_PARAMS, allow_pickle=False) as params:
            self.rotation = params["rotation"]
            self.scales = params["scales"]
            self.leading = torch.from_numpy(params["leading"])
            self.tail_norms = params["tail_norm"]
            self.per_row = {
                name: params[name].astype(np.float64)
                for name in ("residual_head", "residual_tail", "code_norm_head", "code_norm_tail")
            }
        for name, values in self.per_row.items():
            setattr(self, name + "_max", float(values.max(initial=0.0)))
        # Re-scoring reads single rows with pread, so the float16 matrix never becomes resident.
        self._fd = os.open(directory / EMBEDDINGS, os.O_RDONLY)
        self._offset = embeddings.offset
        self._row_bytes = dim * 2
        self.last_shortlist = 0
        self.last_survivors = 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()

    @staticmethod
    def _quantise(weighted: Any) -> tuple[Any, float, float]:
        """int8 codes for a scaled query part, their step and the exact rounding error norm."""
        import numpy as np

        step = float(np.abs(weighted).max(initial=0.0)) / 127.0 or 1.0
        codes = np.clip(np.rint(weighted / step), -127, 127)
        return codes.astype(np.int8).reshape(-1, 1), step, float(np.linalg.norm(weighted - codes * step))

    def search(self, query: Any, k: int) -> tuple[Any, Any]:
        import numpy as np

        torch = self.torch
        lead, split = self.lead, self.lead + self.head
        rotated = query.astype(np.float64) @ self.rotation
        head_code, head_step, head_error = self._quantise(rotated[lead:split] * self.scales[: self.head])
        tail_code, tail_step, tail_error = self._quantise(rotated[split:] * self.scales[self.head :])
        head_norm, tail_norm = float(np.linalg.norm(rotated[:split])), float(np.linalg.norm(rotated[split:]))

        # Stage 1: leading (float32) + head codes; the tail is bounded by |q_t| |x_t|.
        # float32 is exact enough: int32 sums stay below 2**24 and other rounding (< 1e-6) is in BOUND_MARGIN.
        approx = torch._int_mm(self.head_codes, torch.from_numpy(head_code)).view(-1).to(torch.float32)
        approx.mul_(head_step).add_(self.leading @ torch.from_numpy(rotated[:lead].astype(np.float32)))
        approx = approx.numpy()
        # Quantisation slack, bounded by its largest value over the rows (the stored per-row
        # norms vary little, and a looser bound only lengthens the exactly re-scored shortlist).
        head_slack = head_norm * self.residual_head_max + head_error * self.code_norm_head_max + BOUND_MARGIN
        tail_slack = tail_norm * self.residual_tail_max + tail_error * self.code_norm_tail_max
        upper = self.tail_norms * np.float32(tail_norm)
        upper += approx

        # T: the k-th best exact score among the most promising rows, a lower bound on the true k-th.
        probe = np.sort(
            torch.topk(torch.from_numpy(approx), min(self.rows, max(2 * k, 64)), sorted=False).indices.numpy()
        )
        probe_scores = self._exact(probe, query)
        threshold = float(np.partition(probe_scores, len(probe) - k)[len(probe) - k])

        # Stage 2: tail scores for the rows stage 1 cannot rule out; when many survive, one scan
        # of the whole tail block is cheaper than a gather (and its extra rows are harmless: the
        # bounds hold for every row).
        alive = upper >= threshold - head_slack
        self.last_survivors = int(np.count_nonzero(alive))
        tail_query = torch.from_numpy(tail_code)
        if self.last_survivors * GATHER_SHARE <= self.rows:
            rows = np.flatnonzero(alive)
            tail_ints = (
                torch._int_mm(self.tail_codes.index_select(0, torch.from_numpy(rows)), tail_query).view(-1).numpy()
            )
            full = tail_ints.astype(np.float32)
            full *= np.float32(tail_step)
            full += approx[rows]
        else:
            rows = None
            full = torch._int_mm(self.tail_codes, tail_query).view(-1).to(torch.float32).mul_(tail_step).numpy()
            full += approx
        slack = head_slack + tail_slack
        if len(full) >= k:
            kth_full = float(torch.topk(torch.from_numpy(full), k, sorted=False).values.min())
            threshold = max(threshold, kth_full - slack)
        keep = np.flatnonzero(full >= threshold - slack)
        candidates = rows[keep] if rows is not None else keep
        # The few rows left get their own (tighter) slack before the costlier exact reads.
        own_slack = self._row_slack(candidates, head_norm, head_error, tail_norm, tail_error)
        candidates = candidates[full[keep] + own_slack >= threshold]
        shortlist = np.setdiff1d(candidates, probe, assume_unique=True)
        self.last_shortlist = len(shortlist) + len(probe)
        if len(shortlist) > self.rows * SHORTLIST_SCAN_SHARE:
            return _scan_top(self.embeddings, query, k)
        ids = np.concatenate([probe, shortlist])
        return _pick_top(ids, np.concatenate([probe_scores, self._exact(shortlist, query)]), k)

    def _row_slack(self, ids: Any, head_norm: float, head_error: float, tail_norm: float, tail_error: float) -> Any:
        """Each row's own error bound (stage 2), from its stored residual and code norms."""
        r = self.per_row
        slack = r["residual_head"][ids] * head_norm + r["code_norm_head"][ids] * head_error
        slack += r["residual_tail"][ids] * tail_norm + r["code_norm_tail"][ids] * tail_error
        return slack + BOUND_MARGIN

    def _exact(self, ids: Any, query: Any) -> Any:
        """The brute-force float32 scores of some rows, read one by one (sorted ids read best)."""
        import numpy as np

        out = bytearray(len(ids) * self._row_bytes)
        view = memoryview(out)
        size = self._row_bytes
        for j, row in enumerate(ids.tolist()):
            view[j * size : (j + 1) * size] = os.pread(self._fd, size, self._offset + row * size)
        vectors = np.frombuffer(out, dtype=np.float16).reshape(len(ids), self.dim)
        return vectors.astype(np.float32) @ query


class _TorchSearch:
    """GPU search: the float16 matrix lives on the device; scores are exact float32 products."""

    name = "torch-exact"

    def __init__(self, embeddings: Any, device: str) -> None:
        import numpy as np
        import torch

        self.torch = torch
        self.device = device
        matrix = torch.empty(embeddings.shape, dtype=torch.float16, device=device)
        for start in range(0, len(embeddings), SCAN_BLOCK):
            matrix[start : start + SCAN_BLOCK] = torch.from_numpy(np.array(embeddings[start : start + SCAN_BLOCK])).to(
                device
            )
        self.matrix = matrix

    def search(self, query: Any, k: int) -> tuple[Any, Any]:
        import numpy as np

        torch = self.torch
        q = torch.from_numpy(query.astype(np.float32)).to(self.device)
        parts = [self.matrix[s : s + SCAN_BLOCK].float() @ q for s in range(0, len(self.matrix), SCAN_BLOCK)]
        scores = torch.cat(parts)
        # Widen the cut a little so ties at the k-th place resolve by row id like the CPU path.
        kth = torch.topk(scores, k, sorted=False).values.min()
        ids = torch.nonzero(scores >= kth).flatten()
        return _pick_top(ids.cpu().numpy(), scores[ids].cpu().numpy(), k)


def _cpu_int8_matmul_works() -> bool:
    """Whether this torch has an exact CPU int8 x int8 -> int32 product (older builds lack it)."""
    try:
        import torch

        a = torch.tensor([[100, -7], [3, 127], [-128, 5]], dtype=torch.int8)
        b = torch.tensor([[127], [-100]], dtype=torch.int8)
        return torch._int_mm(a, b).view(-1).tolist() == [13400, -12319, -16756]
    except Exception:  # noqa: BLE001 - ImportError, a missing op, or no CPU kernel
        return False


def _cuda_device() -> str | None:
    """The device for search: settings.DEVICE when set, else cuda when torch sees one."""
    wanted = settings.DEVICE.strip()
    if wanted:
        return None if wanted == "cpu" else wanted
    try:
        import torch
    except ImportError:
        return None
    return "cuda" if torch.cuda.is_available() else None


# --- reading -------------------------------------------------------------------------


@dataclass
class CacheHealth:
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
        return writer.commit()

    @classmethod
    def open(cls, directory: str | Path | None = None) -> EmbeddingCache:
        """Open and check a cache (fast: sizes and shapes, not checksums; see ``verify``)."""
        import numpy as np

        directory = Path(directory if directory is not None else settings.cache_dir())
        manifest_path = directory / MANIFEST
        if not manifest_path.is_file():
            raise CacheError(f"No Open Images cache in {directory} (no {MANIFEST}).", REBUILD_HINT)
        try:
            manifest = json.loads(manifest_path.read_text())
            rows, dim = int(manifest["rows"]), int(manifest["dim"])
            files = manifest["files"]
        except (ValueError, KeyError, TypeError) as err:
            raise _broken(directory, f"{MANIFEST} is unreadable ({err})") from None
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise _broken(
                directory,
                f"format {manifest.get('format')!r} v{manifest.get('format_version')} is not {FORMAT!r} v{FORMAT_VERSION}",
            )
        for name in PARTS:
            path = directory / name
            if not path.is_file():
                raise _broken(directory, f"{name} is missing")
            expected = (files.get(name) or {}).get("bytes")
            if expected is not None and path.stat().st_size != expected:
                raise _broken(directory, f"{name} is {path.stat().st_size} bytes, the manifest says {expected}")
        try:
            embeddings = np.load(directory / EMBEDDINGS, mmap_mode="r", allow_pickle=False)
            codes = [np.load(directory / name, mmap_mode="r", allow_pickle=False) for name in (INDEX_HEAD, INDEX_TAIL)]
        except (ValueError, OSError) as err:
            raise _broken(directory, f"an array file is damaged ({err})") from None
        if embeddings.shape != (rows, dim) or embeddings.dtype != np.float16:
            raise _broken(
                directory,
                f"{EMBEDDINGS} holds {embeddings.dtype} {embeddings.shape}, the manifest says float16 ({rows}, {dim})",
            )
        for name, array, width in zip((INDEX_HEAD, INDEX_TAIL), codes, _index_layout(dim)[1:]):
            if array.shape != (rows, width) or array.dtype != np.int8:
                raise _broken(directory, f"{name} holds {array.dtype} {array.shape}, expected int8 ({rows}, {width})")
        db = None
        try:
            db = sqlite3.connect(f"file:{directory / METADATA}?mode=ro", uri=True, check_same_thread=False)
            low, high, count = db.execute("SELECT min(id), max(id), count(*) FROM rows").fetchone()
        except sqlite3.Error as err:
            if db is not None:
                db.close()
            raise _broken(directory, f"{METADATA} is damaged ({err})") from None
        if count != rows or (rows and (low, high) != (0, rows - 1)):
            db.close()
            raise _broken(directory, f"{METADATA} has {count} rows, the manifest says {rows}")
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
        device = _cuda_device()
        if device is not None:
            return _TorchSearch(self.embeddings, device)
        if not _cpu_int8_matmul_works():
            return _ExactScan(self.embeddings)
        return _Int8Search(self.directory, self.embeddings, len(self), self.dim)

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
    def verify(self, *, progress: bool = False) -> CacheHealth:
        """The full check ``memer cache info`` runs: checksums, norms, metadata fields."""
        import numpy as np

        problems = []
        for name, info in self.manifest.get("files", {}).items():
            expected = info.get("sha256")
            if expected and sha256_file(self.directory / name) != expected:
                problems.append(f"{name}: sha256 differs from the manifest")
        bad_norms = 0
        for start in range(0, len(self), SCAN_BLOCK):
            norms = np.linalg.norm(np.asarray(self.embeddings[start : start + SCAN_BLOCK], dtype=np.float32), axis=1)
            bad_norms += int(np.sum(np.abs(norms - 1) > 1e-2))
        if bad_norms:
            problems.append(f"{bad_norms} embeddings are not unit length")
        empty = self._db.execute(
            "SELECT count(*) FROM rows WHERE image_id = '' OR split = '' OR image_url = ''"
        ).fetchone()[0]
        if empty:
            problems.append(f"{empty} metadata rows lack an image id, split or URL")
        return CacheHealth(not problems, problems)

    def close(self) -> None:
        if self._searcher is not None and hasattr(self._searcher, "close"):
            self._searcher.close()
        self._db.close()


# --- merging shards ------------------------------------------------------------------


def merge_shards(shard_dirs: Iterable[str | Path], directory: str | Path) -> Path:
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
    try:
        for shard in shards:
            for start in range(0, len(shard), SCAN_BLOCK):
                stop = min(start + SCAN_BLOCK, len(shard))
                writer.add(
                    np.asarray(shard.embeddings[start:stop], dtype=np.float32),
                    [shard.row(i) for i in range(start, stop)],
                )
            shard.close()
    except BaseException:
        writer.abort()
        raise
    return writer.commit()


def _source_sums(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((s.get("name", ""), s.get("sha256", "")) for s in manifest.get("sources", []))


def _carry_extra(manifest: dict[str, Any]) -> dict[str, Any]:
    return {key: manifest[key] for key in ("build",) if key in manifest}


# --- legacy import -------------------------------------------------------------------


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
    embeddings_path: str | Path, annotations_path: str | Path, directory: str | Path | None = None
) -> Path:
    """Turn the original AI-Memer files (ViT-B/32 float16 .npy + annotations pickle) into a cache."""
    import numpy as np

    directory = Path(directory if directory is not None else settings.cache_dir())
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
    )


def legacy_row(key: str, description: str, author: str) -> dict[str, Any]:
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


def image_url(split: str, image_id: str) -> str:
    """Where Open Images serves a picture (public bucket, no credentials)."""
    return f"{settings.OPENIMAGES_URL.rstrip('/')}/{split}/{image_id}.jpg"
