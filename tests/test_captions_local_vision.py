"""The local engine with a tiny random Qwen3-VL (tests/standins/tiny_vlm.py): it sees the picture, in one generate."""

from __future__ import annotations

import shutil

import pytest
import torch
from PIL import Image

from memer import settings
from memer.captioning import generate_captions, local_engine
from memer.captioning.local_vision import downscaled
from memer.captioning.model_kind import TEXT, VISION
from tests.standins.settings import override


class Spy:
    """Wraps a callable attribute: counts calls, keeps their keyword arguments (and the first argument's shape)."""

    def __init__(self, original):
        self.original = original
        self.calls: list[dict] = []

    def __call__(self, *args, **kwargs):
        output = self.original(*args, **kwargs)
        first = args[0] if args else None
        self.calls.append({**kwargs, "first_shape": getattr(first, "shape", None), "output": output})
        return output


@pytest.fixture(autouse=True)
def _cpu_and_short(monkeypatch):
    # These tests watch the caption sampling; the picture+caption check (a second generate) has its own file.
    override(monkeypatch, DEVICE="cpu", MAX_NEW_TOKENS=8, LOCAL_VISION_SIZE=96, LOCAL_PICTURE_CHECK=False)


@pytest.fixture
def spied(monkeypatch, tiny_vlm):
    """The loaded tiny VLM with spies on ``generate`` and on its vision tower's forward."""
    local = local_engine.load_model(str(tiny_vlm), device="cpu")
    generate, vision = Spy(local.model.generate), Spy(local.model.model.visual.forward)
    monkeypatch.setattr(local.model, "generate", generate)
    monkeypatch.setattr(local.model.model.visual, "forward", vision)
    return local, generate, vision


def _noise(seed: int, size=(640, 480)) -> Image.Image:
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (size[1], size[0], 3), generator=generator, dtype=torch.uint8)
    return Image.fromarray(pixels.numpy())


def _raw(generate: Spy, local) -> list[str]:
    call = generate.calls[-1]
    return local.tokenizer.batch_decode(call["output"][:, call["input_ids"].shape[1] :], skip_special_tokens=True)


def test_the_config_says_it_sees(spied):
    local, _, _ = spied
    assert local.kind == VISION and local.sees_pictures and local.processor is not None


def test_ten_captions_from_one_generate_that_encodes_the_picture_once(spied, monkeypatch):
    local, generate, vision = spied
    override(monkeypatch, LOCAL_PICTURE_CHECK=True)
    batch = generate_captions("apple pie", image=_noise(1), engine="local", model=local.name, n=10, seed=7)

    # One generate writes the captions, one more rates each picture+caption pair (test_captions_picture_safety.py).
    assert len(generate.calls) == 2 and generate.calls[1]["do_sample"] is False
    call = generate.calls[0]
    assert call["do_sample"] is True and call["output"].shape[0] == 10
    # generate continues 10 rows from the one pass over prompt and picture: their shared cache, no pixels again.
    assert call["input_ids"].shape[0] == 10 and "pixel_values" not in call
    cache = call.get("cache", call.get("past_key_values"))
    assert cache.get_seq_length() == call["output"].shape[1] - 1  # the prompt once, then every step: one cache
    # The vision tower ran once, on one picture's patches, not ten copies.
    assert len(vision.calls) == 2  # the captions' pass, then the rating's (its rows each hold the picture)
    assert vision.calls[0]["first_shape"][0] == int(call["image_grid_thw"].prod())
    assert 8 <= len(batch.captions) <= 10
    assert batch.safety_check.startswith(f"picture+caption check by {local.name}; trained text classifier")
    assert batch.engine == "local"


def test_the_shared_prefix_samples_what_a_plain_batch_samples(spied):
    """One pass over prompt and picture, then 10 rows from its cache: the same samples as num_return_sequences."""
    from memer.captioning import local_vision
    from memer.captioning.base import CaptionRequest

    local, _, _ = spied
    request = CaptionRequest("pie", image=_noise(4), n=6)
    torch.manual_seed(5)
    shared = local_engine.sample_vision(local, request, 6)
    inputs = local_vision.caption_inputs(local, request, settings.LOCAL_VISION_SIZE)
    torch.manual_seed(5)
    plain = local_engine.run_generate(local, inputs, local_engine.sampling_options(local.tokenizer, 6))
    assert shared == plain and len(shared) == 6


def test_a_model_without_a_copyable_cache_falls_back_to_the_plain_batch(spied, monkeypatch):
    from memer.captioning import local_vision

    local, generate, _ = spied

    def unsupported(*args, **kwargs):
        raise TypeError("this model takes no cache")

    monkeypatch.setattr(local_vision, "shared_prefix", unsupported)
    batch = generate_captions("pie", image=_noise(1), engine="local", model=local.name, n=10)
    (call,) = generate.calls
    assert call["num_return_sequences"] == 10 and call["input_ids"].shape[0] == 1 and "pixel_values" in call
    assert batch.captions


def test_the_prompt_asks_about_the_picture_in_the_style_and_theme(spied):
    local, generate, _ = spied
    generate_captions("apple pie", image=_noise(1), engine="local", model=local.name, n=2, style="haiku")
    prompt = local.tokenizer.decode(generate.calls[0]["input_ids"][0])
    assert generate.calls[0]["input_ids"].shape[0] == 2  # the two rows share one prompt
    assert "<|vision_start|><|image_pad|>" in prompt  # the picture's tokens
    assert "about apple pie as a haiku" in prompt
    assert "about what the picture shows, tied to apple pie" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


def test_the_picture_reaches_the_model(spied):
    """Same seed: the same picture gives the same samples, another picture different ones."""
    local, generate, _ = spied
    outputs = []
    black, white = Image.new("RGB", (320, 240), (0, 0, 0)), Image.new("RGB", (320, 240), (255, 255, 255))
    for picture in (black, black.copy(), white):
        generate_captions("apple pie", image=picture, engine="local", model=local.name, n=10, seed=42)
        outputs.append(_raw(generate, local))
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]


def test_the_picture_is_downscaled_to_the_setting(spied, monkeypatch):
    local, generate, _ = spied
    grids = {}
    for size in (64, 256):
        override(monkeypatch, LOCAL_VISION_SIZE=size)
        generate_captions("pie", image=_noise(3, (1600, 1000)), engine="local", model=local.name, n=1)
        grids[size] = int(generate.calls[-1]["image_grid_thw"].prod())
    assert grids[64] < grids[256]
    assert max(downscaled(Image.new("RGB", (1600, 1000)), 64).size) == 64
    assert downscaled(Image.new("L", (40, 30)), 64).size == (40, 30)  # never upscaled; always RGB
    assert downscaled(Image.new("L", (40, 30)), 64).mode == "RGB"


def test_a_vision_model_without_a_picture_reads_the_description(spied):
    local, generate, vision = spied
    batch = generate_captions("apple pie", description="a pie", engine="local", model=local.name, n=3)
    assert len(generate.calls) == 1 and vision.calls == [] and "pixel_values" not in generate.calls[0]
    assert "a pie" in local.tokenizer.decode(generate.calls[0]["input_ids"][0])
    assert batch.engine == "local"


def test_the_kind_comes_from_the_config_not_the_name(tmp_path, tiny_vlm, tiny_gpt_neo):
    misleading_vlm = shutil.copytree(tiny_vlm, tmp_path / "gpt-neo-125M-text-only")
    misleading_lm = shutil.copytree(tiny_gpt_neo, tmp_path / "Qwen3-VL-2B-Instruct")
    assert local_engine.load_model(str(misleading_vlm), device="cpu").kind == VISION
    assert local_engine.load_model(str(misleading_lm), device="cpu").kind == TEXT


def test_a_failure_while_generating_is_a_caption_error(monkeypatch, spied):
    from memer.errors import CaptionError

    local, _, _ = spied

    def boom(**kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(local.model, "generate", boom)
    with pytest.raises(CaptionError, match="out of memory"):
        generate_captions("pie", image=_noise(1), engine="local", model=local.name)


def test_the_default_model_is_the_vision_one_on_a_current_transformers(monkeypatch, tiny_vlm):
    import transformers

    from memer.captioning.model_kind import default_caption_model

    override(monkeypatch, CAPTION_MODEL="")
    assert default_caption_model() == (settings.VISION_CAPTION_MODEL, "")
    monkeypatch.setattr(transformers, "__version__", "4.52.3")
    name, note = default_caption_model()
    assert name == settings.TEXT_CAPTION_MODEL
    assert "4.52" in note and "text-only" in note and "\n" not in note
    override(monkeypatch, CAPTION_MODEL=str(tiny_vlm))
    assert default_caption_model() == (str(tiny_vlm), "")
