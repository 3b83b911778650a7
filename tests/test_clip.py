"""The CLIP wrapper, run on the tiny random open_clip model loaded through the settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from memer import clip as clip_module
from memer import settings
from memer.clip import ClipModel, forget_loaded_models, load_clip, query_prompt
from memer.errors import ModelError


@pytest.fixture(autouse=True)
def _fresh_models():
    forget_loaded_models()
    yield
    forget_loaded_models()


def _pictures(n: int) -> list[Image.Image]:
    return [Image.new("RGB", (40 + 7 * i, 30 + 3 * i), (37 * i % 256, 90, 200 - 11 * i)) for i in range(n)]


TEXTS = ["an image of apple pie", "a cat", "", "a very long caption " * 20, "ünïcödé text"]


def test_loads_through_the_settings(tiny_clip: ClipModel, tiny_clip_settings: str):
    assert tiny_clip.model_name == tiny_clip_settings
    assert tiny_clip.pretrained == ""
    assert tiny_clip.device == "cpu"
    assert tiny_clip.dtype == "float32"
    assert tiny_clip.dim == 32


def test_text_vectors_are_float32_unit_rows(tiny_clip: ClipModel):
    vectors = tiny_clip.encode_text(TEXTS)
    assert vectors.shape == (len(TEXTS), tiny_clip.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_image_vectors_are_float32_unit_rows(tiny_clip: ClipModel):
    vectors = tiny_clip.encode_images(_pictures(3) + [Image.new("L", (50, 50), 128), Image.new("RGBA", (20, 90))])
    assert vectors.shape == (5, tiny_clip.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_different_inputs_give_different_vectors(tiny_clip: ClipModel):
    texts = tiny_clip.encode_text(["apple pie", "a rusty tractor"])
    images = tiny_clip.encode_images(_pictures(2))
    assert not np.allclose(texts[0], texts[1])
    assert not np.allclose(images[0], images[1])


def test_empty_inputs_give_empty_arrays(tiny_clip: ClipModel):
    assert tiny_clip.encode_text([]).shape == (0, tiny_clip.dim)
    assert tiny_clip.encode_images([]).shape == (0, tiny_clip.dim)


def test_weights_come_from_the_folder_so_a_reload_gives_the_same_vectors(tiny_clip: ClipModel):
    texts, images = tiny_clip.encode_text(TEXTS), tiny_clip.encode_images(_pictures(3))
    forget_loaded_models()
    again = load_clip()
    assert again is not tiny_clip
    np.testing.assert_array_equal(again.encode_text(TEXTS), texts)
    np.testing.assert_array_equal(again.encode_images(_pictures(3)), images)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 64])
def test_batching_gives_the_same_vectors_as_one_at_a_time(tiny_clip: ClipModel, batch_size: int):
    pictures = _pictures(7)
    single_images = np.concatenate([tiny_clip.encode_images([p]) for p in pictures])
    single_texts = np.concatenate([tiny_clip.encode_text([t]) for t in TEXTS])
    np.testing.assert_allclose(tiny_clip.encode_images(pictures, batch_size=batch_size), single_images, atol=1e-5)
    np.testing.assert_allclose(tiny_clip.encode_text(TEXTS, batch_size=batch_size), single_texts, atol=1e-5)


def test_batch_size_setting_is_used(tiny_clip: ClipModel, monkeypatch: pytest.MonkeyPatch):
    calls = []
    original = tiny_clip.model.encode_image
    monkeypatch.setattr(tiny_clip.model, "encode_image", lambda pixels: calls.append(len(pixels)) or original(pixels))
    monkeypatch.setattr(settings, "CLIP_BATCH_SIZE", 3)
    tiny_clip.encode_images(_pictures(7))
    assert calls == [3, 3, 1]


def test_a_large_picture_is_box_reduced_before_preprocessing(tiny_clip: ClipModel):
    fed = []
    preprocess = tiny_clip.preprocess
    tiny_clip.preprocess = lambda image: fed.append(image.size) or preprocess(image)
    try:
        tiny_clip.encode_images([Image.new("RGB", (640, 480)), Image.new("RGB", (40, 33))])
    finally:
        tiny_clip.preprocess = preprocess
    assert tiny_clip.input_side == 32
    assert fed == [(91, 68), (40, 33)]  # 480 // 64 = 7 (whole blocks: 637x476 of it); small pictures as they are


def test_the_reduced_photo_looks_to_clip_as_the_full_one_does(tmp_path):
    import open_clip

    from tests.test_images import _photo_like

    preprocess = open_clip.image_transform(224, is_train=False)  # ViT-B-32's
    photo = Image.open(_photo_like(tmp_path / "photo.jpg"))
    reduced = clip_module.reduced_for(photo, 224)
    assert reduced.size == (666, 500)  # 3000 // 448 = 6
    assert clip_module.reduced_for(photo, 0) is photo  # a model that does not say its input size: left as it is
    full = preprocess(photo).numpy()
    difference = np.abs(preprocess(reduced).numpy() - full).mean()
    nearest = np.abs(preprocess(photo.resize(reduced.size, Image.Resampling.NEAREST)).numpy() - full).mean()
    assert difference < 0.005 < nearest  # measured 0.0024 (0.2 grey levels) against 0.0098 for nearest-neighbour


@pytest.mark.parametrize(
    ("template", "query", "expected"),
    [
        ("an image of {query}", "apple pie", "an image of apple pie"),
        ("a photo of {query}, a meme", "  cats   and dogs ", "a photo of cats and dogs, a meme"),
        ("{query}", "apple pie", "apple pie"),
        ("", "apple pie", "apple pie"),
        ("photo:", "apple pie", "photo: apple pie"),
        ("an image of {query}", "{weird} braces", "an image of {weird} braces"),
    ],
)
def test_query_prompt(monkeypatch: pytest.MonkeyPatch, template: str, query: str, expected: str):
    monkeypatch.setattr(settings, "QUERY_PROMPT", template)
    assert query_prompt(query) == expected


def test_query_is_embedded_as_the_visual_prompt(tiny_clip: ClipModel, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(settings, "QUERY_PROMPT", "a photo of {query}")
    vector = tiny_clip.encode_query("apple pie")
    assert vector.shape == (tiny_clip.dim,)
    np.testing.assert_allclose(vector, tiny_clip.encode_text(["a photo of apple pie"])[0], atol=1e-6)
    assert not np.allclose(vector, tiny_clip.encode_text(["apple pie"])[0])


def test_a_cuda_choice_loads_in_float16_on_that_device(tiny_clip_settings: str, monkeypatch: pytest.MonkeyPatch):
    """What load_clip hands open_clip when torch sees a GPU (open_clip itself is not run here)."""
    import torch

    seen = {}

    def fake_create(open_clip_name, model_name, pretrained, device, precision):
        seen.update(device=device, precision=precision)
        raise ModelError("stop here")

    monkeypatch.setattr(settings, "DEVICE", "")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(clip_module, "_create", fake_create)
    with pytest.raises(ModelError, match="stop here"):
        load_clip()
    assert seen == {"device": "cuda", "precision": "fp16"}


def test_loaded_once_per_process(tiny_clip: ClipModel, tiny_clip_dir: Path, monkeypatch: pytest.MonkeyPatch):
    assert load_clip() is tiny_clip
    assert load_clip(f"local-dir:{tiny_clip_dir}", "", "cpu") is tiny_clip
    monkeypatch.chdir(tiny_clip_dir.parent)
    assert load_clip(f"local-dir:{tiny_clip_dir.name}") is tiny_clip  # the same folder, named relatively


def test_local_dir_ignores_pretrained(tiny_clip_dir: Path):
    loaded = load_clip(f"local-dir:{tiny_clip_dir}", "openai", "cpu")
    assert loaded.pretrained == ""


def test_loading_reports_through_the_progress_hook_and_prints_nothing(
    tiny_clip_settings: str, capsys: pytest.CaptureFixture[str]
):
    heard: list[tuple[str, float | None]] = []
    load_clip(progress=lambda message, fraction: heard.append((message, fraction)))
    assert any(f"Loaded CLIP {tiny_clip_settings} on cpu" in message for message, _ in heard)
    assert heard[-1][1] == 1.0 and all(0.0 <= (f or 0.0) <= 1.0 for _, f in heard)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


@pytest.mark.slow  # builds a full-size RN50 (about 4 s on two cores)
def test_random_weights_for_a_builtin_architecture_with_empty_pretrained():
    """Empty pretrained means no weights: the architecture loads offline, randomly initialised."""
    loaded = load_clip("RN50", "", "cpu")
    assert (loaded.model_name, loaded.pretrained, loaded.dim) == ("RN50", "", 1024)


@pytest.mark.parametrize(
    ("model", "pretrained", "message"),
    [
        ("ViT-Nope-99", "", "MEMER_CLIP_MODEL"),
        ("ViT-B-32", "no-such-tag", "MEMER_CLIP_PRETRAINED to one of: openai"),
        ("local-dir:/no/such/folder", "", "does not exist"),
        ("hf-hub:nobody/no-such-model", "", "offline"),
        ("", "", "No CLIP model"),
    ],
)
def test_bad_models_raise_model_error_saying_what_to_do(model: str, pretrained: str, message: str):
    with pytest.raises(ModelError, match=message):
        load_clip(model, pretrained, "cpu")


def test_a_folder_without_config_says_what_it_needs(tmp_path: Path):
    with pytest.raises(ModelError, match="open_clip_config.json"):
        load_clip(f"local-dir:{tmp_path}", "", "cpu")


def test_a_corrupt_config_is_a_model_error(tmp_path: Path):
    (tmp_path / "open_clip_config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="Could not load CLIP"):
        load_clip(f"local-dir:{tmp_path}", "", "cpu")


def test_missing_builtin_weights_offline_say_so(monkeypatch: pytest.MonkeyPatch):
    """A known tag whose weights cannot be fetched (no network here) is a ModelError with the offline hint."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="offline"):
        load_clip("RN50", "openai", "cpu")


def test_without_open_clip_installed_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch):
    import sys

    monkeypatch.setitem(sys.modules, "open_clip", None)  # makes "import open_clip" raise ImportError
    with pytest.raises(ModelError, match=r"pip install 'memer\[clip\]'"):
        load_clip("ViT-B-32", "openai", "cpu")


@pytest.mark.slow  # a fresh interpreter imports torch (about 9 s here)
def test_the_environment_names_the_model_in_a_fresh_process(tiny_clip_env: dict[str, str], tiny_clip_dir: Path):
    import os
    import subprocess
    import sys

    # load_clip prints nothing itself (its docstring): what it reports goes to the progress hook, printed here last.
    code = (
        "from memer.clip import load_clip; heard = []; c = load_clip(progress=lambda m, f: heard.append(m));"
        " print(c.model_name, repr(c.pretrained), c.device, c.dim); print(heard[-1])"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **tiny_clip_env},
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    named, reported = out.stdout.splitlines()
    assert named.split() == [f"local-dir:{tiny_clip_dir}", "''", "cpu", "32"]
    assert reported.startswith(f"Loaded CLIP local-dir:{tiny_clip_dir} on cpu in ")
