"""A model fetched from the hub reports its progress in MB through memer's hook (snapshot_download's tqdm_class)."""

from __future__ import annotations

import shutil

import pytest

from memer.captioning import generate_captions, local_engine
from memer.captioning.model_download import MODEL_FILES, model_folder, progress_bar_class
from tests.standins.settings import override


def test_the_bar_reports_megabytes_and_prints_nothing(capsys):
    heard = []
    bar = progress_bar_class(lambda m, f: heard.append((m, f)), "Qwen/Qwen3-VL-2B-Instruct")(
        total=4_300_000_000, unit="B", unit_scale=True, name="huggingface_hub.snapshot_download"
    )
    bar.update(2_150_000_000)
    bar.close()
    assert ("Downloading Qwen/Qwen3-VL-2B-Instruct: 2,150 of 4,300 MB", 0.5) in heard
    files = progress_bar_class(lambda m, f: heard.append((m, f)), "m")(total=4)
    files.update(1)
    files.close()  # tqdm throttles redraws; closing draws the last state
    assert heard[-1] == ("Downloading m: file 1 of 4", 0.25)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_a_local_folder_is_used_as_it_is(tmp_path):
    assert model_folder(str(tmp_path)) == str(tmp_path)


def test_a_hub_id_is_fetched_with_the_hook_and_loaded(monkeypatch, tmp_path, tiny_chat_lm):
    """snapshot_download (here a stand-in that reports bytes like the hub's) gets memer's bar and the file patterns."""
    import huggingface_hub

    asked = {}

    def fake_snapshot_download(repo_id, **options):
        asked.update(options, repo_id=repo_id)
        bar = options["tqdm_class"](total=3_000_000, unit="B", name="huggingface_hub.snapshot_download.transfer")
        for _ in range(3):
            bar.update(1_000_000)
        bar.close()
        return str(shutil.copytree(tiny_chat_lm, tmp_path / "snapshot"))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    monkeypatch.setattr(local_engine, "_loaded", {})
    override(monkeypatch, DEVICE="cpu")
    heard = []
    batch = generate_captions(
        "pie", engine="local", model="someone/tiny-chat", n=1, progress=lambda m, f: heard.append(m)
    )
    assert asked["repo_id"] == "someone/tiny-chat" and asked["allow_patterns"] == MODEL_FILES
    assert "Downloading someone/tiny-chat: 3 of 3 MB" in heard
    assert batch.model == "someone/tiny-chat"


@pytest.mark.parametrize("pattern", ["*.safetensors", "*.json", "*.jinja"])
def test_the_files_transformers_needs_are_fetched(pattern):
    assert pattern in MODEL_FILES
