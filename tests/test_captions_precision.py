"""T4-safe local generation: a tiny VLM that overflows in float16 (only) is retried once in float32, and says so."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from memer.captioning import describe_picture, generate_captions, local_engine, precision
from memer.errors import CaptionError
from tests.standins.settings import override

PICTURE = Image.new("RGB", (160, 120), (30, 120, 200))


@pytest.fixture(autouse=True)
def _cpu_in_float16(monkeypatch):
    """A T4's precision on the CPU: the local model loads in float16 (torch runs these ops on the CPU)."""
    override(monkeypatch, DEVICE="cpu", MAX_NEW_TOKENS=6, LOCAL_VISION_SIZE=64, LOCAL_PICTURE_CHECK=False)
    monkeypatch.setattr(local_engine, "torch_dtype", lambda device: torch.float16)


@pytest.fixture
def t4_like(overflowing_vlm, monkeypatch):
    """The overflowing VLM freshly loaded in float16 (not the copy an earlier test moved to float32)."""
    monkeypatch.setattr(local_engine, "_loaded", {})
    local = local_engine.load_model(str(overflowing_vlm), device="cpu")
    assert local.dtype == torch.float16 and next(local.model.parameters()).dtype == torch.float16
    return local


def _inputs(local):
    from memer.captioning import local_vision
    from memer.captioning.base import CaptionRequest

    return local_vision.caption_inputs(local, CaptionRequest("pie", image=PICTURE, n=2), 64)


def test_the_stand_in_overflows_in_float16_as_a_t4_does(t4_like):
    """Without memer's guard: the real error from sampling, and silent gibberish from greedy decoding."""
    inputs = _inputs(t4_like)
    with pytest.raises(RuntimeError, match="probability tensor contains either `inf`, `nan` or element < 0"):
        t4_like.model.generate(**inputs, do_sample=True, max_new_tokens=3)
    with torch.inference_mode():
        assert torch.isnan(t4_like.model(**inputs).logits).all()
    t4_like.model.generate(**inputs, do_sample=False, max_new_tokens=3)  # no error: NaN scores, argmax 0, gibberish
    t4_like.model.to(torch.float32)
    with torch.inference_mode():
        assert torch.isfinite(t4_like.model(**inputs).logits).all()  # the same weights, plain numbers in float32


def test_captions_that_overflow_are_written_again_in_float32_and_the_batch_says_so(t4_like, monkeypatch):
    original, dtypes = t4_like.model.generate, []

    def generate(**kwargs):
        dtypes.append(next(t4_like.model.parameters()).dtype)
        return original(**kwargs)

    monkeypatch.setattr(t4_like.model, "generate", generate)
    batch = generate_captions("pie", image=PICTURE, engine="local", model=t4_like.name, n=4, seed=11)

    assert dtypes == [torch.float16, torch.float32]  # float16 stopped at the first NaN score, then float32 once
    assert batch.captions and all("\ufffd" not in text for text in batch.texts)
    assert f"{t4_like.name} overflowed in float16 (inf/NaN scores" in batch.note
    assert "memer moved it to float32" in batch.note and "ran it again" in batch.note and "\n" not in batch.note
    assert t4_like.dtype == torch.float32
    assert {p.dtype for p in t4_like.model.parameters()} == {torch.float32}
    # The rest of the session stays in float32 and says nothing more; the same seed gives the same captions.
    again = generate_captions("pie", image=PICTURE, engine="local", model=t4_like.name, n=4, seed=11)
    assert dtypes[2:] == [torch.float32] and again.texts == batch.texts
    assert again.note == f"{t4_like.name} runs in float32 for this session: it overflowed in float16 (inf/NaN scores)."


def test_the_picture_check_and_the_description_are_guarded_too(t4_like, monkeypatch):
    from memer.captioning.picture_safety import checked_levels

    override(monkeypatch, LOCAL_PICTURE_CHECK=True)
    levels, check, note = checked_levels(t4_like, PICTURE, ["A lovely pie"])
    assert "overflowed in float16" in note and check.startswith("picture+caption check by")
    assert len(levels) == 1 and t4_like.dtype == torch.float32

    monkeypatch.setattr(local_engine, "_loaded", {})
    fresh = local_engine.load_model(t4_like.name, device="cpu")
    described = describe_picture(PICTURE, engine="local", model=fresh.name)
    assert fresh.dtype == torch.float32 and "overflowed in float16" in described.note
    # No face shows a description's note: the next captions say it.
    batch = generate_captions("pie", image=PICTURE, engine="local", model=fresh.name, n=2)
    assert "runs in float32 for this session: it overflowed in float16" in batch.note


def test_float32_that_does_not_fit_is_a_one_line_error_with_a_code(t4_like, monkeypatch):
    def no_room(local, parameters):
        raise precision._overflow_error(local, local.dtype, "float32 needs about 9.5 GB, more than the 8.0 GB ...")

    monkeypatch.setattr(precision, "check_float32_room", no_room)
    with pytest.raises(CaptionError) as caught:
        generate_captions("pie", image=PICTURE, engine="local", model=t4_like.name, n=2)
    err = caught.value
    assert err.code == "caption.overflow" and err.fix == "MEMER_CAPTION_MODEL"
    assert "\n" not in str(err) and "overflowed in float16" in err.message
    assert "MEMER_CAPTION_MODEL" in err.hint and "MEMER_DEVICE=cpu" in err.hint
    assert t4_like.dtype == torch.float16  # left as it was


def test_inf_in_float32_is_not_retried_and_says_the_weights_may_be_damaged(monkeypatch, tiny_vlm):
    monkeypatch.setattr(local_engine, "torch_dtype", lambda device: torch.float32)
    local = local_engine.load_model(str(tiny_vlm), device="cpu")
    handle = local.model.lm_head.register_forward_hook(lambda module, args, out: torch.full_like(out, float("nan")))
    try:
        with pytest.raises(CaptionError, match="in float32: its weights may be damaged") as caught:
            generate_captions("pie", image=PICTURE, engine="local", model=local.name, n=2)
    finally:
        handle.remove()
    assert caught.value.code == "caption.overflow" and "probability tensor" not in str(caught.value)


def _fake_gpu(monkeypatch, total_gb: float, free_gb: float) -> None:
    gib = 2**30
    monkeypatch.setattr(
        torch.cuda, "get_device_properties", lambda d: SimpleNamespace(total_memory=int(total_gb * gib))
    )
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda d: (int(free_gb * gib), int(total_gb * gib)))
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)


@pytest.mark.parametrize(
    ("billions", "total_gb", "free_gb", "fits", "words"),
    [
        (2.13, 15.0, 10.0, True, ""),  # Qwen3-VL-2B on a T4: 9.5 GB in float32 beside CLIP (about 1 GB)
        (4.0, 15.0, 10.0, False, "more than the"),  # a 4B model: 17.9 GB
        (2.13, 15.0, 3.0, False, "more GPU memory, and 3.0 GB is free"),  # it fits the T4, not what is free now
    ],
)
def test_the_float32_room_is_the_set_up_reports_sum(monkeypatch, billions, total_gb, free_gb, fits, words):
    override(monkeypatch, CLIP_MODEL="ViT-L-14")
    _fake_gpu(monkeypatch, total_gb, free_gb)
    local = SimpleNamespace(name="Qwen/Qwen3-VL-2B-Instruct", device="cuda:0", dtype=torch.float16)
    parameters = int(billions * 1e9)
    if fits:
        assert precision.check_float32_room(local, parameters) == int(parameters * 4 * 1.2)
        return
    with pytest.raises(CaptionError, match=words) as caught:
        precision.check_float32_room(local, parameters)
    assert caught.value.code == "caption.overflow" and "\n" not in str(caught.value)


def test_the_guard_tells_overflow_from_masked_tokens():
    guard = precision.finite_scores_processor()
    ids = torch.zeros((2, 3), dtype=torch.long)
    masked = torch.tensor([[0.5, float("-inf"), 1.0], [float("-inf"), 2.0, 0.0]])
    assert guard(ids, masked) is masked  # -inf for tokens masked out is fine
    for bad in (float("nan"), float("inf")):
        with pytest.raises(precision.NonFiniteScores):
            guard(ids, torch.tensor([[0.5, bad, 1.0], [0.0, 0.0, 0.0]]))
    with pytest.raises(precision.NonFiniteScores):
        guard(ids, torch.tensor([[float("-inf")] * 3, [0.0, 0.0, 0.0]]))
    assert precision.is_overflow(RuntimeError("probability tensor contains either `inf`, `nan` or element < 0"))
    assert not precision.is_overflow(RuntimeError("CUDA out of memory"))
