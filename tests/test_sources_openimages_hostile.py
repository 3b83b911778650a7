"""A published cache that is hostile although its checksums match: refused before the swap, the old cache kept.

Also the manifest's own edges (nested 100,000 deep, trickled past the deadline), redirects to
addresses the policy refuses, a full disk, and the searcher that failed half-built. The CLI says
each in one line, with no traceback.
"""

from __future__ import annotations

import gc
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from memer import cli, settings
from memer.errors import CacheError
from memer.sources.openimages import checks, transfer
from memer.sources.openimages.download import download_cache, staging_dir
from memer.sources.openimages.store import EMBEDDINGS, INDEX_PARAMS, MANIFEST, METADATA, EmbeddingCache
from tests.standins.cache_host import CAPTIONS, build_published_cache
from tests.standins.hostile_cache import HOSTILE_PARTS
from tests.standins.openimages import HashingEncoder

ROOT = Path(__file__).resolve().parents[1]


def _old_cache() -> Path:
    """A working cache already in place, which a refused download must leave working."""
    return build_published_cache(settings.cache_dir(), HashingEncoder(), ["An old cache row.", "Another old one."])


def _assert_old_cache_works(old: Path) -> None:
    cache = EmbeddingCache.open(old)
    assert len(cache) == 2 and cache.verify().ok
    ids, _ = cache.search(HashingEncoder().encode_query("An old cache row."), 1)
    assert ids.tolist() == [0]
    cache.close()


def _one_line_error(err: str) -> None:
    assert err.startswith("memer: error: ") and err.count("\n") == 1 and "Traceback" not in err, err


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- hostile parts whose checksums match -------------------------------------------------------


@pytest.mark.parametrize("case", [c for c in HOSTILE_PARTS if c != "endless metadata view"])
def test_a_hostile_part_is_refused_before_the_swap(cache_host, case, capsys):
    part, make, reason = HOSTILE_PARTS[case]
    old = _old_cache()
    cache_host.publish(part, make(cache_host.files[part]))
    code, out, err = _cli(capsys, "cache", "download")
    assert code == 1 and out == ""
    _one_line_error(err)
    assert "matches its manifest but is unusable" in err and reason in err
    assert f"the cache in {old} was not changed" in err
    _assert_old_cache_works(old)
    assert not staging_dir(old).exists(), "the unusable download is not kept"


def test_an_npz_bomb_is_refused_unread(cache_host):
    part, make, _ = HOSTILE_PARTS["npz bomb"]
    bomb = make(cache_host.files[part])
    assert len(bomb) < 2 << 20  # a few hundred KB on the wire, 256 MB inflated
    cache_host.publish(part, bomb)
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(CacheError, match=r"would unpack to \d+ bytes"):
        download_cache()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 << 20, f"{peak} bytes were allocated: the bomb was inflated"


def test_a_metadata_view_over_an_endless_query_is_refused_at_once(cache_host, tmp_path):
    """Run as the CLI in a process of its own: before the fix this hung at 100 % CPU."""
    part, make, reason = HOSTILE_PARTS["endless metadata view"]
    old = _old_cache()
    cache_host.publish(part, make(cache_host.files[part]))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MEMER_TRUSTED_HOSTS": ",".join(settings.TRUSTED_HOSTS)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "memer", "cache", "download", cache_host.url, "--dir", str(old)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and time.monotonic() - started < 30
    _one_line_error(done.stderr)
    assert reason in done.stderr and "plain tables only" in done.stderr
    _assert_old_cache_works(old)


def test_cache_info_does_not_call_a_broken_cache_healthy(published_cache, tmp_path, capsys):
    """A hostile index with a manifest rewritten to match used to pass ``cache info`` as "health: ok"."""
    import hashlib
    import json
    import shutil

    folder = tmp_path / "cache"
    shutil.copytree(published_cache, folder)
    part, make, reason = HOSTILE_PARTS["pickled index"]
    data = make((folder / part).read_bytes())
    (folder / part).write_bytes(data)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"][part] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    code, out, err = _cli(capsys, "cache", "info", "--dir", str(folder))
    assert code == 1 and "health: ok" not in out
    _one_line_error(err)
    assert reason in err


def test_a_half_built_searcher_closes_quietly(published_cache, tmp_path, monkeypatch):
    """A searcher whose index fails to load used to print an AttributeError ('_fd') from __del__ on every search."""
    from memer.sources.openimages.index import _Int8Search

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    cache = EmbeddingCache.open(published_cache)
    with pytest.raises(FileNotFoundError):
        _Int8Search(tmp_path, published_cache / EMBEDDINGS, cache.embeddings, len(cache), cache.dim)
    gc.collect()
    cache.close()
    assert unraisable == []


def test_a_part_that_changed_after_opening_is_a_cache_error(published_cache, tmp_path, monkeypatch):
    import shutil

    folder = tmp_path / "cache"
    shutil.copytree(published_cache, folder)
    cache = EmbeddingCache.open(folder)
    (folder / INDEX_PARAMS).write_bytes(b"not a zip")
    monkeypatch.setattr("memer.device.cuda_device", lambda: None)
    with pytest.raises(CacheError, match="search index could not be read"):
        cache.search(np.ones(cache.dim, np.float32) / np.sqrt(cache.dim), 3)


# --- bounded metadata queries ---------------------------------------------------------------------

ENDLESS = "WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"


def test_a_metadata_query_stops_at_its_deadline():
    db = sqlite3.connect(":memory:")
    started = time.monotonic()
    with pytest.raises(checks.PartProblem, match="took longer than 0.5 s"):
        checks.bounded(db, ENDLESS, seconds=0.5)
    assert time.monotonic() - started < 3


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals reach the main thread")
def test_ctrl_c_stops_a_metadata_query():
    db = sqlite3.connect(":memory:")
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        checks.bounded(db, ENDLESS, seconds=60)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("CREATE TABLE real (id INTEGER); CREATE VIEW rows AS SELECT id FROM real", "view 'rows'"),
        (
            "CREATE TABLE rows (id INTEGER PRIMARY KEY, image_id TEXT); CREATE TABLE log (x); "
            "CREATE TRIGGER t AFTER INSERT ON rows BEGIN INSERT INTO log VALUES (1); END",
            "trigger 't'",
        ),
        ("CREATE TABLE other (id INTEGER)", "no table 'rows'"),
        ("CREATE TABLE rows (id INTEGER PRIMARY KEY)", "lack the column(s) image_id"),
    ],
)
def test_the_metadata_must_be_a_plain_table(tmp_path, schema, message):
    path = tmp_path / "m.sqlite"
    db = sqlite3.connect(path)
    db.executescript(schema)
    db.close()
    with pytest.raises(checks.PartProblem, match=message.replace("(", r"\(").replace(")", r"\)")):
        checks.check_schema(checks.connect_readonly(path), ("image_id",))


# --- the manifest's edges ---------------------------------------------------------------------------


def test_a_manifest_nested_100000_deep_is_one_clear_line(cache_host, capsys):
    cache_host.files[MANIFEST] = b"[" * 100_000 + b"]" * 100_000
    code, _, err = _cli(capsys, "cache", "download")
    assert code == 1
    _one_line_error(err)
    assert f"nested deeper than {settings.MAX_JSON_DEPTH} levels" in err and "RecursionError" not in err


def test_a_trickled_manifest_is_cut_at_the_deadline(cache_host, server, monkeypatch, capsys):
    monkeypatch.setattr(settings, "API_DEADLINE", 1.5)
    server.fault(cache_host.path(MANIFEST), "trickle", size=1, seconds=0.4)
    started = time.monotonic()
    code, _, err = _cli(capsys, "cache", "download")
    assert time.monotonic() - started < 5, "the trickle was not cut at the deadline"
    assert code == 1
    _one_line_error(err)
    assert "took longer than 1.5 s" in err


# --- redirects ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("part", [MANIFEST, METADATA])
def test_a_redirect_to_an_address_the_policy_refuses_is_not_followed(cache_host, hostile, part, capsys):
    old = _old_cache()
    cache_host.redirect(part, f"{hostile.url}/echo")
    code, _, err = _cli(capsys, "cache", "download")
    assert code == 1
    _one_line_error(err)
    assert "refused address (loopback)" in err
    assert hostile.requests == [], "the refused address was asked"
    assert "application/json" not in err, "what the refused address would answer is not described"
    _assert_old_cache_works(old)


def test_a_redirect_the_policy_allows_is_followed(cache_host):
    """A dataset host sends its files to a CDN: that hop is checked, and followed."""
    cache_host.redirect(EMBEDDINGS, cache_host.url + "/mirror/" + EMBEDDINGS)
    cache_host.files["mirror/" + EMBEDDINGS] = cache_host.files[EMBEDDINGS]
    done = download_cache()
    assert done.rows == len(CAPTIONS) and EmbeddingCache.open(settings.cache_dir()).verify().ok


# --- a full disk ------------------------------------------------------------------------------------------


class FullDisk:
    """A file on a disk with ``room`` bytes left: writes past it fail as the kernel says (ENOSPC)."""

    def __init__(self, real, room: list[int]) -> None:
        self.real, self.room = real, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room[0]:
            raise OSError(28, "No space left on device")
        self.room[0] -= len(data)
        return self.real.write(data)

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.real.close()


def test_a_full_disk_names_where_and_deletes_the_partial_download(cache_host, monkeypatch, capsys):
    old = _old_cache()
    room = [200_000]
    monkeypatch.setattr(transfer, "open", lambda *a, **k: FullDisk(open(*a, **k), room), raising=False)  # noqa: SIM115
    code, _, err = _cli(capsys, "cache", "download")
    assert code == 1
    _one_line_error(err)
    staging = staging_dir(old)
    assert f"The disk holding {staging} is full (No space left on device)" in err
    assert not list(staging.glob("*.part")), "the partial download was kept, filling the disk"
    _assert_old_cache_works(old)
