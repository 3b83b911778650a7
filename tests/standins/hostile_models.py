"""Hostile model folders: each asks the loading library to run a Python file that ships inside it.

A model folder (or a hub repo memer downloads) is a stranger's: transformers
imports a folder's own module when a config's ``auto_map`` names it and the
caller trusts it, or when stdin answers "y" to its prompt; open_clip hands the
``tokenizer_kwargs`` of ``open_clip_config.json`` (``trust_remote_code: true``)
straight to transformers; diffusers loads a pipeline's parts through
transformers' ``Auto`` classes. Every planted module writes a marker file the
moment it is imported, so a test sees at once whether the folder's code ran.

* :func:`build_hostile_clip`: the tiny CLIP (tiny_clip.py) whose config names an
  HF tokenizer with ``tokenizer_kwargs: {"trust_remote_code": true}`` and whose
  ``tokenizer_config.json`` maps ``AutoTokenizer`` to the folder's module;
* :func:`build_hostile_lm`: a caption model whose ``config.json`` has an
  unknown ``model_type`` and an ``auto_map`` (transformers asks stdin);
* :func:`build_hostile_diffusion`: the tiny diffusers pipeline
  (tiny_diffusion.py) whose text encoder is declared as transformers'
  ``AutoModel`` with a config that maps it to the folder's module;
* :func:`build_pickled_lm` / :func:`build_pickled_clip`: weights as a pickle
  whose unpickling would write the marker (torch loads weights only).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

MARKER = "CODE-RAN"  # the file a planted module writes when it is imported


@dataclass(frozen=True)
class HostileFolder:
    folder: Path
    marker: Path  # exists once the folder's code has run

    @property
    def ran(self) -> bool:
        return self.marker.exists()


def plant_module(path: Path, marker: Path) -> None:
    """A Python file that writes ``marker`` when imported (and defines the classes a config may name)."""
    path.write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('the model folder ran its own code')\n"
        "class HostileConfig:\n    pass\n\n"
        "class HostileModel:\n    pass\n\n"
        "class HostileTokenizer:\n    pass\n",
        encoding="utf-8",
    )


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")


def build_hostile_clip(folder: Path) -> HostileFolder:
    """The tiny CLIP with an HF tokenizer that asks to trust the folder's ``hostile_tokenizer.py``."""
    from tests.standins.tiny_clip import build_tiny_clip

    build_tiny_clip(folder)
    marker = folder.parent / f"{folder.name}-{MARKER}"
    config_path = folder / "open_clip_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["model_cfg"]["text_cfg"]["hf_tokenizer_name"] = "hostile/clip-tokenizer"
    config["model_cfg"]["text_cfg"]["tokenizer_kwargs"] = {"trust_remote_code": True}
    _write_json(config_path, config)
    _write_json(
        folder / "tokenizer_config.json",
        {
            "tokenizer_class": "HostileTokenizer",
            "auto_map": {"AutoTokenizer": ["hostile_tokenizer.HostileTokenizer", None]},
        },
    )
    plant_module(folder / "hostile_tokenizer.py", marker)
    return HostileFolder(folder, marker)


def build_hostile_lm(folder: Path) -> HostileFolder:
    """A caption model folder whose config is a type transformers does not know, mapped to ``hostile_model.py``."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder.parent / f"{folder.name}-{MARKER}"
    auto_map = {
        "AutoConfig": "hostile_model.HostileConfig",
        "AutoModelForCausalLM": "hostile_model.HostileModel",
        "AutoTokenizer": ["hostile_model.HostileTokenizer", None],
    }
    _write_json(folder / "config.json", {"model_type": "hostile-lm", "auto_map": auto_map})
    _write_json(folder / "tokenizer_config.json", {"tokenizer_class": "HostileTokenizer", "auto_map": auto_map})
    plant_module(folder / "hostile_model.py", marker)
    return HostileFolder(folder, marker)


def build_hostile_diffusion(tiny_diffusion_dir: Path, folder: Path) -> HostileFolder:
    """A copy of the tiny pipeline whose text encoder is transformers' ``AutoModel`` mapped to the folder's code."""
    shutil.copytree(tiny_diffusion_dir, folder)
    marker = folder.parent / f"{folder.name}-{MARKER}"
    index_path = folder / "model_index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    index["text_encoder"] = ["transformers", "AutoModel"]
    _write_json(index_path, index)
    encoder_config = folder / "text_encoder" / "config.json"
    config = json.loads(encoder_config.read_text(encoding="utf-8"))
    config["model_type"] = "hostile-encoder"
    config["auto_map"] = {"AutoConfig": "hostile_encoder.HostileConfig", "AutoModel": "hostile_encoder.HostileModel"}
    _write_json(encoder_config, config)
    plant_module(folder / "text_encoder" / "hostile_encoder.py", marker)
    return HostileFolder(folder, marker)


class _WritesMarker:
    """Unpickling this calls ``Path(marker).write_text(...)``: what a hostile ``.bin`` of weights does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path, str]]:  # pickle calls this: the "weights" run code
        return (Path.write_text, (Path(self.marker), "a pickle ran code"))


def _pickle_weights(path: Path, marker: Path) -> None:
    import torch

    torch.save({"weight": _WritesMarker(marker)}, str(path))


def build_pickled_lm(tiny_gpt_neo: Path, folder: Path) -> HostileFolder:
    """The tiny GPT-Neo with its safetensors swapped for a ``pytorch_model.bin`` pickle that runs code."""
    shutil.copytree(tiny_gpt_neo, folder)
    marker = folder.parent / f"{folder.name}-{MARKER}"
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    _pickle_weights(folder / "pytorch_model.bin", marker)
    return HostileFolder(folder, marker)


def build_pickled_clip(tiny_clip_dir: Path, folder: Path) -> HostileFolder:
    """The tiny CLIP with its safetensors swapped for an ``open_clip_pytorch_model.bin`` pickle that runs code."""
    shutil.copytree(tiny_clip_dir, folder)
    marker = folder.parent / f"{folder.name}-{MARKER}"
    (folder / "open_clip_model.safetensors").unlink()
    _pickle_weights(folder / "open_clip_pytorch_model.bin", marker)
    return HostileFolder(folder, marker)


@pytest.fixture
def hostile_clip(tmp_path: Path) -> HostileFolder:
    return build_hostile_clip(tmp_path / "hostile-clip")


@pytest.fixture
def hostile_lm(tmp_path: Path) -> HostileFolder:
    return build_hostile_lm(tmp_path / "hostile-lm")


@pytest.fixture
def hostile_diffusion(tiny_diffusion_dir: Path, tmp_path: Path) -> HostileFolder:
    return build_hostile_diffusion(tiny_diffusion_dir, tmp_path / "hostile-diffusion")
