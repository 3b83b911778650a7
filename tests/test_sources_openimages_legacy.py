"""Importing the original AI-Memer files: the data is kept, the pickle runs nothing, and the CLI around it."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from memer import settings
from memer.errors import CacheError
from memer.sources.openimages.legacy import import_legacy, load_legacy_annotations
from memer.sources.openimages.store import EmbeddingCache
from tests.openimages_data import unit_rows

ROOT = Path(__file__).resolve().parents[1]


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
    # The default CLIP is no longer the original's: the user is told how to search these files.
    assert "MEMER_CLIP_MODEL=ViT-B-32 MEMER_CLIP_PRETRAINED=openai" in done.stderr
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


def test_legacy_import_of_a_missing_embeddings_file_says_so(tmp_path):
    with pytest.raises(CacheError, match="does not exist. Give the path of the original embeddings"):
        import_legacy(tmp_path / "nowhere.npy", tmp_path / "annotations.pkl", tmp_path / "cache")
