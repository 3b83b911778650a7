"""The local check that sees the picture: the tiny VLM rates each picture+caption pair in one bounded generate."""

from __future__ import annotations

import pytest
from PIL import Image

from memer.captioning import generate_captions, local_engine, picture_safety
from memer.captioning.base import SAFE, SENSITIVE, UNSAFE
from memer.captioning.classifier import CLASSIFIER_CHECK
from memer.captioning.picture_safety import PAIR_CATEGORY, RATING_TOKENS, TEXT_CHECKS, checked_levels, parse_rating
from tests.standins.settings import override
from tests.standins.tiny_vlm import ForcedAnswers, forced_at
from tests.test_captions_local_vision import Spy


@pytest.fixture(autouse=True)
def _cpu_and_short(monkeypatch):
    override(
        monkeypatch,
        DEVICE="cpu",
        MAX_NEW_TOKENS=6,
        LOCAL_VISION_SIZE=64,
        LOCAL_PICTURE_CHECK=True,
        LOCAL_PICTURE_CHECK_SECONDS=60.0,
    )


@pytest.fixture
def vlm(tiny_vlm):
    return local_engine.load_model(str(tiny_vlm), device="cpu")


def forced(monkeypatch, local, answers, delay=0.0) -> ForcedAnswers:
    """The model answers ``answers`` (one per row) in the rating's generate only: the captions are its own."""
    return forced_at(monkeypatch, local, picture_safety, "rating_inputs", answers, delay)


@pytest.fixture
def spy(monkeypatch, vlm):
    generate = Spy(vlm.model.generate)
    monkeypatch.setattr(vlm.model, "generate", generate)
    return generate


PICTURE = Image.new("RGB", (160, 120), (200, 40, 40))


@pytest.mark.parametrize(
    ("answer", "rating"),
    [
        ("0", 0),
        ("1", 1),
        (" 2\n", 2),
        ("2.", None),
        ("12", None),
        ("3", None),
        ("safe", None),
        ("", None),
        ("0 1", None),
        ("\u0662", None),  # an Arabic-Indic two: a digit to str.isdigit, not an answer here
    ],
)
def test_the_answer_is_exactly_one_digit_or_it_is_no_rating(answer, rating):
    assert parse_rating(answer) == rating


def test_each_pair_is_rated_in_one_bounded_generate_and_the_higher_level_wins(monkeypatch, vlm, spy):
    captions = ["A lovely pie", "This damn pie", "Fuck this pie", "Look at this one", "Pie again"]
    forcing = forced(monkeypatch, vlm, ["2", "0", "1", "ok", "7"])
    try:
        levels, check, note = checked_levels(vlm, PICTURE, captions)
    finally:
        forcing.remove()

    (call,) = spy.calls  # ONE generate: a row per caption, each with the picture
    assert call["input_ids"].shape[0] == 5 and call["image_grid_thw"].shape[0] == 5
    assert call["do_sample"] is False and call["max_new_tokens"] == RATING_TOKENS
    assert call["max_time"] == 60.0
    mask = call["attention_mask"]
    assert mask[:, -1].all() and not mask[:, 0].all()  # rows of different lengths, padded on the left for generate
    rows = vlm.tokenizer.batch_decode(call["input_ids"], skip_special_tokens=False)
    assert all(f"«{caption}»" in row and "<|image_pad|>" in row for caption, row in zip(captions, rows))
    assert levels == [
        (UNSAFE, [PAIR_CATEGORY]),  # words harmless, the pair rated 2
        (SENSITIVE, ["mild profanity"]),  # the text checks' level stays when the pair rates lower
        (UNSAFE, ["profanity"]),
        (SAFE, []),  # "ok": not rated, the text checks alone
        (SAFE, []),  # "7": not rated either
    ]
    assert check == f"picture+caption check by {vlm.name}; {TEXT_CHECKS}"
    assert "gave no rating (a digit 0, 1 or 2) for 2 of 5 captions" in note
    assert "'Look at this one' (it answered 'ok')" in note and "'Pie again' (it answered '7')" in note
    assert "text checks alone" in note and "\n" not in note


def test_a_batch_from_the_free_path_says_which_checks_ran(monkeypatch, vlm, spy):
    forcing = forced(monkeypatch, vlm, ["2"])
    try:
        batch = generate_captions("pie", image=PICTURE, engine="local", model=vlm.name, n=4, seed=3)
    finally:
        forcing.remove()
    assert len(spy.calls) == 2  # the captions, then the ratings
    assert spy.calls[1]["input_ids"].shape[0] == len(batch.captions) >= 1
    assert all(c.level == UNSAFE and c.categories[-1] == PAIR_CATEGORY for c in batch.captions)
    assert batch.safety_check == f"picture+caption check by {vlm.name}; {TEXT_CHECKS}"
    assert batch.to_dict()["captions"][0]["level_name"] == "unsafe"


def test_the_answer_is_bounded_in_time(monkeypatch, vlm):
    """A slow model is stopped after max_time: a half answer ("\\n" of "\\n2") is no rating, and the note says so."""
    override(monkeypatch, LOCAL_PICTURE_CHECK_SECONDS=0.1)
    forcing = forced(monkeypatch, vlm, [["\n", "2"]], delay=0.3)
    try:
        levels, check, note = checked_levels(vlm, PICTURE, ["A lovely pie"])
    finally:
        forcing.remove()
    assert levels == [(SAFE, [])] and "gave no rating" in note and check.startswith("picture+caption check")
    override(monkeypatch, LOCAL_PICTURE_CHECK_SECONDS=60.0)  # given the time, the same answer is a rating
    forcing = forced(monkeypatch, vlm, [["\n", "2"]])
    try:
        assert checked_levels(vlm, PICTURE, ["A lovely pie"])[0] == [(UNSAFE, [PAIR_CATEGORY])]
    finally:
        forcing.remove()


def test_a_text_only_model_cannot_see_so_it_says_so_and_skips(monkeypatch, tiny_chat_lm):
    monkeypatch.setattr(local_engine, "sample", lambda local, prompt, n: ["Fuck this pie", "A lovely pie"])
    rated = Spy(picture_safety.rate_pairs)
    monkeypatch.setattr(picture_safety, "rate_pairs", rated)
    batch = generate_captions("pie", image=PICTURE, engine="local", model=str(tiny_chat_lm), n=2)
    assert rated.calls == []
    assert batch.safety_check == (
        f"{CLASSIFIER_CHECK}; no picture+caption check: {tiny_chat_lm} is a text-only model and cannot see the picture"
    )
    assert [c.level for c in batch.captions] == [UNSAFE, SAFE]  # the text checks still ran


def test_without_a_picture_or_with_the_setting_off_it_is_skipped_and_said(monkeypatch, vlm, spy):
    levels, check, note = checked_levels(vlm, None, ["A lovely pie"])
    assert check == f"{CLASSIFIER_CHECK}; no picture+caption check: there was no picture" and note == ""
    override(monkeypatch, LOCAL_PICTURE_CHECK=False)
    levels, check, note = checked_levels(vlm, PICTURE, ["A lovely pie"])
    assert check.endswith("no picture+caption check (MEMER_LOCAL_PICTURE_CHECK is off)")
    assert spy.calls == [] and levels == [(SAFE, [])]


def test_a_failing_check_keeps_the_captions_and_says_so(monkeypatch, vlm):
    def boom(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore lines")

    monkeypatch.setattr(vlm.model, "generate", boom)
    levels, check, note = checked_levels(vlm, PICTURE, ["This damn pie"])
    assert levels == [(SENSITIVE, ["mild profanity"])] and note == ""
    assert check == (
        f"{TEXT_CHECKS}; the picture+caption check by {vlm.name} failed "
        "(CUDA out of memory. Tried to allocate 2.00 GiB): text checks only"
    )


def test_the_higher_level_wins_and_categories_are_kept():
    text = [(SAFE, []), (SENSITIVE, ["insult"]), (UNSAFE, ["hate"]), (SENSITIVE, ["violence"])]
    assert picture_safety.combine(text, [1, 2, 0, None]) == [
        (SENSITIVE, [PAIR_CATEGORY]),
        (UNSAFE, ["insult", PAIR_CATEGORY]),
        (UNSAFE, ["hate"]),
        (SENSITIVE, ["violence"]),
    ]
