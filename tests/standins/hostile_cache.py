"""Hostile parts for a published Open Images cache: what an attacker (or a broken build) uploads.

Each maker takes the good part's bytes and returns a part whose checksum the host's manifest is
then rewritten to match (``CacheHost.publish``), so only memer's own checks of what the part
holds can stop it: an object array (a pickle) in the index, an index array of the wrong shape,
an .npy header claiming 29 TiB, an npz member that inflates to hundreds of megabytes from a few
hundred kilobytes, and a metadata database whose ``rows`` is a view over an endless query.
"""

from __future__ import annotations

import functools
import io
import sqlite3
import tempfile
import zipfile
from pathlib import Path

import numpy as np

TIB = 1 << 40


def _arrays(npz: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(npz), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    out = io.BytesIO()
    np.savez(out, **arrays)  # np.savez pickles object arrays, as an attacker's would be
    return out.getvalue()


def pickled_index(npz: bytes) -> bytes:
    """index.npz whose ``leading`` is an object array: loading it means unpickling."""
    arrays = _arrays(npz)
    arrays["leading"] = arrays["leading"].astype(object)  # the right shape; a pickle all the same
    return _npz(arrays)


def misshapen_index(npz: bytes) -> bytes:
    """index.npz whose per-row arrays have one row fewer than the cache."""
    arrays = _arrays(npz)
    for name in ("leading", "residual_head", "residual_tail", "code_norm_head", "code_norm_tail", "tail_norm"):
        arrays[name] = arrays[name][:-1]
    return _npz(arrays)


def huge_header(npy: bytes, tebibytes: int = 29) -> bytes:
    """An int8 .npy whose header claims ``tebibytes`` TiB (its first dimension kept), followed by the real data."""
    good = io.BytesIO(npy)
    np.lib.format.read_magic(good)
    shape, _, dtype = np.lib.format.read_array_header_1_0(good)
    out = io.BytesIO()  # write_array_header_1_0 writes the magic string too
    claimed = (shape[0], tebibytes * TIB // shape[0])
    np.lib.format.write_array_header_1_0(out, {"descr": dtype.str, "fortran_order": False, "shape": claimed})
    return out.getvalue() + good.read()


@functools.lru_cache(maxsize=2)
def npz_bomb(npz: bytes, megabytes: int = 256) -> bytes:
    """index.npz whose ``leading`` member is ``megabytes`` MB of float32 zeros, deflated to a few hundred KB."""
    arrays = _arrays(npz)
    width = arrays["leading"].shape[1]
    rows = megabytes * (1 << 20) // (4 * width)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            if name != "leading":
                with archive.open(f"{name}.npy", "w") as member:
                    np.lib.format.write_array(member, array)
        with archive.open("leading.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(
                member, {"descr": "<f4", "fortran_order": False, "shape": (rows, width)}
            )
            zeros = bytes(1 << 20)
            for _ in range(rows * 4 * width >> 20):
                member.write(zeros)
    return out.getvalue()


def endless_view_metadata(sqlite: bytes) -> bytes:
    """metadata.sqlite whose ``rows`` is a view over a recursive query that never ends (its real rows kept aside)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "metadata.sqlite"
        path.write_bytes(sqlite)
        db = sqlite3.connect(path)
        db.execute("ALTER TABLE rows RENAME TO real_rows")
        db.execute(
            "CREATE VIEW rows AS WITH RECURSIVE n(id) AS (SELECT 0 UNION ALL SELECT id + 1 FROM n) "
            "SELECT n.id AS id, r.image_id, r.split, r.title, r.caption, r.author, r.author_url, r.license, "
            "r.license_url, r.page_url, r.image_url, r.license_assumed FROM n JOIN real_rows r ON r.id = 0"
        )
        db.commit()
        db.close()
        return path.read_bytes()


def pickled_embeddings(npy: bytes) -> bytes:
    """embeddings.npy of the right shape, but an object array (a pickle)."""
    array = np.load(io.BytesIO(npy), allow_pickle=False)
    out = io.BytesIO()
    np.save(out, array.astype(object), allow_pickle=True)
    return out.getvalue()


HOSTILE_PARTS = {
    # case: (part, maker, what memer's message names)
    "pickled index": ("index.npz", pickled_index, "Python objects"),
    "misshapen index": ("index.npz", misshapen_index, "the manifest says float32"),
    "29 TiB header": ("index-head.npy", huge_header, "index-head.npy holds int8"),
    "npz bomb": ("index.npz", npz_bomb, "would unpack to"),
    "endless metadata view": ("metadata.sqlite", endless_view_metadata, "view 'rows'"),
    "pickled embeddings": ("embeddings.npy", pickled_embeddings, "Python objects"),
}
