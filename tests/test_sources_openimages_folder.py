"""memer replaces only cache folders it wrote, one writer at a time, and a crash mid-swap never leaves no cache.

Every way a cache is written (download, build, merge, import-legacy, MEMER_CACHE_DIR) shares the
swap; a folder of someone's own files is refused in one line and left exactly as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from memer import cli, settings
from memer.errors import CacheError
from memer.sources.openimages.download import download_cache
from memer.sources.openimages.folder import MARKER, lock_path, writer_lock
from memer.sources.openimages.store import MANIFEST, EmbeddingCache
from tests.openimages_data import make_rows, unit_rows
from tests.standins.cache_host import CAPTIONS
from tests.standins.openimages import HashingEncoder
from tests.test_sources_openimages_legacy import legacy_files

ROOT = Path(__file__).resolve().parents[1]


def own_files(folder: Path) -> dict[str, bytes]:
    """A folder of someone's own files (a Downloads folder, a project), returned as a snapshot."""
    (folder / "notes").mkdir(parents=True)
    (folder / "thesis.docx").write_bytes(b"three years of work")
    (folder / "notes" / "todo.txt").write_text("back up the thesis")
    return snapshot(folder)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_line_error(err: str) -> None:
    assert err.startswith("memer: error: ") and err.count("\n") == 1 and "Traceback" not in err, err


def _cli(capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(list(args))
    return code, capsys.readouterr().err


# --- a folder that is not memer's is refused -----------------------------------------------------------


def test_download_into_a_folder_of_ones_own_files_is_refused(cache_host, server, tmp_path, capsys):
    downloads = tmp_path / "Downloads"
    before = own_files(downloads)
    code, err = _cli(capsys, "cache", "download", cache_host.url, "--dir", str(downloads))
    assert code == 1
    _one_line_error(err)
    assert f"{downloads} is not a memer cache folder (it holds notes, thesis.docx)" in err
    assert "Choose a new or empty folder for the cache (--dir or MEMER_CACHE_DIR)" in err
    assert snapshot(downloads) == before
    assert not server.requests_to(cache_host.path("")), "nothing is fetched for a folder memer may not use"


def test_memer_cache_dir_naming_a_project_folder_is_refused(cache_host, tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    before = own_files(project)
    monkeypatch.setattr(settings, "CACHE_DIR", project)
    code, err = _cli(capsys, "cache", "download")
    assert code == 1 and f"{project} is not a memer cache folder" in err
    assert snapshot(project) == before


def test_import_legacy_into_a_folder_of_ones_own_files_is_refused(tmp_path, capsys):
    embeddings, annotations, _ = legacy_files(tmp_path, 5)
    target = tmp_path / "mine"
    before = own_files(target)
    code, err = _cli(capsys, "cache", "import-legacy", str(embeddings), str(annotations), "--dir", str(target))
    assert code == 1
    _one_line_error(err)
    assert f"{target} is not a memer cache folder" in err and snapshot(target) == before


def test_build_and_merge_into_a_folder_of_ones_own_files_are_refused(openimages_server, server, tmp_path):
    from memer.sources.openimages.build import build_cache
    from memer.sources.openimages.merge import merge

    target = tmp_path / "mine"
    before = own_files(target)
    with pytest.raises(CacheError, match="is not a memer cache folder"):
        build_cache(["test"], encoder=HashingEncoder(), directory=target)
    assert not server.requests, "refused before any download"
    build_cache(["test"], encoder=HashingEncoder(), directory=target, shard=(0, 1))  # shards go beside it
    with pytest.raises(CacheError, match="is not a memer cache folder"):
        merge(target)
    assert snapshot(target) == before


def test_a_writer_refuses_what_the_checks_refuse(tmp_path):
    """The swap itself checks again (the CLI's early check is a courtesy): links, files and foreign folders."""
    data = unit_rows(np.random.default_rng(1), 10, 8)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "file").write_text("mine")
    for name, message in [("link", "is a link"), ("file", "is a file, not a cache folder")]:
        with pytest.raises(CacheError, match=message):
            EmbeddingCache.write(tmp_path / name, data, make_rows(10), model="m", pretrained="p")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "file").read_text() == "mine"


def test_a_marked_cache_holding_someone_elses_file_is_not_replaced(tmp_path):
    data = unit_rows(np.random.default_rng(2), 10, 8)
    EmbeddingCache.write(tmp_path / "c", data, make_rows(10), model="m", pretrained="p")
    (tmp_path / "c" / "my-notes.txt").write_text("kept here by hand")
    with pytest.raises(CacheError, match=r"also holds files memer did not write \(my-notes.txt\)"):
        EmbeddingCache.write(tmp_path / "c", data, make_rows(10), model="m2", pretrained="p")
    assert (tmp_path / "c" / "my-notes.txt").read_text() == "kept here by hand"
    assert EmbeddingCache.open(tmp_path / "c").model == "m"


def test_memers_own_folders_are_replaced(tmp_path):
    """A marked cache, a cache from before the marker (its manifest says memer) and an empty folder."""
    data = unit_rows(np.random.default_rng(3), 10, 8)
    EmbeddingCache.write(tmp_path / "c", data, make_rows(10), model="m", pretrained="p")
    assert (tmp_path / "c" / MARKER).is_file()
    EmbeddingCache.write(tmp_path / "c", data, make_rows(10), model="m2", pretrained="p")
    (tmp_path / "c" / MARKER).unlink()  # as an older memer left it
    EmbeddingCache.write(tmp_path / "c", data, make_rows(10), model="m3", pretrained="p")
    (tmp_path / "empty").mkdir()
    EmbeddingCache.write(tmp_path / "empty", data, make_rows(10), model="m4", pretrained="p")
    assert EmbeddingCache.open(tmp_path / "c").model == "m3" and EmbeddingCache.open(tmp_path / "empty").model == "m4"


# --- a crash between the two renames ---------------------------------------------------------------------

CRASH = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import numpy as np
    from memer.sources.openimages.store import EmbeddingCache
    from tests.openimages_data import make_rows, unit_rows

    real = Path.rename
    def rename(self, target):
        if ".tmp-" in self.name:
            os._exit(9)  # the power goes out: the old cache is aside, the new one not yet in place
        return real(self, target)
    Path.rename = rename
    target = Path(sys.argv[1])
    EmbeddingCache.write(target, unit_rows(np.random.default_rng(5), 10, 8), make_rows(10), model="new", pretrained="p")
    """
)


def test_a_crash_between_the_renames_never_leaves_no_cache(tmp_path):
    target = tmp_path / "c"
    EmbeddingCache.write(target, unit_rows(np.random.default_rng(4), 10, 8), make_rows(10), model="old", pretrained="p")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    crashed = subprocess.run([sys.executable, "-c", CRASH, str(target)], env=env, cwd=ROOT, timeout=120)
    assert crashed.returncode == 9 and not target.exists()
    left = sorted(p.name.split("-")[0] for p in tmp_path.glob(".c.*") if not p.name.endswith(".lock"))
    assert left == [".c.old", ".c.tmp"]
    assert EmbeddingCache.open(target).model == "old", "the next run puts the old cache back"
    # And a writer cleans what the dead one left: its temporary folder goes too.
    EmbeddingCache.write(target, unit_rows(np.random.default_rng(6), 10, 8), make_rows(10), model="m", pretrained="p")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".c.lock", "c"]


# --- one writer at a time -----------------------------------------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from memer.sources.openimages.folder import writer_lock
    with writer_lock(Path(sys.argv[1]), wait=False):
        print("holding", flush=True)
        time.sleep(60)
    """
)


def test_a_second_download_into_the_same_folder_names_the_first(cache_host, capsys):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(settings.cache_dir())], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        code, err = _cli(capsys, "cache", "download")
        assert code == 1
        _one_line_error(err)
        assert f"Another memer (process {holder.pid}) is already writing the cache in {settings.cache_dir()}" in err
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    done = download_cache()  # the first one gone, the lock is free again
    assert done.rows == len(CAPTIONS)


def test_a_swap_waits_for_the_writer_before_it(tmp_path):
    target = tmp_path / "c"
    data = unit_rows(np.random.default_rng(7), 10, 8)
    seen = []
    released = threading.Event()

    def hold() -> None:
        with writer_lock(target, wait=False):
            time.sleep(0.6)
            released.set()

    thread = threading.Thread(target=hold)
    thread.start()
    time.sleep(0.1)
    EmbeddingCache.write(target, data, make_rows(10), model="m", pretrained="p", progress=lambda m, f: seen.append(m))
    thread.join()
    assert released.is_set() and any(m.startswith("Waiting for another memer") for m in seen)
    assert EmbeddingCache.open(target).model == "m"
    assert lock_path(target).is_file()


def test_two_downloads_at_once_leave_one_good_cache(cache_host):
    errors: list[BaseException] = []

    def run() -> None:
        try:
            download_cache()
        except CacheError as err:
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all("already writing the cache" in str(e) for e in errors)
    assert EmbeddingCache.open(settings.cache_dir()).verify().ok
    manifest = json.loads((settings.cache_dir() / MANIFEST).read_text())
    assert manifest["rows"] == len(CAPTIONS)
