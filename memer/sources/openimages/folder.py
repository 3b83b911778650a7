"""Whose folder is it: the cache folder's names and marker, the lock beside it, and the swap that replaces it.

memer replaces a cache folder by renaming a finished copy over it. It does that only to a folder it
recognisably wrote: one holding memer's marker (or, from before the marker, memer's manifest) and
nothing but cache files. Any other non-empty folder is refused with one line, so a mistyped ``--dir``
or MEMER_CACHE_DIR never costs anyone their files. Writers of one cache take a lock on a file beside
it (``.NAME.lock``), so two downloads never share a staging folder and a swap is never half seen. A
crash between the swap's two renames leaves the old cache as ``.NAME.old-PID-NS``; the next run puts
it back, and leftovers of dead writers are removed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from memer.errors import CacheError
from memer.progress import Progress
from memer.sources.openimages.index import INDEX_PARTS

FORMAT = "memer-openimages-cache"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
EMBEDDINGS = "embeddings.npy"
METADATA = "metadata.sqlite"
PARTS = (EMBEDDINGS, METADATA, *INDEX_PARTS)
MARKER = ".memer-cache"
MARKER_TEXT = "An Open Images embedding cache written by memer; memer may replace this folder.\n"
# Every name memer writes in a cache folder (or in its download staging folder).
CACHE_NAMES = frozenset({MANIFEST, MARKER, *PARTS, *(f"{p}.part" for p in PARTS), f"{METADATA}-journal"})
LEFTOVER_KINDS = ("tmp", "copy")  # ``.NAME.tmp-PID-…``: a writer's folder, left when its process died
LOCK_POLL = 0.2  # seconds between looks at a lock another memer holds
MAX_MANIFEST_BYTES = 1 << 20
NEW_FOLDER_HINT = "Choose a new or empty folder for the cache (--dir or MEMER_CACHE_DIR)"


# --- whose folder -----------------------------------------------------------------------


def write_marker(folder: Path) -> None:
    """Mark ``folder`` as a cache memer wrote (the first file in it), so memer may replace it later."""
    (folder / MARKER).write_text(MARKER_TEXT)


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as found:
        return list(found)


def _memer_manifest(path: Path) -> bool:
    """True for a manifest a memer before the marker wrote (its format name), read with a size cap."""
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            return False
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == FORMAT


def foreign_entries(folder: Path) -> list[str]:
    """Names in ``folder`` that memer did not write there (anything but plain cache files)."""
    return sorted(
        e.name
        for e in _entries(folder)
        if e.name not in CACHE_NAMES or not stat.S_ISREG(e.stat(follow_symlinks=False).st_mode)
    )


def is_memers(folder: Path) -> bool:
    """True when ``folder`` is a cache folder memer wrote and holds nothing else (so it may be replaced)."""
    try:
        if folder.is_symlink() or not folder.is_dir() or foreign_entries(folder):
            return False
    except OSError:
        return False
    return (folder / MARKER).is_file() or _memer_manifest(folder / MANIFEST)


def check_replaceable(directory: Path) -> None:
    """Refuse, in one line, a cache target memer may not replace: a link, a file, or a folder not its own."""
    if directory.is_symlink():
        raise CacheError(
            f"{directory} is a link; memer will not replace it with a cache folder.",
            f"Point --dir or MEMER_CACHE_DIR at a folder of its own (for example the folder the link names, "
            f"{directory.resolve()}).",
        )
    if not directory.exists():
        return
    if not directory.is_dir():
        raise CacheError(
            f"{directory} is a file, not a cache folder; memer will not replace it.", NEW_FOLDER_HINT + "."
        )
    foreign = foreign_entries(directory)
    shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
    if foreign and ((directory / MARKER).is_file() or _memer_manifest(directory / MANIFEST)):
        raise CacheError(
            f"The cache folder {directory} also holds files memer did not write ({shown}); memer will not replace it.",
            "Move those files out, or choose another folder for the cache (--dir or MEMER_CACHE_DIR).",
        )
    if foreign:
        raise CacheError(
            f"{directory} is not a memer cache folder (it holds {shown}); memer never replaces a folder it did not create.",
            f"{NEW_FOLDER_HINT}, for example {directory / 'openimages'}.",
        )
    if not is_memers(directory) and any(True for _ in _entries(directory)):
        raise CacheError(f"{directory} is not a memer cache folder; memer will not replace it.", NEW_FOLDER_HINT + ".")


# --- the lock -------------------------------------------------------------------------------

_held: dict[tuple[str, int], int] = {}  # (lock file, thread) -> depth: a holder may take it again
_held_lock = threading.Lock()


def lock_path(directory: Path) -> Path:
    return directory.parent / f".{directory.name}.lock"


@contextlib.contextmanager
def writer_lock(directory: Path, *, wait: bool, progress: Progress | None = None) -> Iterator[None]:
    """Hold the lock of the cache in ``directory``; another memer holding it is waited for, or named.

    ``wait=False`` (a download: the same work twice is pointless) refuses at once, naming the process.
    """
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no lock, as before
        yield
        return
    path = lock_path(directory)
    key = (str(path), threading.get_ident())
    with _held_lock:
        depth = _held.get(key, 0)
        if depth:
            _held[key] = depth + 1
    if depth:
        try:
            yield
        finally:
            with _held_lock:
                _held[key] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            holder = _holder(fd)
            if not wait:
                raise CacheError(
                    f"Another memer ({holder}) is already writing the cache in {directory}.",
                    "Wait for it to finish (or stop it), then run the same command again.",
                )
            if progress is not None and not said:
                progress(f"Waiting for another memer ({holder}), which is writing the cache in {directory}", None)
                said = True
            time.sleep(LOCK_POLL)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        with _held_lock:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_lock:
                del _held[key]
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the file releases the lock


def _holder(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return f"process {text}" if text.isdigit() else "another process"


# --- the swap -------------------------------------------------------------------------------


def swap_into_place(tmp: Path, directory: Path, *, progress: Progress | None = None) -> None:
    """Rename the finished, checked folder ``tmp`` over ``directory``; the old cache goes only afterwards."""
    with writer_lock(directory, wait=True, progress=progress):
        recover(directory)
        check_replaceable(directory)
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
            shutil.rmtree(old, ignore_errors=True)  # checked above: memer's cache or an empty folder


def _leftovers(directory: Path, kind: str) -> list[Path]:
    prefix = f".{directory.name}.{kind}-"
    try:
        return sorted(p for p in directory.parent.iterdir() if p.name.startswith(prefix))
    except OSError:
        return []


def _pid_of(path: Path, kind: str) -> int | None:
    head = path.name.rpartition(f".{kind}-")[2].split("-")[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, say
        return True
    return True


def recover(directory: Path) -> bool:
    """With the lock held: put back a cache a crashed swap left aside, and remove dead writers' leftovers.

    Returns True when an old cache was put back. Only folders memer wrote are touched.
    """
    olds = [p for p in _leftovers(directory, "old") if is_memers(p)]
    olds.sort(key=lambda p: p.name.rsplit("-", 1)[-1].zfill(24))
    restored = False
    if olds and not directory.exists() and not directory.is_symlink():
        olds.pop().rename(directory)
        restored = True
    for path in olds:
        shutil.rmtree(path, ignore_errors=True)
    for kind in LEFTOVER_KINDS:
        for path in _leftovers(directory, kind):
            pid = _pid_of(path, kind)
            if pid is not None and pid != os.getpid() and not _alive(pid) and is_memers_leftover(path):
                shutil.rmtree(path, ignore_errors=True)
    return restored


def is_memers_leftover(folder: Path) -> bool:
    """A writer's folder memer made (marked first thing) and still holding only cache files."""
    try:
        return not folder.is_symlink() and (folder / MARKER).is_file() and not foreign_entries(folder)
    except OSError:
        return False


def recover_if_free(directory: Path) -> bool:
    """``recover`` when no other memer is writing this cache (a reader must not wait for a download)."""
    if not any(_leftovers(directory, kind) for kind in ("old", *LEFTOVER_KINDS)):
        return False
    try:
        with writer_lock(directory, wait=False):
            return recover(directory)
    except (CacheError, OSError):
        return False


def disk_error(err: OSError, where: Path) -> CacheError | None:
    """A full disk or quota, said with the folder it happened in; None for other errors."""
    if err.errno not in (errno.ENOSPC, errno.EDQUOT):
        return None
    return CacheError(
        f"The disk holding {where} is full ({err.strerror or 'no space left on device'}); the partial files were deleted.",
        "Free some space there (or point MEMER_CACHE_DIR at a disk with room), then run the same command again.",
    )
