"""The cache on disk: format, atomic writes, integrity checks, search dispatch, model guard, progress."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from memer import settings
from memer.errors import CacheError, ModelError
from memer.sources.openimages import store as cache_module
from memer.sources.openimages.index import _cpu_int8_matmul_works
from memer.sources.openimages.store import EmbeddingCache
from tests.openimages_data import assert_exact_top_k, make_rows, unit_rows


def write_cache(tmp_path: Path, data: np.ndarray, name: str = "c") -> EmbeddingCache:
    EmbeddingCache.write(tmp_path / name, data, make_rows(len(data)), model="ViT-B-32", pretrained="openai")
    return EmbeddingCache.open(tmp_path / name)


# --- round trip and metadata --------------------------------------------------------


def test_write_open_round_trip(tmp_path):
    data = unit_rows(np.random.default_rng(0), 300, 48)
    cache = write_cache(tmp_path, data)
    assert len(cache) == 300 and cache.dim == 48
    assert cache.embeddings.dtype == np.float16
    np.testing.assert_allclose(np.linalg.norm(np.asarray(cache.embeddings, np.float32), axis=1), 1, atol=2e-3)
    row = cache.row(7)
    assert row["image_id"] == f"{7:016x}" and row["author"] == "author 7" and row["row"] == 7
    assert row["license_assumed"] is False
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert (
        manifest["rows"] == 300
        and manifest["dim"] == 48
        and manifest["dtype"] == "float16"
        and manifest["normalised"] is True
    )
    assert set(manifest["files"]) == set(cache_module.PARTS)
    with pytest.raises(IndexError):
        cache.row(300)
    assert cache.verify().ok


def test_write_normalises_and_rejects_mismatches(tmp_path):
    data = np.random.default_rng(1).standard_normal((10, 16)).astype(np.float32) * 5
    cache = write_cache(tmp_path, data)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(cache.embeddings, np.float32), axis=1), 1, atol=2e-3)
    with pytest.raises(CacheError, match="must match"):
        EmbeddingCache.write(tmp_path / "bad", data, make_rows(9), model="m", pretrained="p")
    with pytest.raises(CacheError, match="zero"):
        EmbeddingCache.write(tmp_path / "zero", np.zeros((2, 16)), make_rows(2), model="m", pretrained="p")
    assert not (tmp_path / "zero").exists()
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")]
    assert not leftovers, "temporary folders are cleaned up (the writers' lock files stay)"


def test_failed_rewrite_keeps_the_old_cache(tmp_path):
    data = unit_rows(np.random.default_rng(2), 50, 16)
    write_cache(tmp_path, data)
    broken = data.copy()
    broken[30] = np.nan
    with pytest.raises(CacheError):
        EmbeddingCache.write(tmp_path / "c", broken, make_rows(50), model="m", pretrained="p")
    assert len(EmbeddingCache.open(tmp_path / "c")) == 50
    assert EmbeddingCache.open(tmp_path / "c").model == "ViT-B-32"


def test_interrupted_write_leaves_nothing_that_opens(tmp_path):
    writer = cache_module.CacheWriter(tmp_path / "c", 10, 8, model="m", pretrained="p")
    writer.add(np.ones((4, 8)), make_rows(4))
    # The process dies here: the temporary folder has no manifest and the target does not exist.
    with pytest.raises(CacheError, match="No Open Images cache"):
        EmbeddingCache.open(tmp_path / "c")
    with pytest.raises(CacheError, match="No Open Images cache"):
        EmbeddingCache.open(writer.tmp)
    with pytest.raises(CacheError, match="Only 4 of 10"):
        writer.commit()
    assert not writer.tmp.exists()


def _fail(*args, **kwargs):
    raise OSError(28, "No space left on device")


def _names(folder: Path) -> list[str]:
    """What a folder holds, less the writers' lock files (they stay, like any lock file)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


@pytest.mark.parametrize("step", ["_write_index", "sha256_file", "swap_into_place", "json.dumps"])
@pytest.mark.parametrize("existing", [False, True], ids=["new", "rewrite"])
def test_a_failed_commit_leaves_no_temporary_folder(tmp_path, monkeypatch, step, existing):
    data = unit_rows(np.random.default_rng(3), 20, 8)
    if existing:
        write_cache(tmp_path, data)
    target = cache_module.json if step == "json.dumps" else cache_module
    monkeypatch.setattr(target, step.split(".")[-1], _fail)
    with pytest.raises(CacheError, match=rf"The disk holding {tmp_path} is full \(No space left on device\)"):
        EmbeddingCache.write(tmp_path / "c", data, make_rows(20), model="m", pretrained="p")
    assert _names(tmp_path) == (["c"] if existing else [])
    monkeypatch.undo()
    if existing:
        assert EmbeddingCache.open(tmp_path / "c").model == "ViT-B-32", "the old cache is untouched"
    else:
        with pytest.raises(CacheError, match="No Open Images cache"):
            EmbeddingCache.open(tmp_path / "c")


def test_a_failed_swap_puts_the_old_cache_back(tmp_path, monkeypatch):
    data = unit_rows(np.random.default_rng(4), 20, 8)
    write_cache(tmp_path, data)
    real_rename = Path.rename

    def rename(self, target):
        if self.name.startswith(".c.tmp-"):
            raise OSError(18, "Invalid cross-device link")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError, match="cross-device"):
        EmbeddingCache.write(tmp_path / "c", data, make_rows(20), model="m", pretrained="p")
    monkeypatch.undo()
    assert _names(tmp_path) == ["c"]
    assert EmbeddingCache.open(tmp_path / "c").model == "ViT-B-32"


# --- search dispatch (the searchers themselves: test_sources_openimages_index.py) ----


def test_search_through_the_cache_equals_brute_force(tmp_path):
    rng = np.random.default_rng(64)
    cache = write_cache(tmp_path, unit_rows(rng, 4000, 64, anisotropic=True))
    assert cache.searcher.name == "cpu-int8-bounded"
    for k in (1, 20, 4000):
        assert_exact_top_k(cache, unit_rows(rng, 1, 64, anisotropic=True)[0], k)


@pytest.mark.parametrize("k", [0, -3])
def test_search_k_edge_cases(tmp_path, k):
    cache = write_cache(tmp_path, unit_rows(np.random.default_rng(5), 30, 16))
    ids, scores = cache.search(np.ones(16), k)
    assert len(ids) == 0 and len(scores) == 0
    ids, _ = cache.search(np.ones(16), 1000)
    assert len(ids) == 30


def test_search_rejects_bad_queries(tmp_path):
    cache = write_cache(tmp_path, unit_rows(np.random.default_rng(6), 30, 16))
    with pytest.raises(CacheError, match="dimension 8"):
        cache.search(np.ones(8))
    with pytest.raises(CacheError, match="NaN"):
        cache.search(np.full(16, np.nan))


@pytest.mark.parametrize(
    ("device_setting", "cuda", "expected"),
    [("", True, "cuda"), ("", False, None), ("cpu", True, None), ("cuda:1", False, ModelError)],
)
def test_device_choice(monkeypatch, device_setting, cuda, expected):
    import torch

    from memer.device import cuda_device

    monkeypatch.setattr(settings, "DEVICE", device_setting)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    if expected is ModelError:  # the same answer CLIP gets: a GPU that is not there is an error, not a crash
        with pytest.raises(ModelError, match="no CUDA GPU"):
            cuda_device()
    else:
        assert cuda_device() == expected


def test_a_missing_gpu_asked_for_is_a_clear_error_at_search(tmp_path, monkeypatch):
    import torch

    cache = write_cache(tmp_path, unit_rows(np.random.default_rng(8), 20, 8))
    monkeypatch.setattr(settings, "DEVICE", "cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ModelError, match="MEMER_DEVICE=cuda:1"):
        cache.search(np.ones(8), 3)


def test_gpu_is_used_when_cuda_is_available(tmp_path, monkeypatch):
    import torch

    cache = write_cache(tmp_path, unit_rows(np.random.default_rng(8), 100, 16))
    monkeypatch.setattr(settings, "DEVICE", "")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    seen = {}

    class FakeTorchSearch:
        def __init__(self, embeddings, device):
            seen["device"] = device

    monkeypatch.setattr(cache_module, "_TorchSearch", FakeTorchSearch)
    assert isinstance(cache.searcher, FakeTorchSearch) and seen["device"] == "cuda"


# --- model guard ---------------------------------------------------------------------


def test_model_guard_names_both_models(tmp_path):
    cache = write_cache(tmp_path, unit_rows(np.random.default_rng(9), 10, 16))
    cache.check_model("ViT-B-32", "openai")
    with pytest.raises(CacheError) as err:
        cache.check_model("ViT-L-14", "laion2b_s32b_b82k")
    assert "ViT-B-32" in str(err.value) and "ViT-L-14" in str(err.value) and "laion2b_s32b_b82k" in str(err.value)
    with pytest.raises(CacheError, match="ViT-B-32"):
        cache.check_model("ViT-B-32", "laion400m_e32")


@pytest.mark.parametrize(
    ("model", "pretrained", "command"),
    [
        ("ViT-L-14", "laion2b_s32b_b82k", "`memer cache build --model ViT-L-14 --pretrained laion2b_s32b_b82k`."),
        ("ViT-L-14", "", "`memer cache build --model ViT-L-14`."),
        ("ViT-L-14", None, "`memer cache build --model ViT-L-14`."),
        ("local-dir:/models/clip", "", "`memer cache build --model local-dir:/models/clip`."),
    ],
)
def test_model_guard_hint_names_the_rebuild_command(tmp_path, model, pretrained, command):
    cache = write_cache(tmp_path, unit_rows(np.random.default_rng(9), 10, 16))
    with pytest.raises(CacheError) as err:
        cache.check_model(model, pretrained)
    assert str(err.value).endswith(command)
    assert "--pretrained `" not in str(err.value) and "--pretrained  " not in str(err.value)


def test_a_failing_row_count_closes_the_database(tmp_path, monkeypatch):
    write_cache(tmp_path, unit_rows(np.random.default_rng(5), 10, 8))
    opened = []
    real_connect = sqlite3.connect

    class Connection:
        def __init__(self, *args, **kwargs):
            self.real = real_connect(*args, **kwargs)
            self.closed = False
            opened.append(self)

        def execute(self, *args):
            raise sqlite3.DatabaseError("database disk image is malformed")

        def set_progress_handler(self, *args):
            self.real.set_progress_handler(*args)

        def close(self):
            self.closed = True
            self.real.close()

    monkeypatch.setattr(cache_module.sqlite3, "connect", Connection)
    with pytest.raises(CacheError, match="damaged"):
        EmbeddingCache.open(tmp_path / "c")
    assert len(opened) == 1 and opened[0].closed


def test_concurrent_first_searches_build_the_searcher_once(tmp_path, monkeypatch):
    import threading
    import time as time_module

    cache = write_cache(tmp_path, unit_rows(np.random.default_rng(6), 40, 8))
    built = []
    real_choose = EmbeddingCache._choose_searcher

    def slow_choose(self):
        built.append(1)
        time_module.sleep(0.2)  # the index being read into memory
        return real_choose(self)

    monkeypatch.setattr(EmbeddingCache, "_choose_searcher", slow_choose)
    query = unit_rows(np.random.default_rng(7), 1, 8)[0]
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.search(query, 3)[0].tolist())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and len(results) == 4 and all(r == results[0] for r in results)


# --- corruption ----------------------------------------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])


def _drop_metadata_rows(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM rows WHERE id >= 10")


def _edit_manifest(path: Path, **changes) -> None:
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


CORRUPTIONS = {
    "truncated embeddings": (lambda d: _truncate(d / "embeddings.npy"), "embeddings.npy"),
    "truncated index": (lambda d: _truncate(d / "index-tail.npy"), "index-tail.npy"),
    "missing head index": (lambda d: (d / "index-head.npy").unlink(), "index-head.npy is missing"),
    "missing metadata": (lambda d: (d / "metadata.sqlite").unlink(), "metadata.sqlite is missing"),
    "missing embeddings": (lambda d: (d / "embeddings.npy").unlink(), "embeddings.npy is missing"),
    "missing index params": (lambda d: (d / "index.npz").unlink(), "index.npz is missing"),
    "wrong metadata count": (lambda d: _drop_metadata_rows(d / "metadata.sqlite"), "metadata.sqlite has 10 rows"),
    "manifest row count": (lambda d: _edit_manifest(d / "manifest.json", rows=41), "the manifest says"),
    "manifest dimension": (lambda d: _edit_manifest(d / "manifest.json", dim=8), "the manifest says"),
    "manifest format": (lambda d: _edit_manifest(d / "manifest.json", format_version=99), "format"),
    "garbled manifest": (lambda d: (d / "manifest.json").write_text("{not json"), "unreadable"),
    "missing manifest": (lambda d: (d / "manifest.json").unlink(), "No Open Images cache"),
    "garbage metadata": (
        lambda d: (d / "metadata.sqlite").write_bytes(b"x" * (d / "metadata.sqlite").stat().st_size),
        "metadata.sqlite",
    ),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corruption_is_refused_with_a_rebuild_hint(tmp_path, name):
    write_cache(tmp_path, unit_rows(np.random.default_rng(10), 40, 16))
    corrupt, message = CORRUPTIONS[name]
    corrupt(tmp_path / "c")
    with pytest.raises(CacheError) as err:
        EmbeddingCache.open(tmp_path / "c")
    assert message in str(err.value)
    assert "memer cache build" in str(err.value)


def test_verify_catches_flipped_bytes(tmp_path):
    write_cache(tmp_path, unit_rows(np.random.default_rng(11), 40, 16))
    path = tmp_path / "c" / "embeddings.npy"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    health = EmbeddingCache.open(tmp_path / "c").verify()
    assert not health.ok and any("embeddings.npy" in p for p in health.problems)


def test_torch_without_a_cpu_int8_kernel_falls_back_to_an_exact_scan(tmp_path, monkeypatch):
    import torch

    cache = write_cache(tmp_path, unit_rows(np.random.default_rng(13), 200, 16))

    def missing(*args, **kwargs):
        raise RuntimeError("_int_mm not implemented for CPU")

    monkeypatch.setattr(torch, "_int_mm", missing)
    assert _cpu_int8_matmul_works() is False
    assert cache.searcher.name == "numpy-exact-scan"
    assert_exact_top_k(cache, unit_rows(np.random.default_rng(14), 1, 16)[0], 5)


def test_empty_cache_is_refused(tmp_path):
    with pytest.raises(CacheError, match="no embeddings"):
        EmbeddingCache.write(tmp_path / "c", np.zeros((0, 16)), [], model="m", pretrained="p")


# --- progress ------------------------------------------------------------------------


def test_commit_and_verify_report_progress_and_never_print(tmp_path, capsys):
    data = unit_rows(np.random.default_rng(15), 30, 16)
    seen = []

    def hook(message, fraction):
        seen.append((message, fraction))

    EmbeddingCache.write(tmp_path / "c", data, make_rows(30), model="m", pretrained="p", progress=hook)
    assert any(m.startswith("Writing the search index") for m, _ in seen)
    assert [m for m, _ in seen if m.startswith("Checksumming")] == [f"Checksumming {n}" for n in cache_module.PARTS]
    written = len(seen)
    assert EmbeddingCache.open(tmp_path / "c").verify(progress=hook).ok
    assert seen[written][0] == "Checking embeddings.npy" and seen[-1] == ("Checked the cache", 1.0)
    assert all(fraction is None or 0 <= fraction <= 1 for _, fraction in seen)
    assert capsys.readouterr() == ("", "")
    # None (the default) is silent and still works.
    EmbeddingCache.write(tmp_path / "d", data, make_rows(30), model="m", pretrained="p")
    assert EmbeddingCache.open(tmp_path / "d").verify().ok
    assert capsys.readouterr() == ("", "")
