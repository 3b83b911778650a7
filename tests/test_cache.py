"""The embedding cache: format, integrity checks, exact search, model guard, legacy import."""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from memer import cache as cache_module
from memer import settings
from memer.cache import EmbeddingCache, import_legacy, load_legacy_annotations
from memer.errors import CacheError

ROOT = Path(__file__).resolve().parents[1]


def make_rows(n: int) -> list[dict]:
    return [
        {
            "image_id": f"{i:016x}",
            "split": "train",
            "caption": f"caption {i}",
            "author": f"author {i}",
            "license": "CC BY 2.0",
            "image_url": f"http://x/train/{i:016x}.jpg",
        }
        for i in range(n)
    ]


def unit_rows(rng: np.random.Generator, n: int, dim: int, anisotropic: bool = False) -> np.ndarray:
    data = rng.standard_normal((n, dim)).astype(np.float32)
    if anisotropic:  # a shared direction and a decaying spectrum, like CLIP text embeddings
        data *= 1.0 / np.sqrt(1 + np.arange(dim, dtype=np.float32))
        data += 2.0 * rng.standard_normal(dim).astype(np.float32) / np.sqrt(dim) * 4
    return data / np.linalg.norm(data, axis=1, keepdims=True)


def write_cache(tmp_path: Path, data: np.ndarray, name: str = "c") -> EmbeddingCache:
    EmbeddingCache.write(tmp_path / name, data, make_rows(len(data)), model="ViT-B-32", pretrained="openai")
    return EmbeddingCache.open(tmp_path / name)


def assert_exact_top_k(cache: EmbeddingCache, query: np.ndarray, k: int) -> None:
    """Same top k as the brute-force float32 product; among equal scores any choice is right."""
    brute = np.asarray(cache.embeddings, dtype=np.float32) @ query.astype(np.float32)
    ids, scores = cache.search(query, k)
    k = min(k, len(brute))
    assert len(ids) == k and len(set(ids.tolist())) == k
    expected = np.sort(brute)[::-1][:k]
    np.testing.assert_allclose(scores, expected, rtol=0, atol=2e-6)
    np.testing.assert_allclose(brute[ids], scores, rtol=0, atol=2e-6)
    assert np.all(np.diff(scores) <= 0), "scores must come best first"
    # Every row strictly better than the k-th score is returned.
    must = set(np.flatnonzero(brute > expected[-1] + 2e-6).tolist())
    assert must <= set(ids.tolist())


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
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folders are cleaned up"


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


@pytest.mark.parametrize("step", ["_write_index", "sha256_file", "_swap_into_place", "json.dumps"])
@pytest.mark.parametrize("existing", [False, True], ids=["new", "rewrite"])
def test_a_failed_commit_leaves_no_temporary_folder(tmp_path, monkeypatch, step, existing):
    data = unit_rows(np.random.default_rng(3), 20, 8)
    if existing:
        write_cache(tmp_path, data)
    target = cache_module.json if step == "json.dumps" else cache_module
    monkeypatch.setattr(target, step.split(".")[-1], _fail)
    with pytest.raises(OSError, match="No space left"):
        EmbeddingCache.write(tmp_path / "c", data, make_rows(20), model="m", pretrained="p")
    assert [p.name for p in tmp_path.iterdir()] == (["c"] if existing else [])
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
    assert [p.name for p in tmp_path.iterdir()] == ["c"]
    assert EmbeddingCache.open(tmp_path / "c").model == "ViT-B-32"


# --- exact search --------------------------------------------------------------------


@pytest.mark.parametrize("anisotropic", [False, True])
@pytest.mark.parametrize("dim", [32, 64])
def test_search_equals_brute_force(tmp_path, anisotropic, dim):
    rng = np.random.default_rng(dim + anisotropic)
    cache = write_cache(tmp_path, unit_rows(rng, 4000, dim, anisotropic))
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
    cache = write_cache(tmp_path, data)
    for query in (base[0], base[17], unit_rows(rng, 1, 32)[0]):
        for k in (1, 10, 25, 26, 60):
            assert_exact_top_k(cache, query, k)
    ids, _ = cache.search(base[0], 25)
    assert sorted(ids.tolist()) == list(range(25))  # the 25 copies of row 0, lowest ids for ties


def test_search_on_identical_rows_falls_back_to_a_scan(tmp_path):
    data = np.tile(unit_rows(np.random.default_rng(4), 1, 16), (500, 1))
    cache = write_cache(tmp_path, data)
    ids, scores = cache.search(data[0], 5)
    assert cache.searcher.last_shortlist == 500  # no row can be ruled out
    assert ids.tolist() == [0, 1, 2, 3, 4] and np.allclose(scores, scores[0])


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


@pytest.mark.parametrize("searcher", ["numpy", "torch-cpu"])
def test_other_searchers_are_exact(tmp_path, searcher):
    rng = np.random.default_rng(7)
    cache = write_cache(tmp_path, unit_rows(rng, 3000, 32))
    if searcher == "numpy":
        cache._searcher = cache_module._ExactScan(cache.embeddings)
    else:
        cache._searcher = cache_module._TorchSearch(cache.embeddings, "cpu")  # the GPU code path, on the CPU
    for query in (unit_rows(rng, 1, 32)[0], np.asarray(cache.embeddings[3], np.float32)):
        for k in (1, 20, 200):
            assert_exact_top_k(cache, query, k)


@pytest.mark.parametrize(
    ("device_setting", "cuda", "expected"),
    [("", True, "cuda"), ("", False, None), ("cpu", True, None), ("cuda:1", False, "cuda:1")],
)
def test_device_choice(monkeypatch, device_setting, cuda, expected):
    import torch

    monkeypatch.setattr(settings, "DEVICE", device_setting)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert cache_module._cuda_device() == expected


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


# --- legacy import -------------------------------------------------------------------


def legacy_files(tmp_path: Path, n: int = 30) -> tuple[Path, Path, np.ndarray]:
    data = unit_rows(np.random.default_rng(12), n, 512).astype(np.float16)
    embeddings = tmp_path / "embeddings.npy"
    np.save(embeddings, data)
    annotations = tmp_path / "annotations.pkl"
    entries = [(f"{'train' if i % 2 else 'test'}/{i:016x}", f"a picture number {i}", f"Author {i}") for i in range(n)]
    annotations.write_bytes(pickle.dumps(entries))
    return embeddings, annotations, data


def test_legacy_import(tmp_path):
    embeddings, annotations, data = legacy_files(tmp_path)
    import_legacy(embeddings, annotations, tmp_path / "cache")
    cache = EmbeddingCache.open(tmp_path / "cache")
    assert len(cache) == 30 and cache.model == "ViT-B-32" and cache.pretrained == "openai"
    row = cache.row(3)
    assert row["split"] == "train" and row["image_id"] == f"{3:016x}" and row["author"] == "Author 3"
    assert row["license"] == "CC BY 2.0" and row["license_assumed"] is True
    assert row["image_url"] == f"{settings.OPENIMAGES_URL}/train/{3:016x}.jpg"
    assert [s["name"] for s in cache.manifest["sources"]] == ["embeddings.npy", "annotations.pkl"]
    ids, _ = cache.search(data[4].astype(np.float32), 1)
    assert ids.tolist() == [4]


class _RunsCode:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    embeddings, annotations, _ = legacy_files(tmp_path, 1)
    marker = tmp_path / "pwned"
    annotations.write_bytes(pickle.dumps([("train/0000000000000000", "x", "y"), _RunsCode(str(marker))]))
    # The same bytes do run code under a plain pickle.load: the test would catch a real attack.
    with pytest.raises(CacheError, match="refused"):
        load_legacy_annotations(annotations)
    with pytest.raises(CacheError, match="posix.system|os.system|nt.system"):
        import_legacy(embeddings, annotations, tmp_path / "cache")
    assert not marker.exists()
    assert not (tmp_path / "cache").exists()
    pickle.loads(annotations.read_bytes())
    assert marker.exists(), "control: the payload is live"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"not": "a list"}, "holds a dict"),
        ([("train/1", "caption")], "triple"),
        ([("no-split", "caption", "author")], "split/imageid"),
    ],
)
def test_legacy_annotations_must_be_plain_triples(tmp_path, payload, message):
    path = tmp_path / "a.pkl"
    path.write_bytes(pickle.dumps(payload))
    with pytest.raises(CacheError, match=message):
        load_legacy_annotations(path)


def test_legacy_embeddings_are_loaded_without_pickle(tmp_path):
    _, annotations, _ = legacy_files(tmp_path, 2)
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}, {"b": 2}], dtype=object), allow_pickle=True)
    with pytest.raises(CacheError, match="not a plain .npy"):
        import_legacy(objects, annotations, tmp_path / "cache")


def test_legacy_counts_must_match(tmp_path):
    embeddings, annotations, _ = legacy_files(tmp_path, 5)
    annotations.write_bytes(pickle.dumps([("train/1", "a", "b")]))
    with pytest.raises(CacheError, match="row for row"):
        import_legacy(embeddings, annotations, tmp_path / "cache")


# --- CLI -----------------------------------------------------------------------------


def run_cli(*args: str, cache_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEMER_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "memer", "cache", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


def test_cli_import_legacy_and_info(tmp_path):
    embeddings, annotations, _ = legacy_files(tmp_path, 12)
    done = run_cli("import-legacy", str(embeddings), str(annotations), cache_dir=tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert "imported" in done.stdout
    info = run_cli("info", cache_dir=tmp_path / "cache")
    assert info.returncode == 0, info.stderr
    assert '"rows": 12' in info.stdout and "health: ok" in info.stdout
    (tmp_path / "cache" / "metadata.sqlite").unlink()
    broken = run_cli("info", cache_dir=tmp_path / "cache")
    assert broken.returncode == 1
    assert broken.stderr.startswith("memer: error:") and "metadata.sqlite is missing" in broken.stderr
    assert "Traceback" not in broken.stderr


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "missing annotations",
            "Could not read the annotations file {tmp}/missing.pkl (No such file or directory). Give the path",
        ),
        ("annotations are a folder", "Could not read the annotations file {tmp} (Is a directory). Give the path"),
        ("cache folder under a file", "File exists: {tmp}/plain-file. Check the path and its permissions."),
    ],
)
def test_cli_path_problems_are_one_line_errors(tmp_path, capsys, case, message):
    from memer import cli

    embeddings, annotations, _ = legacy_files(tmp_path, 5)
    (tmp_path / "plain-file").write_text("not a folder")
    pkl, folder = {
        "missing annotations": (tmp_path / "missing.pkl", tmp_path / "cache"),
        "annotations are a folder": (tmp_path, tmp_path / "cache"),
        "cache folder under a file": (annotations, tmp_path / "plain-file" / "cache"),
    }[case]
    capsys.readouterr()
    code = cli.main(["cache", "import-legacy", str(embeddings), str(pkl), "--dir", str(folder)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("memer: error: ") and "Traceback" not in err
    assert message.format(tmp=tmp_path) in err


def test_torch_without_a_cpu_int8_kernel_falls_back_to_an_exact_scan(tmp_path, monkeypatch):
    import torch

    cache = write_cache(tmp_path, unit_rows(np.random.default_rng(13), 200, 16))

    def missing(*args, **kwargs):
        raise RuntimeError("_int_mm not implemented for CPU")

    monkeypatch.setattr(torch, "_int_mm", missing)
    assert cache_module._cpu_int8_matmul_works() is False
    assert cache.searcher.name == "numpy-exact-scan"
    assert_exact_top_k(cache, unit_rows(np.random.default_rng(14), 1, 16)[0], 5)


def test_empty_cache_is_refused(tmp_path):
    with pytest.raises(CacheError, match="no embeddings"):
        EmbeddingCache.write(tmp_path / "c", np.zeros((0, 16)), [], model="m", pretrained="p")


from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


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
    cache = write_cache(tmp_path_factory.mktemp("h"), data)
    assert_exact_top_k(cache, query, k)


def test_legacy_import_of_a_missing_embeddings_file_says_so(tmp_path):
    with pytest.raises(CacheError, match="does not exist. Give the path of the original embeddings"):
        import_legacy(tmp_path / "nowhere.npy", tmp_path / "annotations.pkl", tmp_path / "cache")
