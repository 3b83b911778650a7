"""No code from a model folder runs: hostile CLIP, caption and diffusers folders are refused in one line.

Each hostile folder (tests/standins/hostile_models.py) plants a Python file
that writes a marker when imported; stdin answers "yes" to any question, as
``yes | memer caption ...`` would. The marker must never appear.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from memer import cli
from memer.errors import ModelError, SourceError
from memer.model_code import (
    check_diffusers_index,
    check_open_clip_config,
    check_transformers_folder,
    never_ask,
)
from tests.standins.hostile_models import (
    MARKER,
    HostileFolder,
    build_hostile_lm,
    build_pickled_clip,
    build_pickled_lm,
    plant_module,
)
from tests.standins.settings import override
from tests.standins.tiny_diffusion import tiny_diffusion_values

ROOT = Path(__file__).resolve().parents[1]
REFUSED = "asks to run its own Python code"


@pytest.fixture
def yes_on_stdin(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stdin answers yes to every question (what ``yes | memer ...`` gives a prompt)."""
    answers = io.StringIO("yes\n" * 100)
    monkeypatch.setattr(sys, "stdin", answers)
    return answers


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (64, 48), (180, 90, 30)).save(path)
    return path


def _one_line_refusal(err: str, name: str) -> None:
    assert err.startswith("memer: error: "), err
    assert len(err.strip().splitlines()) == 1, err
    assert REFUSED in err and name in err and "Traceback" not in err


# --- CLIP: memer search ---------------------------------------------------------------------


def test_memer_search_refuses_a_clip_folder_whose_tokenizer_trusts_its_code(
    hostile_clip: HostileFolder, mediawiki, tmp_path, monkeypatch, capsys, yes_on_stdin
):
    mediawiki.add_file("Apple pie.jpg")
    override(
        monkeypatch,
        CLIP_MODEL=f"local-dir:{hostile_clip.folder}",
        CLIP_PRETRAINED="",
        DEVICE="cpu",
        SOURCES=["commons"],
        DOWNLOAD_DIR=tmp_path / "cache",
    )
    code = cli.main(["search", "apple pie"])
    err = capsys.readouterr().err
    assert code == 1
    _one_line_refusal(err, "tokenizer_kwargs.trust_remote_code in open_clip_config.json")
    assert not hostile_clip.ran
    assert yes_on_stdin.tell() == 0  # nobody asked


def test_a_clip_folder_whose_hf_tokenizer_maps_its_code_is_refused_without_the_trust_flag(hostile_clip, yes_on_stdin):
    from memer.clip import load_clip

    config_path = hostile_clip.folder / "open_clip_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    del config["model_cfg"]["text_cfg"]["tokenizer_kwargs"]
    config_path.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelError, match=f"{REFUSED} \\(auto_map in tokenizer_config.json\\)"):
        load_clip(f"local-dir:{hostile_clip.folder}", "", "cpu")
    assert not hostile_clip.ran


def test_a_clip_text_tower_folder_mapping_its_code_is_refused(tiny_clip_dir, tmp_path):
    tower = build_hostile_lm(tmp_path / "tower")
    config = {"model_cfg": {"text_cfg": {"hf_model_name": str(tower.folder)}}}
    with pytest.raises(ModelError, match="text tower"):
        check_open_clip_config(config, "folder")
    check_open_clip_config(json.loads((tiny_clip_dir / "open_clip_config.json").read_text()), "tiny")  # clean: passes


def test_an_hf_tokenizer_is_asked_with_trust_remote_code_false_and_loads(tiny_clip_dir, tmp_path):
    """A clean CLIP folder with an HF tokenizer still loads: open_clip's HFTokenizer takes the explicit False."""
    import open_clip

    from memer.clip import _tokenizer_options, load_clip
    from tests.standins.tiny_lm import _train_tokenizer

    folder = tmp_path / "clip-hf-tokenizer"
    shutil.copytree(tiny_clip_dir, folder)
    config = json.loads((folder / "open_clip_config.json").read_text(encoding="utf-8"))
    config["model_cfg"]["text_cfg"]["hf_tokenizer_name"] = "tiny/tokenizer"
    (folder / "open_clip_config.json").write_text(json.dumps(config), encoding="utf-8")
    _train_tokenizer(chat=False).save_pretrained(str(folder))

    assert _tokenizer_options(f"local-dir:{folder}") == {"trust_remote_code": False}
    assert _tokenizer_options(f"local-dir:{tiny_clip_dir}") == {}  # open_clip's own tokenizer takes no such option
    loaded = load_clip(f"local-dir:{folder}", "", "cpu")
    assert isinstance(loaded.tokenizer, open_clip.tokenizer.HFTokenizer)
    assert loaded.encode_query("apple pie").shape == (loaded.dim,)


# --- caption model: memer caption ------------------------------------------------------------


def test_memer_caption_with_yes_on_stdin_refuses_a_folder_with_auto_map(hostile_lm, photo, capsys, yes_on_stdin):
    code = cli.main(["caption", str(photo), "--theme", "pie", "--engine", "local", "--model", str(hostile_lm.folder)])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    _one_line_refusal(err, "auto_map in config.json")
    assert not hostile_lm.ran
    assert yes_on_stdin.tell() == 0


@pytest.mark.slow  # a fresh interpreter imports torch and transformers
def test_yes_piped_into_the_real_memer_caption_runs_nothing(hostile_lm, photo, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MEMER_DEVICE": "cpu",
        "HF_MODULES_CACHE": str(tmp_path / "hf-modules"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "memer", "caption", str(photo), "--theme", "pie", "--engine", "local",
         "--model", str(hostile_lm.folder)],
        input="yes\n" * 100, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    _one_line_refusal(done.stderr, "auto_map in config.json")
    assert not hostile_lm.ran
    assert not (tmp_path / "hf-modules").exists()  # the folder's code was not even copied for import


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ("tokenizer_config.json", "auto_map in tokenizer_config.json"),
        ("processor_config.json", "auto_map in processor_config.json"),
        ("preprocessor_config.json", "auto_map in preprocessor_config.json"),
        ("custom_generate", "custom_generate folder"),
    ],
)
def test_a_known_model_with_code_in_any_config_is_refused(tiny_gpt_neo, tmp_path, config, reason, yes_on_stdin):
    """GPT-Neo is a type transformers knows, but a folder naming its own code anywhere is still refused."""
    from memer.captioning.local_engine import load_model

    folder = tmp_path / "gpt-neo-with-code"
    shutil.copytree(tiny_gpt_neo, folder)
    marker = tmp_path / MARKER
    if config == "custom_generate":
        (folder / config).mkdir()
        plant_module(folder / config / "generate.py", marker)
    else:
        path = folder / config
        existing = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        existing["auto_map"] = {"AutoTokenizer": ["hostile.HostileTokenizer", None], "AutoProcessor": "hostile.X"}
        path.write_text(json.dumps(existing), encoding="utf-8")
        plant_module(folder / "hostile.py", marker)
    with pytest.raises(ModelError, match=reason):
        load_model(str(folder), "cpu")
    assert not marker.exists()


def test_the_memory_estimate_reads_a_hostile_config_without_running_it(hostile_lm, yes_on_stdin):
    from memer.captioning.memory import parameters_from_config

    assert parameters_from_config(str(hostile_lm.folder)) is None
    assert not hostile_lm.ran
    assert yes_on_stdin.tell() == 0


def test_a_clean_caption_model_still_loads(tiny_chat_lm):
    from memer.captioning.local_engine import load_model

    assert load_model(str(tiny_chat_lm), "cpu").is_chat
    check_transformers_folder(tiny_chat_lm, "The caption model")


def test_a_huge_or_broken_config_is_a_one_line_model_error(tiny_gpt_neo, tmp_path, monkeypatch):
    import memer.model_code as model_code

    folder = tmp_path / "broken"
    shutil.copytree(tiny_gpt_neo, folder)
    (folder / "tokenizer_config.json").write_text('{"auto_map": ', encoding="utf-8")
    with pytest.raises(ModelError, match="cannot be checked: .*tokenizer_config.json is not a readable JSON config"):
        check_transformers_folder(folder, "The caption model")
    monkeypatch.setattr(model_code, "MAX_CONFIG_BYTES", 10)
    with pytest.raises(ModelError, match="config.json is .* bytes, too large for a config"):
        check_transformers_folder(tiny_gpt_neo, "The caption model")


# --- diffusers: the generated source's local model ------------------------------------------


def _index(folder: Path) -> dict:
    return json.loads((folder / "model_index.json").read_text(encoding="utf-8"))


def _rewrite_index(folder: Path, **parts: object) -> None:
    (folder / "model_index.json").write_text(json.dumps({**_index(folder), **parts}), encoding="utf-8")


def _custom_unet(folder: Path, marker: Path) -> str:
    _rewrite_index(folder, unet=["hostile_unet", "HostileModel"])
    plant_module(folder / "unet" / "hostile_unet.py", marker)
    return "its unet is hostile_unet.HostileModel, which is not part of diffusers"


def _custom_pipeline(folder: Path, marker: Path) -> str:
    _rewrite_index(folder, _class_name=["pipeline", "HostileModel"])
    plant_module(folder / "pipeline.py", marker)
    return "model_index.json names the pipeline \\['pipeline', 'HostileModel'\\]"


@pytest.mark.parametrize("plant", [None, _custom_unet, _custom_pipeline], ids=["auto-text-encoder", "unet", "pipeline"])
def test_a_diffusers_folder_asking_for_its_code_is_refused(
    hostile_diffusion: HostileFolder, tiny_diffusion_dir, monkeypatch, plant, yes_on_stdin
):
    from memer.sources.generated import search_generated

    folder, marker, reason = hostile_diffusion.folder, hostile_diffusion.marker, "auto_map in config.json"
    if plant is not None:  # the other kinds of code: start again from the clean pipeline
        shutil.rmtree(folder)
        shutil.copytree(tiny_diffusion_dir, folder)
        reason = plant(folder, marker)
    override(monkeypatch, GENERATOR="local", **{**tiny_diffusion_values(folder), "GENERATE_N": 1})
    with pytest.raises(SourceError, match=f"The image model '{folder.name}.*{REFUSED} \\({reason}"):
        search_generated("apple pie")
    assert not marker.exists()
    assert yes_on_stdin.tell() == 0


def test_a_clean_diffusers_index_passes(tiny_diffusion_dir):
    check_diffusers_index(_index(tiny_diffusion_dir), "tiny", tiny_diffusion_dir)


# --- transformers never asks stdin; weights stay weights-only ----------------------------------


def test_transformers_refuses_instead_of_asking_while_memer_loads(yes_on_stdin, tmp_path):
    from transformers import dynamic_module_utils

    before = dynamic_module_utils.TIME_OUT_REMOTE_CODE
    with never_ask(), never_ask(), pytest.raises(ValueError):
        dynamic_module_utils.resolve_trust_remote_code(None, str(tmp_path), False, True)
    assert yes_on_stdin.tell() == 0
    assert before == dynamic_module_utils.TIME_OUT_REMOTE_CODE  # restored once the last load is done


def test_pickled_caption_weights_are_refused_not_run(tiny_gpt_neo, tmp_path):
    from memer.captioning.local_engine import load_model

    pickled = build_pickled_lm(tiny_gpt_neo, tmp_path / "pickled-lm")
    with pytest.raises(ModelError, match="could not load the caption model"):
        load_model(str(pickled.folder), "cpu")
    assert not pickled.ran


def test_pickled_clip_weights_are_refused_not_run(tiny_clip_dir, tmp_path):
    from memer.clip import load_clip

    pickled = build_pickled_clip(tiny_clip_dir, tmp_path / "pickled-clip")
    with pytest.raises(ModelError, match="Could not load CLIP"):
        load_clip(f"local-dir:{pickled.folder}", "", "cpu")
    assert not pickled.ran
