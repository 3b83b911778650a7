"""Ranking and de-duplication, driven by a deterministic stand-in encoder (and once by the tiny CLIP)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image

from memer import settings
from memer.candidates import ImageCandidate
from memer.clip import forget_loaded_models
from memer.pipeline import embed_and_rank
from memer.rank import attribution_quality, file_keys, rank

DIM = 16
QUERY = np.eye(DIM, dtype=np.float32)[0]


def vector(score: float, slot: int, turn: float = 0.0) -> np.ndarray:
    """A unit vector with cosine ``score`` to QUERY, leaning into axis ``slot`` (1..15).

    Vectors in different slots have cosine score_a * score_b (< 0.95 for scores <= 0.9);
    in the same slot, ``turn`` rotates a vector within its slot's plane a little.
    """
    v = np.zeros(DIM, dtype=np.float32)
    v[0] = score
    v[slot] = math.sqrt(1 - score**2)
    if turn:
        other = 1 + (slot % (DIM - 1))
        v = v * math.cos(turn)
        v[other] += math.sin(turn)
    return v / np.linalg.norm(v)


def candidate(title: str, **fields) -> ImageCandidate:
    fields.setdefault("image_url", f"https://img.example/{title.replace(' ', '_')}.jpg")
    fields.setdefault("license", "CC BY 4.0")
    fields.setdefault("author", "Jane Doe")
    return ImageCandidate(source=fields.pop("source", "commons"), title=title, **fields)


def titles(items) -> list[str]:
    return [c.title for c in items]


# --- ordering ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "top_k", "expected"),
    [
        ([0.1, 0.9, 0.5], 10, ["c1", "c2", "c0"]),
        ([0.3, 0.3, 0.8, -0.2], 10, ["c2", "c0", "c1", "c3"]),  # ties keep the input order
        ([0.9, 0.8, 0.7, 0.6, 0.5], 3, ["c0", "c1", "c2"]),
        ([0.2, 0.6], 0, []),
        ([0.5], 1, ["c0"]),
    ],
)
def test_ranked_best_first_and_cut_at_top_k(scores: list[float], top_k: int, expected: list[str]):
    candidates = [candidate(f"c{i}") for i in range(len(scores))]
    vectors = np.stack([vector(s, 1 + i) for i, s in enumerate(scores)])
    ranked, dropped = rank(QUERY, candidates, vectors, top_k=top_k)
    assert titles(ranked) == expected
    assert [c.score for c in candidates] == pytest.approx(scores, abs=1e-5)
    below = [(c.title, reason) for c, reason in dropped]
    assert len(below) == len(scores) - len(expected)
    assert all(f"below the top {top_k}" in reason for _, reason in below)


def test_scores_are_cosines_even_for_unnormalised_vectors():
    candidates = [candidate("a"), candidate("b")]
    vectors = np.stack([vector(0.6, 1) * 7.0, vector(0.2, 2) * 0.1])
    ranked, _ = rank(QUERY * 3.0, candidates, vectors)
    assert titles(ranked) == ["a", "b"]
    assert ranked[0].score == pytest.approx(0.6, abs=1e-5)
    assert ranked[1].score == pytest.approx(0.2, abs=1e-5)


def test_top_k_and_threshold_default_to_the_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(settings, "TOP_K", 2)
    monkeypatch.setattr(settings, "DEDUPE_THRESHOLD", 0.999)
    candidates = [candidate(f"c{i}") for i in range(4)]
    # c0 and c1 are 0.995 alike: under the default 0.95 a duplicate, under the setting not.
    vectors = np.stack([vector(0.8, 1), vector(0.8, 1, turn=0.1), vector(0.5, 2), vector(0.4, 3)])
    ranked, dropped = rank(QUERY, candidates, vectors)
    assert titles(ranked) == ["c0", "c1"]
    assert all("below the top 2" in reason for _, reason in dropped)


def test_no_candidates():
    assert rank(QUERY, [], np.zeros((0, DIM), dtype=np.float32)) == ([], [])


@pytest.mark.parametrize("shape", [(2, DIM), (3, DIM - 1), (3,)])
def test_mismatched_vectors_are_a_programming_error(shape: tuple[int, ...]):
    with pytest.raises(ValueError, match="image vector per candidate"):
        rank(QUERY, [candidate("a"), candidate("b"), candidate("c")], np.ones(shape, dtype=np.float32))


# --- duplicates -------------------------------------------------------------------------

ORIGINAL = "https://upload.example/commons/a/ab/Apple_pie.jpg"


@pytest.mark.parametrize(
    ("first", "second", "reason"),
    [
        ({"original_url": ORIGINAL}, {"original_url": ORIGINAL.replace("https:", "http:")}, "same original file"),
        ({"image_url": "https://t.example/x.jpg"}, {"image_url": "https://T.EXAMPLE/x.jpg"}, "same image URL"),
        ({"image_url": "https://t.example/a%20b.jpg"}, {"image_url": "https://t.example/a b.jpg"}, "same image URL"),
        (
            {"page_url": "https://c.example/wiki/File:A.jpg"},
            {"page_url": "https://c.example/wiki/File:A.jpg/"},
            "same file page",
        ),
        ({"title": "File:Apple_pie.jpg"}, {"title": "apple pie.JPG"}, "same file name"),
        ({"original_url": ORIGINAL}, {"image_url": ORIGINAL}, "same file"),  # one's thumbnail is the other's file
    ],
)
def test_same_file_is_a_duplicate_whatever_the_pictures_look_like(first: dict, second: dict, reason: str):
    a = candidate(first.pop("title", "first"), **first)
    b = candidate(second.pop("title", "second"), source="wikipedia", **second)
    ranked, dropped = rank(QUERY, [a, b], np.stack([vector(0.8, 1), vector(0.3, 2)]))
    assert ranked == [a]
    assert dropped == [(b, f'duplicate of "{a.title}" (Wikimedia Commons, {reason})')]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"title": "Apple pie"}, {"title": "apple pie"}),  # a caption, not a file name
        ({"original_url": "", "page_url": ""}, {"original_url": "", "page_url": ""}),  # empty never matches
        ({"image_url": "https://t.example/1.jpg"}, {"image_url": "https://t.example/2.jpg"}),
    ],
)
def test_different_files_are_kept(first: dict, second: dict):
    a = candidate(first.pop("title", "first"), **first)
    b = candidate(second.pop("title", "second"), **second)
    ranked, dropped = rank(QUERY, [a, b], np.stack([vector(0.8, 1), vector(0.3, 2)]))
    assert ranked == [a, b]
    assert dropped == []


@pytest.mark.parametrize(
    ("turn", "threshold", "duplicate"),
    [
        (0.0, 0.95, True),
        (0.2, 0.95, True),  # cosine 0.980
        (0.3, 0.95, True),  # cosine 0.955
        (0.33, 0.95, False),  # cosine 0.946
        (0.6, 0.95, False),
        (0.2, 0.99, False),
    ],
)
def test_image_similarity_at_or_above_the_threshold_is_a_duplicate(turn: float, threshold: float, duplicate: bool):
    a, b = candidate("Apple pie on a plate"), candidate("Apple pie, cropped")
    vectors = np.stack([vector(0.7, 1), vector(0.7, 1, turn=turn)])
    similarity = float(vectors[0] @ vectors[1])
    ranked, dropped = rank(QUERY, [a, b], vectors, dedupe_threshold=threshold)
    if duplicate:
        assert len(ranked) == 1
        ((_loser, reason),) = dropped
        assert reason == f'duplicate of "{ranked[0].title}" (Wikimedia Commons, image similarity {similarity:.2f})'
    else:
        assert len(ranked) == 2 and dropped == []


BEST = dict(
    free=True,
    license="CC BY-SA 4.0",
    license_url="https://cc.example/by-sa/4.0",
    author="Jane Doe",
    page_url="https://c.example/File:X.jpg",
    original_url="https://u.example/X.jpg",
)


@pytest.mark.parametrize(
    ("worse", "why"),
    [
        ({"free": False}, "a free licence beats a non-free one"),
        ({"license_assumed": True}, "a licence read from the source beats an assumed one"),
        ({"license": ""}, "a known licence beats none"),
        ({"author": "unknown"}, "a named author beats unknown"),
        ({"author": "  "}, "a named author beats a blank"),
        ({"license_url": ""}, "a licence link helps"),
        ({"page_url": ""}, "a file page helps"),
        ({"original_url": ""}, "the original file helps"),
    ],
)
def test_attribution_quality(worse: dict, why: str):
    best = ImageCandidate(source="commons", title="best", image_url="https://t.example/1.jpg", **BEST)
    other = ImageCandidate(source="openimages", title="other", image_url="https://t.example/2.jpg", **{**BEST, **worse})
    assert attribution_quality(best) > attribution_quality(other), why


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        ({"license": "CC BY 2.0", "license_assumed": True, "author": "unknown"}, {"license": ""}),  # assumed > none
        ({"author": "Jane"}, {"author": "unknown", "license_url": "https://cc.example"}),  # author outweighs link
        ({"free": True, "license": ""}, {"free": False, "license": "Fair use"}),  # free outweighs all else
    ],
)
def test_attribution_quality_weights(better: dict, worse: dict):
    a = ImageCandidate(source="commons", title="a", image_url="https://t.example/a.jpg", **better)
    b = ImageCandidate(source="commons", title="b", image_url="https://t.example/b.jpg", **worse)
    assert attribution_quality(a) > attribution_quality(b)


def test_of_duplicates_the_better_attributed_stays_even_with_a_lower_score():
    vague = candidate("Apple pie", source="openimages", author="unknown", license_assumed=True, score=None)
    credited = candidate("File:Apple pie.jpg", **{k: v for k, v in BEST.items() if k != "original_url"})
    other = candidate("Tractor")
    vectors = np.stack([vector(0.80, 1), vector(0.78, 1, turn=0.05), vector(0.5, 2)])
    ranked, dropped = rank(QUERY, [vague, credited, other], vectors)
    assert ranked == [credited, other]
    assert dropped[0][0] is vague
    assert dropped[0][1].startswith('duplicate of "File:Apple pie.jpg" (Wikimedia Commons, image similarity ')
    assert vague.score == pytest.approx(0.80, abs=1e-5)


def test_of_equally_attributed_duplicates_the_higher_score_stays():
    low, high = candidate("low", original_url=ORIGINAL), candidate("high", original_url=ORIGINAL)
    ranked, dropped = rank(QUERY, [low, high], np.stack([vector(0.4, 1), vector(0.6, 2)]))
    assert ranked == [high]
    assert dropped == [(low, 'duplicate of "high" (Wikimedia Commons, same original file)')]


def test_a_duplicate_does_not_take_a_top_k_place():
    candidates = [candidate(f"c{i}") for i in range(4)]
    candidates[1].original_url = candidates[0].original_url = ORIGINAL
    vectors = np.stack([vector(0.9, 1), vector(0.85, 2), vector(0.5, 3), vector(0.4, 4)])
    ranked, dropped = rank(QUERY, candidates, vectors, top_k=2)
    assert titles(ranked) == ["c0", "c2"]
    assert [(c.title, r.split(" (")[0]) for c, r in dropped] == [
        ("c1", 'duplicate of "c0"'),
        ("c3", "ranked 3, below the top 2"),
    ]


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4), st.booleans(), st.booleans()), min_size=1, max_size=12),
    st.integers(0, 8),
    st.floats(0.5, 1.0),
)
def test_every_candidate_is_ranked_or_dropped_and_no_two_ranked_are_duplicates(rows, top_k, threshold):
    rng = np.random.default_rng(len(rows) * 31 + top_k)
    candidates, vectors = [], []
    for i, (file_id, look, free, credited) in enumerate(rows):
        candidates.append(
            candidate(
                f"c{i}",
                original_url=f"https://u.example/{file_id}.jpg" if file_id else "",
                free=free,
                author="Jane" if credited else "unknown",
            )
        )
        vectors.append(vector(0.6, look) + rng.normal(0, 0.05, DIM).astype(np.float32))
    vectors = np.stack(vectors)
    ranked, dropped = rank(QUERY, candidates, vectors, top_k=top_k, dedupe_threshold=threshold)
    assert sorted(map(id, ranked + [c for c, _ in dropped])) == sorted(map(id, candidates))
    assert len(ranked) <= top_k
    assert [c.score for c in ranked] == sorted((c.score for c in ranked), reverse=True)
    units = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    index = {id(c): i for i, c in enumerate(candidates)}
    for a_pos, a in enumerate(ranked):
        for b in ranked[a_pos + 1 :]:
            assert not (a.original_url and a.original_url == b.original_url)
            assert float(units[index[id(a)]] @ units[index[id(b)]]) < threshold


# --- embed_and_rank ---------------------------------------------------------------------


@pytest.fixture
def images_module():
    """The real safe image loader: embed_and_rank opens every picture through it."""
    import memer.images

    return memer.images


class StandinClip:
    """Encodes a solid-colour picture (red, green, 0) as vector(red / 255, green): a known score per picture."""

    dim = DIM

    def __init__(self) -> None:
        self.batches: list[int] = []

    def encode_images(self, images):
        self.batches.append(len(images))
        return np.stack([vector(image.getpixel((0, 0))[0] / 255, image.getpixel((0, 0))[1]) for image in images])

    def encode_query(self, query: str) -> np.ndarray:
        return QUERY


def picture(path: Path, red: int, green: int) -> Path:
    Image.new("RGB", (8, 8), (red, green, 0)).save(path)
    return path


def test_embed_and_rank_drops_unusable_files_with_a_reason(tmp_path: Path, images_module, monkeypatch):
    monkeypatch.setattr(settings, "CLIP_BATCH_SIZE", 2)
    good = [
        candidate(f"p{i}", path=picture(tmp_path / f"p{i}.png", red, 1 + i)) for i, red in enumerate([50, 200, 120])
    ]
    broken = candidate("broken", path=tmp_path / "broken.jpg")
    broken.path.write_bytes(b"<html>not a picture</html>")
    missing = candidate("missing")
    stand_in = StandinClip()
    events = []
    ranked, dropped = embed_and_rank(
        stand_in,
        "apple pie",
        [good[0], broken, missing, good[1], good[2]],
        progress=lambda message, fraction: events.append(fraction),
    )
    assert titles(ranked) == ["p1", "p2", "p0"]
    assert [c.score for c in ranked] == pytest.approx([200 / 255, 120 / 255, 50 / 255], abs=1e-4)
    reasons = {c.title: reason for c, reason in dropped}
    assert reasons["missing"] == "not downloaded"
    assert reasons["broken"].startswith("unreadable image: ")
    assert stand_in.batches == [1, 2]  # batches of 2 paths; the broken one was left out of the first
    assert events[0] == 0.0 and events[-1] == 1.0


def test_embed_and_rank_with_nothing_usable(tmp_path: Path, images_module):
    ranked, dropped = embed_and_rank(StandinClip(), "apple pie", [candidate("missing")])
    assert ranked == [] and [r for _, r in dropped] == ["not downloaded"]


def test_embed_and_rank_with_the_tiny_clip(tmp_path: Path, images_module, tiny_clip):
    candidates = [candidate(f"p{i}", path=picture(tmp_path / f"p{i}.png", 40 * i, 255 - 30 * i)) for i in range(6)]
    ranked, dropped = embed_and_rank(tiny_clip, "apple pie", candidates, top_k=3, dedupe_threshold=1.01)
    assert len(ranked) == 3 and len(dropped) == 3
    query = tiny_clip.encode_query("apple pie")
    expected = tiny_clip.encode_images([Image.open(c.path).convert("RGB") for c in candidates]) @ query
    assert [c.score for c in candidates] == pytest.approx(expected.tolist(), abs=1e-5)
    assert titles(ranked) == [f"p{i}" for i in np.argsort(-expected, kind="stable")[:3]]
    forget_loaded_models()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"title": "File:Apple_pie.jpg", "image_url": ""}, {"same file name": "apple pie.jpg"}),
        (
            {"title": "Apple pie", "image_url": "HTTPS://Up.Example/a/Apple%20pie.jpg/"},
            {"same image URL": "up.example/a/Apple pie.jpg"},
        ),
        (
            {"title": "x", "image_url": "", "page_url": "https://c.example/w/index.php?title=File:A.jpg"},
            {"same file page": "c.example/w/index.php?title=File:A.jpg"},
        ),
        ({"title": "x", "image_url": "", "original_url": " "}, {}),
    ],
)
def test_file_keys(fields: dict, expected: dict):
    assert file_keys(ImageCandidate(source="commons", **fields)) == expected
