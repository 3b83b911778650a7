"""A tiny random open_clip model, saved in open_clip's ``local-dir`` form.

The folder holds ``open_clip_config.json`` (``model_cfg`` + ``preprocess_cfg``)
and ``open_clip_model.safetensors``, exactly what ``local-dir:/path`` (and a
hub repo for ``hf-hub:``) contains, so memer loads it through the settings like
a real model. The text tower uses open_clip's SimpleTokenizer, whose BPE vocab
ships inside the package, so nothing is fetched. ``bench/rank.py`` builds the
same model with :func:`build_tiny_clip`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

TINY_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    # vocab_size must stay 49408: that is what SimpleTokenizer's ids index.
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}
TINY_PREPROCESS_CONFIG = {
    "mean": [0.48145466, 0.4578275, 0.40821073],
    "std": [0.26862954, 0.26130258, 0.27577711],
    "interpolation": "bicubic",
    "resize_mode": "shortest",
}


def build_tiny_clip(folder: Path, seed: int = 0) -> Path:
    """Write a tiny randomly initialised CLIP to ``folder``; returns the folder."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.CLIP(**TINY_CLIP_CONFIG)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    config = {"model_cfg": TINY_CLIP_CONFIG, "preprocess_cfg": TINY_PREPROCESS_CONFIG}
    (folder / "open_clip_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model's folder, built once per session."""
    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


def tiny_clip_values(folder: Path) -> dict[str, str]:
    """The settings that point memer at the tiny model in ``folder``."""
    return {"CLIP_MODEL": f"local-dir:{folder}", "CLIP_PRETRAINED": "", "DEVICE": "cpu"}


@pytest.fixture(scope="session")
def tiny_clip_env(tiny_clip_dir: Path) -> dict[str, str]:
    """Environment variables that point a memer subprocess at the tiny model."""
    from tests.standins.settings import as_environment

    return {f"MEMER_{name}": as_environment(value) for name, value in tiny_clip_values(tiny_clip_dir).items()}


@pytest.fixture
def tiny_clip_settings(tiny_clip_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point settings at the tiny model for one test; yields the model name."""
    from tests.standins.settings import override

    values = tiny_clip_values(tiny_clip_dir)
    override(monkeypatch, **values)
    yield values["CLIP_MODEL"]


@pytest.fixture
def tiny_clip(tiny_clip_settings: str):
    """The tiny model loaded through ``memer.clip.load_clip`` and the settings."""
    from memer.clip import load_clip

    return load_clip()
