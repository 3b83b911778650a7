"""The bounded-memory join: the same rows, in the same order, as the in-memory reference join."""

from __future__ import annotations

import csv
import json
import random

import pytest

from memer.sources.openimages import narratives
from memer.sources.openimages.narratives import JoinedRows, choose_narratives, join_split, narrative_key
from tests.standins.openimages import CSV_HEADER

CAPTIONS = [
    "a dog",
    "a dog ",
    "the  cat sat",
    "zebra",
    "Ünïcödé käse",
    "日本の猫",
    "emoji 🐈 cat",
    "same size",
    "size same",
]
ANNOTATORS = ["1", "2", "10", "9", "abc", "", "007", "²", "99999999999999999999999"]


def _write_split(folder, name, seed, images=60):
    rng = random.Random(seed)
    ids = [f"{rng.getrandbits(64):016x}" for _ in range(images)]
    lines = []
    for image_id in ids:
        for _ in range(rng.randint(1, 4)):
            lines.append(
                {"image_id": image_id, "annotator_id": rng.choice(ANNOTATORS), "caption": rng.choice(CAPTIONS)}
            )
    rng.shuffle(lines)
    narratives_path = folder / f"{name}.jsonl"
    narratives_path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    metadata_path = folder / f"{name}.csv"
    with open(metadata_path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        listed = rng.sample(ids, images * 3 // 4) + [f"{rng.getrandbits(64):016x}" for _ in range(20)]
        listed.append(listed[0])  # a duplicate metadata row: the first one wins in both joins
        for image_id in listed:
            writer.writerow([image_id, name, "", f"https://flickr/{image_id}", "https://creativecommons.org/licenses/by/2.0/",
                             f"https://flickr/people/{image_id[:4]}", rng.choice(["Jane, Doe", 'Q "q"', ""]),
                             rng.choice(["Title, with comma", ""]), "1", "md5", "", "0"])  # fmt: skip
    return narratives_path, metadata_path


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_streaming_join_equals_the_in_memory_join(tmp_path, seed, monkeypatch):
    monkeypatch.setattr(narratives, "INSERT_BATCH", 7)  # many round trips, duplicates across batches
    splits = [("train", *_write_split(tmp_path, "train", seed)), ("test", *_write_split(tmp_path, "test", seed + 10))]
    expected, expected_skipped = [], 0
    for split, narratives_path, metadata_path in splits:
        rows, skipped = join_split(split, narratives_path, metadata_path)
        expected += rows
        expected_skipped += skipped
    joined = JoinedRows(tmp_path / "join.sqlite")
    skipped = sum(joined.add_split(*entry) for entry in splits)
    assert skipped == expected_skipped > 0
    assert len(joined) == len(expected) > 0
    got = [row for batch in joined.batches(0, len(joined), 5) for row in batch]
    assert got == expected
    # A shard's slice is the same slice of the same order.
    third = len(expected) // 3
    assert [row for batch in joined.batches(third, 2 * third, 4) for row in batch] == expected[third : 2 * third]
    joined.close()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("1", "longer text"), ("0", "short")),  # longest wins
        (("9", "same"), ("10", "same")),  # numeric annotator order, not text order
        (("5", "same"), ("abc", "same")),  # numeric before non-numeric
        (("1", "abc"), ("1", "abd")),  # then the text
    ],
)
def test_narrative_key_orders_like_the_rule(first, second):
    assert narrative_key(*first) < narrative_key(*second)
    records = [("x", first[0], first[1]), ("x", second[0], second[1])]
    assert choose_narratives(iter(records)) == choose_narratives(iter(records[::-1])) == {"x": first[1]}
