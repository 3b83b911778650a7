"""Checks on a cache's parts before memer uses them: npy headers, the index's npz members, the SQLite schema.

A published cache comes from outside, and its checksums only prove it is what the publisher
uploaded. So each part is checked for what memer will do with it, before it is used: no
pickles, the shapes and dtypes the manifest implies, sizes known before anything is read (a
header claiming terabytes, or an npz member that would inflate to gigabytes, is refused
unread), and the metadata a plain table, read with bounded queries that Ctrl-C stops.
Each check raises ``PartProblem`` with the reason in words; the store turns it into a CacheError.
"""

from __future__ import annotations

import math
import sqlite3
import time
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

MAX_NPY_HEADER = 10_000  # bytes: numpy's own cap on a header it parses safely
# Seconds a check query on the metadata may run: counting millions of rows takes well under one.
SQLITE_CHECK_SECONDS = 30.0
SQLITE_PROGRESS_STEPS = 1000  # SQLite virtual-machine steps between looks at the clock


class PartProblem(Exception):
    """A part that is not what the manifest says; the message names it and why."""


def _header(stream: Any, name: str) -> tuple[tuple[int, ...], Any, int]:
    """(shape, dtype, header bytes) of an .npy stream, refusing pickles, Fortran order and odd versions."""
    import numpy as np

    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(stream, max_header_size=MAX_NPY_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(stream, max_header_size=MAX_NPY_HEADER)
        else:
            raise PartProblem(f"{name} is .npy version {version}, not 1.0 or 2.0")
    except PartProblem:
        raise
    except (ValueError, OSError, EOFError, SyntaxError, zipfile.BadZipFile) as err:
        raise PartProblem(f"{name} has no readable .npy header ({str(err)[:120]})") from None
    if dtype.hasobject:
        raise PartProblem(f"{name} holds Python objects (a pickle); memer never loads those")
    if fortran:
        raise PartProblem(f"{name} is stored in Fortran order; memer writes C order")
    return tuple(shape), dtype, stream.tell()


def _expect(name: str, shape: tuple[int, ...], dtype: Any, want_shape: tuple[int, ...], want_dtype: Any) -> int:
    """The data's byte count, after checking shape and dtype against what the manifest implies."""
    if shape != want_shape or dtype != want_dtype:
        raise PartProblem(f"{name} holds {dtype} {shape}, the manifest says {want_dtype} {want_shape}")
    return math.prod(shape) * dtype.itemsize


def check_npy(path: Path, shape: tuple[int, ...], dtype: Any) -> None:
    """An .npy file of exactly ``shape`` and ``dtype`` whose size matches its header (read before any data)."""
    import numpy as np

    with open(path, "rb") as stream:
        found, found_dtype, offset = _header(stream, path.name)
    data = _expect(path.name, found, found_dtype, shape, np.dtype(dtype))
    size = path.stat().st_size
    if size != offset + data:
        raise PartProblem(f"{path.name} is {size} bytes, but its header describes {offset + data}")


def check_npz(path: Path, members: dict[str, tuple[tuple[int, ...], Any]]) -> None:
    """An .npz holding exactly ``members`` ({name: (shape, dtype)}), each sized as its header says.

    The sizes the zip declares are checked against the expected arrays before a byte is
    inflated, and reading never goes past a declared size, so a zip bomb stops here.
    """
    import numpy as np

    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = sorted(info.filename for info in infos)
            if names != sorted(f"{name}.npy" for name in members):
                shown = ", ".join(names[:6]) + (" …" if len(names) > 6 else "")
                raise PartProblem(f"{path.name} holds {shown or 'nothing'}, not the index's arrays")
            for info in infos:
                name = info.filename
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
                    raise PartProblem(f"{path.name}: {name} is encrypted or packed in a way memer does not read")
                want_shape, want_dtype = members[name.removesuffix(".npy")]
                with archive.open(info) as stream:  # inflates only as far as the header (in 4 KB steps)
                    shape, dtype, offset = _header(stream, f"{path.name}: {name}")
                want = math.prod(want_shape) * np.dtype(want_dtype).itemsize
                if info.file_size > want + MAX_NPY_HEADER:
                    raise PartProblem(f"{path.name}: {name} would unpack to {info.file_size} bytes, expected {want}")
                data = _expect(f"{path.name}: {name}", shape, dtype, want_shape, np.dtype(want_dtype))
                if info.file_size != offset + data:
                    raise PartProblem(
                        f"{path.name}: {name} is {info.file_size} bytes, its header describes {offset + data}"
                    )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as err:
        raise PartProblem(f"{path.name} is not a readable .npz archive ({str(err)[:120]})") from None


def check_npz_values(path: Path, names: list[str], nonnegative: set[str]) -> None:
    """Load the (already size-checked) members and refuse NaN, infinities and negative norms."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as archive:
            for name in names:
                values = archive[name]
                if not np.all(np.isfinite(values)):
                    raise PartProblem(f"{path.name}: {name} holds NaN or infinite values")
                if name in nonnegative and values.size and float(values.min()) < 0:
                    raise PartProblem(f"{path.name}: {name} holds negative norms")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise PartProblem(f"{path.name} could not be read ({str(err)[:120]})") from None


# --- the metadata -----------------------------------------------------------------------


def connect_readonly(path: Path) -> sqlite3.Connection:
    """The metadata opened read-only (a URI, so a folder name with ``?`` or ``#`` still works)."""
    db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, check_same_thread=False)
    try:
        db.execute("PRAGMA trusted_schema = OFF")  # no SQL functions with side effects from the schema
    except sqlite3.Error:
        pass
    return db


def bounded(db: sqlite3.Connection, sql: str, params: tuple[Any, ...] = (), seconds: float | None = None) -> list[Any]:
    """Every row of a query that stops after ``seconds`` (SQLITE_CHECK_SECONDS), or at Ctrl-C."""
    limit = SQLITE_CHECK_SECONDS if seconds is None else seconds
    give_up = time.monotonic() + limit
    db.set_progress_handler(lambda: 1 if time.monotonic() > give_up else 0, SQLITE_PROGRESS_STEPS)
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError as err:
        if "interrupted" not in str(err):
            raise
        if time.monotonic() <= give_up:
            # Ctrl-C arrived inside the progress handler, which SQLite turned into "interrupted".
            raise KeyboardInterrupt from None
        raise PartProblem(f"a check of the metadata took longer than {limit:g} s") from None
    finally:
        db.set_progress_handler(None, 0)


def check_schema(db: sqlite3.Connection, columns: tuple[str, ...]) -> None:
    """``rows`` must be a plain table with the expected columns; views and triggers are refused."""
    objects = bounded(db, "SELECT type, name, sql FROM sqlite_master")
    odd = sorted(f"{kind} {name!r}" for kind, name, _ in objects if kind not in ("table", "index"))
    if odd:
        raise PartProblem(f"the metadata holds {', '.join(odd[:3])}; memer expects plain tables only")
    table = [sql for kind, name, sql in objects if kind == "table" and name == "rows"]
    if not table:
        raise PartProblem("the metadata has no table 'rows'")
    if not str(table[0] or "").lstrip().upper().startswith("CREATE TABLE"):
        raise PartProblem("the metadata's 'rows' is not a plain table")
    found = {row[1] for row in bounded(db, "PRAGMA table_info(rows)")}
    missing = [name for name in ("id", *columns) if name not in found]
    if missing:
        raise PartProblem(f"the metadata's rows lack the column(s) {', '.join(missing)}")


# --- a whole cache folder ------------------------------------------------------------------


def index_members(rows: int, dim: int) -> dict[str, tuple[tuple[int, ...], str]]:
    """The arrays ``index.write_index`` puts in the index's npz, with their shapes and dtypes."""
    from memer.sources.openimages.index import _index_layout

    lead = _index_layout(dim)[0]
    per_row = ("residual_head", "residual_tail", "code_norm_head", "code_norm_tail", "tail_norm")
    return {
        "rotation": ((dim, dim), "float64"),
        "scales": ((dim - lead,), "float64"),
        "leading": ((rows, lead), "float32"),
        **{name: ((rows,), "float32") for name in per_row},
    }


NORMS = {"residual_head", "residual_tail", "code_norm_head", "code_norm_tail", "tail_norm"}


def read_manifest(path: Path) -> dict[str, Any]:
    """A cache folder's manifest: size-capped, depth-capped JSON with usable rows, dim and files."""
    from memer import http
    from memer.sources.openimages.folder import MAX_MANIFEST_BYTES

    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise PartProblem(f"{path.name} is larger than a manifest can be")
    try:
        manifest = http.parse_json(path.read_bytes())
    except ValueError as err:
        raise PartProblem(f"{path.name} is unreadable ({str(err)[:120]})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise PartProblem(f"{path.name} is unreadable (not a cache manifest)")
    for key in ("rows", "dim"):
        value = manifest.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise PartProblem(f"{path.name} is unreadable (no usable {key!r})")
    return manifest


def open_parts(directory: Path, rows: int, dim: int, columns: tuple[str, ...]) -> tuple[Any, sqlite3.Connection]:
    """The embeddings' memory map and the metadata connection, after every part's header and schema check."""
    import numpy as np

    from memer.sources.openimages.folder import EMBEDDINGS, METADATA
    from memer.sources.openimages.index import INDEX_HEAD, INDEX_PARAMS, INDEX_TAIL, _index_layout

    _, head, tail = _index_layout(dim)
    check_npy(directory / EMBEDDINGS, (rows, dim), np.float16)
    check_npy(directory / INDEX_HEAD, (rows, head), np.int8)
    check_npy(directory / INDEX_TAIL, (rows, tail), np.int8)
    check_npz(directory / INDEX_PARAMS, index_members(rows, dim))
    try:
        embeddings = np.load(directory / EMBEDDINGS, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as err:
        raise PartProblem(f"{EMBEDDINGS} could not be mapped ({str(err)[:120]})") from None
    db = None
    try:
        db = connect_readonly(directory / METADATA)
        check_schema(db, columns)
        low, high, count = bounded(db, "SELECT min(id), max(id), count(*) FROM rows")[0]
    except sqlite3.Error as err:
        if db is not None:
            db.close()
        raise PartProblem(f"{METADATA} is damaged ({err})") from None
    except BaseException:
        if db is not None:
            db.close()
        raise
    if count != rows or (rows and (low, high) != (0, rows - 1)):
        db.close()
        raise PartProblem(f"{METADATA} has {count} rows, the manifest says {rows}")
    return embeddings, db
