"""The exact search on its own: the int8 index and the other searchers equal brute force, for any data.

Indexes are built here with ``index.py``'s functions alone (no manifest, no metadata), which
also shows the module needs nothing from the on-disk format around it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from memer.sources.openimages import index
from memer.sources.openimages.index import INDEX_PARTS, _ExactScan, _Int8Search, _TorchSearch, _write_index
from tests.openimages_data import assert_exact_top_k, unit_rows

ROOT = Path(__file__).resolve().parents[1]


class Indexed:
    """Rows stored the way the writer stores them (unit length, float16) and searched by ``_Int8Search``."""

    def __init__(self, directory: Path, data: np.ndarray) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        data = np.asarray(data, dtype=np.float32)
        np.save(directory / "rows.npy", (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float16))
        self.embeddings = np.load(directory / "rows.npy", mmap_mode="r")
        _write_index(directory, np.asarray(self.embeddings))
        rows, dim = self.embeddings.shape
        self.searcher = _Int8Search(directory, directory / "rows.npy", self.embeddings, rows, dim)

    def search(self, query: np.ndarray, k: int):
        # EmbeddingCache.search caps k at the row count before asking a searcher; so does this.
        return self.searcher.search(np.asarray(query, dtype=np.float32).reshape(-1), min(int(k), len(self.embeddings)))


def test_the_index_imports_nothing_from_the_store():
    tree = ast.parse((ROOT / "memer" / "sources" / "openimages" / "index.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports: they would reach the package's other modules"
            imported.add(node.module or "")
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert not [name for name in imported if "store" in name or name.startswith("memer.sources")], imported
    assert not [name for name in imported if name.startswith("memer")], "the index needs no other part of memer"


def test_write_index_writes_its_parts(tmp_path):
    cache = Indexed(tmp_path, unit_rows(np.random.default_rng(0), 50, 32))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*INDEX_PARTS, "rows.npy"])
    lead, head, tail = index._index_layout(32)
    assert (lead, head, tail) == (8, 6, 18)
    assert np.load(tmp_path / index.INDEX_HEAD).shape == (50, head)
    assert np.load(tmp_path / index.INDEX_TAIL).shape == (50, tail)
    assert cache.searcher.name == "cpu-int8-bounded"


def test_write_index_reports_progress(tmp_path):
    data = unit_rows(np.random.default_rng(1), 300, 16).astype(np.float16)
    seen = []
    _write_index(tmp_path, data, progress=lambda message, fraction: seen.append((message, fraction)), block=100)
    assert [fraction for _, fraction in seen] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert seen[-1][0] == "Writing the search index (300/300 rows)"


@pytest.mark.parametrize("anisotropic", [False, True])
@pytest.mark.parametrize("dim", [32, 64])
def test_search_equals_brute_force(tmp_path, anisotropic, dim):
    rng = np.random.default_rng(dim + anisotropic)
    cache = Indexed(tmp_path, unit_rows(rng, 4000, dim, anisotropic))
    assert cache.searcher.name == "cpu-int8-bounded"
    stored = np.asarray(cache.embeddings, dtype=np.float32)
    queries = [unit_rows(rng, 1, dim, anisotropic)[0] for _ in range(6)] + [stored[5], stored[5] * 3, -stored[9]]
    for query in queries:
        for k in (1, 3, 20, 100):
            assert_exact_top_k(cache, query, k)


def test_search_with_ties_and_duplicates(tmp_path):
    rng = np.random.default_rng(3)
    base = unit_rows(rng, 40, 32)
    data = np.repeat(base, 25, axis=0)  # every vector 25 times: ties everywhere
    cache = Indexed(tmp_path, data)
    for query in (base[0], base[17], unit_rows(rng, 1, 32)[0]):
        for k in (1, 10, 25, 26, 60):
            assert_exact_top_k(cache, query, k)
    ids, _ = cache.search(base[0], 25)
    assert sorted(ids.tolist()) == list(range(25))  # the 25 copies of row 0, lowest ids for ties


def test_search_on_identical_rows_falls_back_to_a_scan(tmp_path):
    data = np.tile(unit_rows(np.random.default_rng(4), 1, 16), (500, 1))
    cache = Indexed(tmp_path, data)
    ids, scores = cache.search(data[0], 5)
    assert cache.searcher.last_shortlist == 500  # no row can be ruled out
    assert ids.tolist() == [0, 1, 2, 3, 4] and np.allclose(scores, scores[0])


@pytest.mark.parametrize("searcher", ["numpy", "torch-cpu"])
def test_other_searchers_are_exact(tmp_path, searcher):
    rng = np.random.default_rng(7)
    cache = Indexed(tmp_path, unit_rows(rng, 3000, 32))
    if searcher == "numpy":
        cache.searcher = _ExactScan(cache.embeddings)
    else:
        cache.searcher = _TorchSearch(cache.embeddings, "cpu")  # the GPU code path, on the CPU
    for query in (unit_rows(rng, 1, 32)[0], np.asarray(cache.embeddings[3], np.float32)):
        for k in (1, 20, 200):
            assert_exact_top_k(cache, query, k)


def test_cpu_int8_product_check(monkeypatch):
    import torch

    assert index._cpu_int8_matmul_works() is True  # the torch this suite runs on has the kernel

    def missing(*args, **kwargs):
        raise RuntimeError("_int_mm not implemented for CPU")

    monkeypatch.setattr(torch, "_int_mm", missing)
    assert index._cpu_int8_matmul_works() is False


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.integers(1, 120),
    dim=st.sampled_from([4, 16, 40]),
    levels=st.sampled_from([2, 3, 255]),  # few levels: many exact ties
    k=st.integers(1, 130),
    seed=st.integers(0, 2**32 - 1),
)
def test_search_is_exact_for_any_data(tmp_path_factory, rows, dim, levels, k, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(-(levels // 2), levels // 2 + 1, (rows, dim)).astype(np.float32)
    data[np.all(data == 0, axis=1), 0] = 1.0  # no zero rows
    query = rng.integers(-(levels // 2), levels // 2 + 1, dim).astype(np.float32)
    cache = Indexed(tmp_path_factory.mktemp("h"), data)
    assert_exact_top_k(cache, query, k)
