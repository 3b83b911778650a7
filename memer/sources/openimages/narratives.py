"""Localized Narratives + Open Images metadata: streaming parsers and the bounded-memory join.

The train files hold ~500k narratives and ~1.7M metadata rows; the join never holds them in
Python. ``JoinedRows`` keeps them in a temporary SQLite file instead: one caption per image
chosen by ``NARRATIVE_RULE`` as lines stream in (an upsert that keeps the smaller
``narrative_key``), then each metadata row joined on the image id, and the rows read back in
the build's one order (split order, then image id) in batches. SQLite's own page cache bounds
the memory, so a full build uses about what a small one does.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from memer.errors import CacheError
from memer.sources.openimages.store import image_url
from memer.text import collapse_whitespace

NARRATIVE_RULE = (
    "longest caption (after collapsing whitespace) wins; ties go to the lowest annotator_id, then the "
    "caption text: it does not depend on line order, so re-downloads and shards agree, and the fullest "
    "description gives CLIP and the user the most to go on"
)
NON_NUMERIC_ANNOTATOR = 1 << 62  # non-numeric annotator ids sort after every numeric one
INSERT_BATCH = 10_000  # lines per SQLite round trip while streaming a file
ROW_COLUMNS = ("image_id", "split", "title", "caption", "author", "author_url", "license", "license_url", "page_url")


# --- parsing (pure, streaming) -------------------------------------------------------


def iter_narratives(path: str | Path) -> Iterator[tuple[str, str, str]]:
    """(image_id, annotator_id, caption) per line of a Localized Narratives captions file."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                yield str(record["image_id"]), str(record.get("annotator_id", "")), str(record["caption"])
            except (ValueError, KeyError, TypeError) as err:
                raise CacheError(
                    f"{path} line {number} is not a narrative record ({err}).",
                    "Delete the file so the next build downloads it again.",
                ) from None


def narrative_key(annotator: str, text: str) -> tuple[int, int, str, str]:
    """The sort key of ``NARRATIVE_RULE``: the smallest key wins (longest text, lowest annotator, text)."""
    if annotator.isascii() and annotator.isdigit():
        number, rest = min(int(annotator), NON_NUMERIC_ANNOTATOR - 1), ""
    else:
        number, rest = NON_NUMERIC_ANNOTATOR, annotator
    return (-len(text), number, rest, text)


def choose_narratives(records: Iterator[tuple[str, str, str]]) -> dict[str, str]:
    """One caption per image by ``NARRATIVE_RULE``; empty captions never win (the in-memory form)."""
    best: dict[str, tuple[int, int, str, str]] = {}
    for image_id, annotator, caption in records:
        text = collapse_whitespace(caption)
        if not text:
            continue
        candidate = narrative_key(annotator, text)
        current = best.get(image_id)
        if current is None or candidate < current:
            best[image_id] = candidate
    return {image_id: key[3] for image_id, key in best.items()}


def iter_metadata(path: str | Path) -> Iterator[dict[str, str]]:
    """Rows of an Open Images ``*-images-with-rotation.csv``, streamed (quoted commas handled by csv)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"ImageID", "OriginalLandingURL", "License", "AuthorProfileURL", "Author"} - set(
            reader.fieldnames or []
        )
        if missing:
            raise CacheError(
                f"{path} lacks the columns {sorted(missing)}; it is not an Open Images metadata CSV.",
                "Delete it so the next build downloads it again.",
            )
        yield from reader


_CC = re.compile(r"creativecommons\.org/licenses/([a-z\-]+)/([0-9.]+)", re.IGNORECASE)


def license_name(url: str) -> str:
    """'https://creativecommons.org/licenses/by/2.0/' -> 'CC BY 2.0'; other URLs are kept as they are."""
    match = _CC.search(url or "")
    if not match:
        return url.strip()
    return f"CC {match.group(1).upper()} {match.group(2)}"


def metadata_row(split: str, image_id: str, caption: str, meta: dict[str, str]) -> dict[str, Any]:
    license_url = (meta.get("License") or "").strip()
    return {
        "image_id": image_id,
        "split": split,
        "title": (meta.get("Title") or "").strip(),
        "caption": caption,
        "author": (meta.get("Author") or "").strip() or "unknown",
        "author_url": (meta.get("AuthorProfileURL") or "").strip(),
        "license": license_name(license_url),
        "license_url": license_url,
        "page_url": (meta.get("OriginalLandingURL") or "").strip(),
        "image_url": image_url(split, image_id),
        "license_assumed": False,
    }


def _batched(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- the bounded-memory join -----------------------------------------------------------


class JoinedRows:
    """A build's joined rows in a temporary SQLite file, read back in one deterministic order."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = OFF")  # a scratch file: rebuilt from the downloads if lost
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE rows (split_index INTEGER NOT NULL, image_id TEXT NOT NULL, split TEXT NOT NULL, "
            "title TEXT, caption TEXT, author TEXT, author_url TEXT, license TEXT, license_url TEXT, page_url TEXT, "
            "PRIMARY KEY (split_index, image_id)) WITHOUT ROWID"
        )
        self._splits: list[str] = []

    def add_split(self, split: str, narratives_path: str | Path, metadata_path: str | Path) -> int:
        """Join one split (after the ones added before); returns how many captioned images had no metadata."""
        db = self._db
        index = len(self._splits)
        self._splits.append(split)
        db.execute("DROP TABLE IF EXISTS narratives")
        db.execute(
            "CREATE TABLE narratives (image_id TEXT PRIMARY KEY, neg_len INTEGER, annotator INTEGER, "
            "annotator_text TEXT, caption TEXT) WITHOUT ROWID"
        )
        # Row values compare column by column like Python tuples; SQLite's BINARY order of UTF-8 text
        # is code point order, Python's str order, so this keeps exactly what choose_narratives keeps.
        upsert = (
            "INSERT INTO narratives VALUES (?, ?, ?, ?, ?) ON CONFLICT (image_id) DO UPDATE SET "
            "neg_len = excluded.neg_len, annotator = excluded.annotator, annotator_text = excluded.annotator_text, "
            "caption = excluded.caption WHERE (excluded.neg_len, excluded.annotator, excluded.annotator_text, "
            "excluded.caption) < (neg_len, annotator, annotator_text, caption)"
        )
        chosen = (
            (image_id, *narrative_key(annotator, text))
            for image_id, annotator, caption in iter_narratives(narratives_path)
            if (text := collapse_whitespace(caption))
        )
        for batch in _batched(chosen, INSERT_BATCH):
            db.executemany(upsert, batch)
        join = (
            "INSERT OR IGNORE INTO rows SELECT ?, image_id, ?, ?, caption, ?, ?, ?, ?, ? "
            "FROM narratives WHERE image_id = ?"
        )
        for batch in _batched(iter_metadata(metadata_path), INSERT_BATCH):
            values = []
            for meta in batch:
                row = metadata_row(split, meta["ImageID"], "", meta)
                values.append(
                    (index, split, row["title"], row["author"], row["author_url"], row["license"])
                    + (row["license_url"], row["page_url"], meta["ImageID"])
                )
            db.executemany(join, values)
        captioned = db.execute("SELECT count(*) FROM narratives").fetchone()[0]
        joined = db.execute("SELECT count(*) FROM rows WHERE split_index = ?", (index,)).fetchone()[0]
        db.execute("DROP TABLE narratives")
        db.commit()
        return captioned - joined

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM rows").fetchone()[0])

    def batches(self, start: int, stop: int, size: int) -> Iterator[list[dict[str, Any]]]:
        """Rows ``start`` to ``stop`` of the build order, ``size`` at a time, as cache row dicts."""
        cursor = self._db.execute(
            f"SELECT {', '.join(ROW_COLUMNS)} FROM rows ORDER BY split_index, image_id LIMIT ? OFFSET ?",
            (max(0, stop - start), start),
        )
        while found := cursor.fetchmany(size):
            yield [_row(values) for values in found]

    def close(self) -> None:
        self._db.close()


def _row(values: Sequence[Any]) -> dict[str, Any]:
    row = dict(zip(ROW_COLUMNS, values))
    row["image_url"] = image_url(row["split"], row["image_id"])
    row["license_assumed"] = False
    return row


def join_split(split: str, narratives_path: str | Path, metadata_path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """The in-memory join (all rows of a split as dicts, sorted by image id): the reference the bench
    and the tests compare ``JoinedRows`` with, and fine for small files."""
    captions = choose_narratives(iter_narratives(narratives_path))
    rows = []
    for meta in iter_metadata(metadata_path):
        caption = captions.pop(meta["ImageID"], None)
        if caption is not None:
            rows.append(metadata_row(split, meta["ImageID"], caption, meta))
    rows.sort(key=lambda row: row["image_id"])
    return rows, len(captions)
