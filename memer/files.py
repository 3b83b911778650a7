"""Files written whole or not at all, by any number of writers at once.

Two processes saving the same upload, or two threads caching the same download,
must never share a temporary file: each writer gets its own (a unique name from
``tempfile`` in the target's folder, so the rename stays on one filesystem), and
``os.replace`` puts it in place in one step. A reader sees the old file, the new
one, or none, never a half-written one; a failed write leaves nothing behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomic(target: Path, data: bytes | Iterable[bytes]) -> Path:
    """Write ``data`` (bytes, or chunks of them) to ``target`` through this writer's own temporary file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:60]}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in [data] if isinstance(data, (bytes, bytearray, memoryview)) else data:
                out.write(chunk)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` is a file holding exactly ``data`` (a file cut short by a crash or an older memer does not)."""
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False
