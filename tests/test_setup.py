"""What the notebook's set-up cell tells a user: Colab or not, GPU or CPU, what will download."""

from __future__ import annotations

import sys
import types

import pytest

from memer import settings
from memer import setup as env


@pytest.fixture
def on_colab(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))


@pytest.fixture
def fake_torch(monkeypatch):
    """A torch whose CUDA answer the test chooses (the real one is heavy, and absent in the ipywidgets 7 venv)."""
    torch = types.ModuleType("torch")
    torch.cuda = types.SimpleNamespace(
        is_available=lambda: False,
        get_device_properties=lambda i: types.SimpleNamespace(name="Tesla T4", total_memory=15 * 2**30),
    )
    monkeypatch.setitem(sys.modules, "torch", torch)
    return torch


def test_colab_is_detected_by_its_module(monkeypatch, on_colab):
    assert env.in_colab()
    monkeypatch.delitem(sys.modules, "google.colab")
    assert not env.in_colab()


def test_a_gpu_is_named(fake_torch):
    fake_torch.cuda.is_available = lambda: True
    assert env.accelerator() == "GPU: Tesla T4 (15 GB); CLIP and the local caption model run on it."


@pytest.mark.parametrize(
    ("device", "gpu", "expected"),
    [
        ("cpu", True, "MEMER_DEVICE=cpu: the models run on the CPU although a GPU is there."),
        ("cuda", False, "MEMER_DEVICE=cuda but no CUDA GPU is available."),
    ],
)
def test_the_device_setting_is_what_is_reported(fake_torch, monkeypatch, device, gpu, expected):
    fake_torch.cuda.is_available = lambda: gpu
    monkeypatch.setattr(settings, "DEVICE", device)
    assert env.accelerator().startswith(expected)


@pytest.mark.parametrize("colab", [True, False])
def test_no_gpu_says_what_that_means(fake_torch, monkeypatch, colab):
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    line = env.accelerator()
    assert line.startswith("No GPU: everything runs on the CPU.")
    assert ("Change runtime type" in line) == colab


def test_no_torch_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    assert "pip install 'memer[all]'" in env.accelerator()


def test_default_models_are_described_with_their_size(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "CLIP_MODEL", "ViT-B-32")
    monkeypatch.setattr(settings, "CLIP_PRETRAINED", "openai")
    monkeypatch.setattr(settings, "CAPTION_MODEL", "Qwen/Qwen2.5-1.5B-Instruct")
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "missing")
    notes = env.download_notes()
    assert notes[0] == "CLIP model ViT-B-32 (openai): about 600 MB, downloaded on the first search."
    assert notes[1].startswith("Local caption model Qwen/Qwen2.5-1.5B-Instruct: about 3.1 GB")
    assert notes[2].startswith(f"Open Images cache: not found in {tmp_path / 'missing'}")


def test_local_models_and_a_present_cache_download_nothing(monkeypatch, tmp_path):
    model_dir = tmp_path / "tiny-lm"
    model_dir.mkdir()
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "embeddings.npy").write_bytes(b"x" * (5 * 1024 * 1024 // 2))  # 2.5 MB, in the README's unit
    monkeypatch.setattr(settings, "CLIP_MODEL", "local-dir:/tmp/tiny-clip")
    monkeypatch.setattr(settings, "CAPTION_MODEL", str(model_dir))
    monkeypatch.setattr(settings, "CACHE_DIR", cache)
    notes = env.download_notes()
    assert notes[0] == "CLIP model: local (local-dir:/tmp/tiny-clip), nothing to download."
    assert notes[1] == f"Local caption model: {model_dir}, nothing to download."
    assert notes[2] == f"Open Images cache: {cache} (2.5 MB), already here."


def test_an_unknown_model_says_its_size_is_unknown(monkeypatch):
    monkeypatch.setattr(settings, "CLIP_MODEL", "ViT-L-14")
    monkeypatch.setattr(settings, "CAPTION_MODEL", "someone/some-model")
    notes = env.download_notes()
    assert "ViT-L-14" in notes[0] and "size unknown" in notes[0]
    assert "size unknown" in notes[1]


def test_describe_setup_puts_it_together(fake_torch, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    text = env.describe_setup()
    lines = text.splitlines()
    assert lines[0] == "memer is running in plain Python (not a notebook)."  # pytest has no IPython shell
    assert lines[1].startswith("No GPU")
    assert "Downloads:" in lines and all(line.startswith("  - ") for line in lines[lines.index("Downloads:") + 1 :])


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        (None, "plain Python (not a notebook)"),
        (types.SimpleNamespace(kernel=object()), "a Jupyter notebook on this computer (not Colab)"),
        (types.SimpleNamespace(), "IPython in a terminal (not a notebook)"),
    ],
)
def test_where_it_runs_is_said_as_it_is(monkeypatch, shell, expected):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert env.where_running() == expected


def test_on_colab_it_says_colab(on_colab):
    assert env.where_running() == "Google Colab"


# --- memory estimate (issue 15) -------------------------------------------------------


def test_memory_from_a_local_config_counts_the_parameters_without_weights(tiny_vlm):
    from memer.captioning.memory import estimate
    from memer.captioning.model_kind import VISION  # noqa: F401 - the tiny VLM goes through the vision auto class

    fp16, fp32 = estimate(str(tiny_vlm), "fp16"), estimate(str(tiny_vlm), "fp32")
    assert fp16.source == "config" and fp16.parameters == fp32.parameters
    import torch
    from transformers import AutoModelForImageTextToText

    real = sum(p.numel() for p in AutoModelForImageTextToText.from_pretrained(str(tiny_vlm)).parameters())
    assert fp16.parameters == real
    assert fp32.bytes == 2 * fp16.bytes
    assert torch is not None


def test_memory_of_a_hub_model_comes_from_the_table():
    from memer.captioning.memory import estimate

    got = estimate("Qwen/Qwen3-VL-2B-Instruct", "fp16")
    assert got.source == "table" and 4.5 * 2**30 < got.bytes < 5.5 * 2**30  # 2.13 B x 2 bytes, with room
    assert estimate("someone/unknown-model", "fp16").bytes is None


@pytest.mark.parametrize(
    ("caption_billions", "gpu_gb", "fits"),
    [(2.13, 15.0, True), (7.6, 15.0, False), (2.13, 4.0, False)],
)
def test_the_report_warns_before_a_model_that_will_not_fit(caption_billions, gpu_gb, fits):
    from memer.captioning.memory import MemoryEstimate

    clip = MemoryEstimate("ViT-B-32", 151_000_000, 2, "table")
    caption = MemoryEstimate("some/model", int(caption_billions * 1e9), 2, "table")
    lines = env.memory_report(clip, caption, "Tesla T4", int(gpu_gb * 2**30))
    assert lines[0].startswith("CLIP ViT-B-32: 0.3 GB; caption model some/model: ")
    assert ("WARNING" in lines[-1]) != fits
    if not fits:
        assert "will not fit" in lines[-1] and "MEMER_CAPTION_MODEL" in lines[-1]


def test_the_report_on_a_cpu_gives_the_ram():
    from memer.captioning.memory import MemoryEstimate

    lines = env.memory_report(
        MemoryEstimate("ViT-B-32", 151_000_000, 4, "table"), MemoryEstimate("m", 10**9, 4, "table"), None, None
    )
    assert lines[-1].startswith("On the CPU they take about")


def test_the_setup_report_has_a_memory_section(monkeypatch):
    monkeypatch.setattr(settings, "DEVICE", "cpu")
    monkeypatch.setattr(settings, "CAPTION_MODEL", "Qwen/Qwen3-VL-2B-Instruct")
    report = env.describe_setup()
    assert "Memory:" in report and "caption model Qwen/Qwen3-VL-2B-Instruct: 9.5 GB" in report  # float32 on a CPU
