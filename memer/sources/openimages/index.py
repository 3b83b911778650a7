"""Exact top-k search over the cache's float16 embeddings, and the int8 index that makes it fast on a CPU.

Kept apart from the on-disk format (``store.py``) so the proof below sits next to the only
code it is about. This module knows the index's own files and nothing of manifests or
metadata: callers pass it folders, arrays and the embeddings file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

INDEX_HEAD = "index-head.npy"
INDEX_TAIL = "index-tail.npy"
INDEX_PARAMS = "index.npz"
INDEX_PARTS = (INDEX_HEAD, INDEX_TAIL, INDEX_PARAMS)

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

# Called as progress(message, fraction): fraction in [0, 1], or None when unknown.
# memer.progress.Progress, spelled out here so the index stands alone (it imports no other part of memer).
Progress = Callable[[str, "float | None"], None]

# --- the proof -----------------------------------------------------------------------
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


def _write_index(
    directory: Path, embeddings: Any, *, progress: Progress | None = None, block: int = SCAN_BLOCK
) -> None:
    """Write ``INDEX_PARTS`` into ``directory`` for an N x D array of unit rows (three passes over it)."""
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
    per_row: dict[str, Any] = {
        name: np.empty(rows, dtype=np.float32)
        for name in ("residual_head", "residual_tail", "code_norm_head", "code_norm_tail", "tail_norm")
    }
    leading = np.empty((rows, lead), dtype=np.float32)
    for start in range(0, rows, block):
        if progress is not None:
            progress(f"Writing the search index ({start}/{rows} rows)", start / rows if rows else 1.0)
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
    if progress is not None:
        progress(f"Writing the search index ({rows}/{rows} rows)", 1.0)


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

    def __init__(self, directory: Path, embeddings_file: Path, embeddings: Any, rows: int, dim: int) -> None:
        """``directory`` holds ``INDEX_PARTS``; ``embeddings`` is the memory map of ``embeddings_file``."""
        import numpy as np
        import torch

        self._fd = -1  # first: close() (and __del__) must work on a half-built searcher
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
        maxima = {name: float(values.max(initial=0.0)) for name, values in self.per_row.items()}
        self.residual_head_max, self.residual_tail_max = maxima["residual_head"], maxima["residual_tail"]
        self.code_norm_head_max, self.code_norm_tail_max = maxima["code_norm_head"], maxima["code_norm_tail"]
        # Re-scoring reads single rows with pread, so the float16 matrix never becomes resident.
        self._fd = os.open(embeddings_file, os.O_RDONLY)
        self._offset = embeddings.offset
        self._row_bytes = dim * 2
        self.last_shortlist = 0
        self.last_survivors = 0

    def close(self) -> None:
        fd, self._fd = getattr(self, "_fd", -1), -1
        if fd >= 0:
            os.close(fd)

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
