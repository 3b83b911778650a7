"""Captions best first: ordered by CLIP fit with the picture and topic, near-duplicates pushed down, unsafe last.

The order is checked against the tiny random CLIP's own similarities (tests/standins/tiny_clip.py), computed
here by hand from its vectors, so the test follows the model rather than a remembered list.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from PIL import Image

from memer import settings
from memer.caption_rank import rank_batch
from memer.captioning.base import SAFE, UNSAFE, Caption, CaptionBatch
from memer.rank import CAPTION_WORDS_SAME, near_duplicate, rank_captions

TEXTS = [
    "When the pie is done but the oven timer says five more minutes",
    "Grandma's secret ingredient is butter. More butter.",
    "Me pretending the second slice is for a friend",
    "This pie has seen things",
    "Diet starts tomorrow, apparently every day",
    "Warm pie, cold ice cream, zero regrets",
    "Apple pie: the only acceptable way to eat fruit",
    "Crust goals",
]


def _batch(texts=TEXTS, levels=None) -> CaptionBatch:
    levels = levels or [SAFE] * len(texts)
    return CaptionBatch([Caption(t, "openai", "m", level) for t, level in zip(texts, levels)], "openai", "m", "check")


@pytest.fixture
def picture() -> Image.Image:
    return Image.new("RGB", (320, 240), (200, 120, 40))


def _expected_scores(clip, picture, theme, texts) -> list[float]:
    weight = settings.CAPTION_TOPIC_WEIGHT
    image, topic = clip.encode_images([picture])[0], clip.encode_query(theme)
    return [float(s) for s in clip.encode_text(texts) @ ((1 - weight) * image + weight * topic)]


def test_the_order_follows_the_clip_similarity(tiny_clip, picture, monkeypatch):
    monkeypatch.setattr(settings, "CAPTION_DEDUPE_THRESHOLD", 1.01)  # words alone decide duplicates here
    batch = rank_batch(_batch(), picture, "apple pie", clip=tiny_clip)
    scores = _expected_scores(tiny_clip, picture, "apple pie", TEXTS)
    assert [c.text for c in batch.captions] == [TEXTS[i] for i in np.argsort(scores)[::-1]]
    assert [c.text for c in batch.captions] != TEXTS  # the model's order was not already the best
    by_text = dict(zip(TEXTS, scores))
    assert all(c.score == pytest.approx(by_text[c.text], abs=1e-5) for c in batch.captions)
    assert batch.ranked_by == f"CLIP {tiny_clip_name(tiny_clip)} fit with the picture and topic"
    assert [c["score"] for c in batch.to_dict()["captions"]] == [round(c.score, 4) for c in batch.captions]


def tiny_clip_name(clip) -> str:
    return clip.model_name.rsplit("/", 1)[-1]


def test_the_picture_changes_the_order(tiny_clip, monkeypatch):
    """The score looks at the picture: two different pictures give two different orders of the same captions."""
    monkeypatch.setattr(settings, "CAPTION_DEDUPE_THRESHOLD", 1.01)
    orders = set()
    for colour in ((250, 250, 250), (10, 10, 10), (200, 30, 30), (20, 160, 40)):
        batch = rank_batch(_batch(), Image.new("RGB", (64, 64), colour), "apple pie", clip=tiny_clip)
        orders.add(tuple(c.text for c in batch.captions))
    assert len(orders) > 1


def test_near_duplicates_go_below_every_different_caption(tiny_clip, picture, monkeypatch):
    monkeypatch.setattr(settings, "CAPTION_DEDUPE_THRESHOLD", 1.01)
    plain = rank_batch(_batch(), picture, "apple pie", clip=tiny_clip)
    best = plain.captions[0].text
    copies = [best.upper() + "!", best + " lol"]  # a reader calls these the same caption
    texts = [*TEXTS, *copies]
    ranked = rank_batch(_batch(texts), picture, "apple pie", clip=tiny_clip)
    shown = [c.text for c in ranked.captions]
    assert shown[0] in {best, *copies}  # the best of the group stays first ...
    assert len({s.lower().rstrip("!").removesuffix(" lol") for s in shown[:3]}) == 3  # ... the top three differ
    assert set(shown[-2:]) <= {best, *copies}  # the copies went to the bottom
    assert sorted(shown) == sorted(texts)  # nothing lost


def test_a_clip_near_duplicate_counts_too():
    """Two captions whose CLIP vectors are (almost) the same are one caption, whatever their words."""
    vectors = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]], dtype=np.float32)
    order, _scores, repeats = rank_captions(
        np.array([1.0, 0.0]), np.array([1.0, 0.0]), vectors, ["a", "b", "c"], dedupe_threshold=0.95
    )
    assert order == [0, 2, 1] and repeats == [None, 0, None]
    order, _scores, _ = rank_captions(
        np.array([1.0, 0.0]), np.array([1.0, 0.0]), vectors, ["a", "b", "c"], dedupe_threshold=1.01
    )
    assert order == [0, 1, 2]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Crust goals", "crust goals!!", True),
        ("When the pie is done", "When the pie is done, finally", True),
        ("Crust goals", "Warm pie, cold ice cream", False),
        ("This pie has seen things", "This cake has seen nothing", False),
    ],
)
def test_near_duplicate_by_words(a, b, same):
    assert near_duplicate(a, b, similarity=0.0, threshold=0.95) is same


WORDS = st.lists(st.sampled_from(["pie", "crust", "goals", "when", "the", "is", "done"]), min_size=1, max_size=9)


@given(
    st.one_of(st.tuples(WORDS, WORDS), WORDS.flatmap(lambda words: st.tuples(st.just(words), st.permutations(words))))
)
@example((["pie", "crust", "when", "done"], ["done", "when", "crust", "pie"]))  # same words, another order: not a copy
def test_the_quick_word_check_decides_as_the_full_match_does(pair):
    words_a, words_b = pair
    from difflib import SequenceMatcher

    full = words_a == words_b or SequenceMatcher(None, words_a, words_b).ratio() >= CAPTION_WORDS_SAME
    assert near_duplicate(" ".join(words_a), " ".join(words_b), similarity=0.0, threshold=0.95) is full


def test_unsafe_captions_go_last_whatever_their_score(tiny_clip, picture, monkeypatch):
    monkeypatch.setattr(settings, "CAPTION_DEDUPE_THRESHOLD", 1.01)
    best = rank_batch(_batch(), picture, "apple pie", clip=tiny_clip).captions[0].text
    levels = [UNSAFE if text == best else SAFE for text in TEXTS]
    batch = rank_batch(_batch(levels=levels), picture, "apple pie", clip=tiny_clip)
    assert batch.captions[-1].text == best and batch.captions[-1].level == UNSAFE
    assert [c.text for c in batch.usable()] == [c.text for c in batch.captions[:-1]]


def test_ranking_off_keeps_the_order_written_and_shows_no_score(tiny_clip, picture, monkeypatch):
    monkeypatch.setattr(settings, "RANK_CAPTIONS", False)
    batch = rank_batch(_batch(), picture, "apple pie", clip=tiny_clip)
    assert batch.texts == TEXTS and all(c.score is None for c in batch.captions) and batch.ranked_by == ""
    assert batch.to_dict()["captions"][0]["score"] is None


def test_without_clip_the_captions_stay_as_written_and_the_note_says_why(picture, monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "CLIP_MODEL", f"local-dir:{tmp_path / 'missing'}")
    batch = _batch()
    batch.note = "Only 8 of 10 captions came back."
    rank_batch(batch, picture, "apple pie")
    assert batch.texts == TEXTS and batch.ranked_by == ""
    assert batch.note.startswith("Only 8 of 10 captions came back. Not ranked (shown as written): CLIP model folder")


def test_a_model_failing_mid_way_costs_no_caption(tiny_clip, picture, monkeypatch):
    def broken(texts, **_):
        raise RuntimeError("CUDA out of memory\nmore lines")

    monkeypatch.setattr(tiny_clip, "encode_text", broken)
    batch = rank_batch(_batch(), picture, "apple pie", clip=tiny_clip)
    assert batch.texts == TEXTS
    assert batch.note == "Not ranked (shown as written): RuntimeError: CUDA out of memory."


def test_the_caption_step_ranks_with_the_model_of_the_search(tiny_clip, picture, monkeypatch):
    """No clip passed: the settings' model, loaded once per process (the search's own)."""
    from memer.clip import load_clip

    batch = rank_batch(_batch(), picture, "apple pie")
    assert load_clip() is tiny_clip and batch.ranked_by.startswith("CLIP ")
    assert all(c.score is not None for c in batch.captions)
