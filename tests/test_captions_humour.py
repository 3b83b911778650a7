"""The optional humour judge: the tiny VLM compares the top captions pairwise, both ways, in one bounded generate."""

from __future__ import annotations

import pytest
from PIL import Image

from memer.captioning import humour, judge_humour, local_engine
from memer.captioning.base import SAFE, UNSAFE, Caption, CaptionBatch
from memer.captioning.picture_safety import RATING_TOKENS
from tests.standins.settings import override
from tests.standins.tiny_vlm import ForcedAnswers, forced_at
from tests.test_captions_local_vision import Spy

PICTURE = Image.new("RGB", (160, 120), (40, 90, 200))
TEXTS = ["Crust goals", "This pie has seen things", "Me at 2 am: one more slice", "Warm pie, cold ice cream"]
CLIP_ORDER = "CLIP tiny fit with the picture and topic"


@pytest.fixture(autouse=True)
def _cpu_and_on(monkeypatch):
    override(monkeypatch, DEVICE="cpu", LOCAL_VISION_SIZE=64, HUMOUR_JUDGE="1", HUMOUR_JUDGE_TOP=3)


@pytest.fixture
def vlm(tiny_vlm):
    return local_engine.load_model(str(tiny_vlm), device="cpu")


@pytest.fixture
def spy(monkeypatch, vlm):
    generate = Spy(vlm.model.generate)
    monkeypatch.setattr(vlm.model, "generate", generate)
    return generate


def forced(monkeypatch, local, answers) -> ForcedAnswers:
    """The model answers ``answers`` (one per row) in the judge's generate only."""
    return forced_at(monkeypatch, local, humour, "picture_rows", answers)


def batch(engine: str = "local", levels=(SAFE,) * 4) -> CaptionBatch:
    captions = [Caption(text, engine, "tiny-vlm", level) for text, level in zip(TEXTS, levels)]
    return CaptionBatch(captions, engine, "tiny-vlm", "checks", ranked_by=CLIP_ORDER)


def judged(monkeypatch, vlm, answers, given: CaptionBatch | None = None) -> CaptionBatch:
    forcing = forced(monkeypatch, vlm, answers)
    try:
        return judge_humour(given or batch(), PICTURE, model=vlm.name)
    finally:
        forcing.remove()


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [("A", 0), (" B.\n", 1), ("B", 1), ("a", None), ("AB", None), ("C", None), ("", None), ("A or B", None)],
)
def test_the_answer_is_exactly_a_letter_or_it_counts_for_neither(answer, verdict):
    assert humour.parse_verdict(answer) == verdict


def test_the_top_three_are_ordered_by_wins_from_one_bounded_generate(monkeypatch, vlm, spy):
    # Rows: (0,1) (0,2) (1,0) (1,2) (2,0) (2,1) as (A, B). Caption 3 wins all four of its; caption 1 two; caption 2 none.
    result = judged(monkeypatch, vlm, ["A", "B", "B", "B", "A", "A"])
    assert result.texts == [TEXTS[2], TEXTS[0], TEXTS[1], TEXTS[3]]  # the fourth stays where CLIP put it
    (call,) = spy.calls
    assert call["input_ids"].shape[0] == 6 and call["image_grid_thw"].shape[0] == 6  # each pair both ways, with it
    assert call["do_sample"] is False and call["max_new_tokens"] == RATING_TOKENS and call["max_time"] == 60.0
    rows = vlm.tokenizer.batch_decode(call["input_ids"], skip_special_tokens=False)
    assert f"A: «{TEXTS[0]}»" in rows[0] and f"B: «{TEXTS[1]}»" in rows[0]
    assert f"A: «{TEXTS[1]}»" in rows[2] and f"B: «{TEXTS[0]}»" in rows[2]
    assert result.ranked_by == f"{CLIP_ORDER}, then {vlm.name}'s humour judgement for the top 3 (6 of 6 comparisons)"


def test_a_judge_that_always_picks_the_first_decides_nothing(monkeypatch, vlm):
    assert judged(monkeypatch, vlm, ["A"]).texts == TEXTS  # every caption wins as A twice: ties keep CLIP's order


def test_no_verdict_keeps_clips_order_and_says_why(monkeypatch, vlm):
    result = judged(monkeypatch, vlm, ["maybe"])
    assert result.texts == TEXTS and result.ranked_by == CLIP_ORDER
    assert "gave no verdict (A or B): the order is CLIP's" in result.note


def test_a_failing_judge_costs_no_caption(monkeypatch, vlm):
    def broken(*args, **kwargs):
        raise RuntimeError("CUDA out of memory\nsecond line")

    monkeypatch.setattr(humour, "short_answers", broken)
    result = judge_humour(batch(), PICTURE, model=vlm.name)
    assert result.texts == TEXTS and "The humour judge failed (CUDA out of memory)" in result.note


@pytest.mark.parametrize("choice", ["auto", "0"])
def test_off_on_a_cpu_by_default_and_when_asked(monkeypatch, vlm, spy, choice):
    override(monkeypatch, HUMOUR_JUDGE=choice)
    result = judge_humour(batch(), PICTURE, model=vlm.name)
    assert result.texts == TEXTS and spy.calls == [] and result.note == ""
    assert humour.judge_wanted("cuda:0") is (choice == "auto") and humour.judge_wanted("cpu") is False


def test_only_local_batches_with_two_usable_captions_on_top_are_judged(monkeypatch, vlm, spy):
    def no_model(*args, **kwargs):
        raise AssertionError("no model is loaded for this batch")

    monkeypatch.setattr(local_engine, "load_model", no_model)
    assert judge_humour(batch(engine="openai"), PICTURE).texts == TEXTS
    assert judge_humour(batch(levels=(SAFE, UNSAFE, SAFE, SAFE)), PICTURE).texts == TEXTS
    assert judge_humour(batch(), None).texts == TEXTS
    assert spy.calls == []


def test_a_text_only_model_is_not_asked(monkeypatch, tiny_chat_lm):
    chat = local_engine.load_model(str(tiny_chat_lm), device="cpu")
    generate = Spy(chat.model.generate)
    monkeypatch.setattr(chat.model, "generate", generate)
    assert judge_humour(batch(), PICTURE, model=chat.name).texts == TEXTS and generate.calls == []


def test_the_pass_asks_the_judge_after_clip(monkeypatch, tmp_path, tiny_vlm):
    from memer import pipeline
    from memer.candidates import ImageCandidate

    override(monkeypatch, DESCRIBE=False, MAX_NEW_TOKENS=8, LOCAL_PICTURE_CHECK=False)
    path = tmp_path / "pie.png"
    Image.effect_mandelbrot((200, 150), (-2.0, -1.2, 1.0, 1.2), 32).convert("RGB").save(path)
    candidate = ImageCandidate(source="upload", title="pie", image_url=path.as_uri(), path=path, license="own work")
    batch = pipeline.captions(candidate, theme="pie", engine="local", model=str(tiny_vlm), n=4, seed=2)
    # The tiny random model's answers are rarely a bare "A" or "B": either way the batch says the judge ran.
    assert "humour judge" in batch.note or "humour judgement" in batch.ranked_by, (batch.note, batch.ranked_by)
