"""`memer config`: every setting in effect, its value and where it came from; secrets never shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from memer import cli, openai_client, settings
from tests.standins.settings import override

KEY = "sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789"


def _config(capsys, *args: str) -> str:
    assert cli.main(["config", *args]) == 0
    out = capsys.readouterr()
    assert KEY not in out.out + out.err
    return out.out


def _rows(capsys) -> dict[str, dict]:
    return {row["variable"]: row for row in json.loads(_config(capsys, "--json"))}


def test_every_setting_is_listed_by_step_with_its_value_and_origin(capsys, monkeypatch):
    for env in settings.SETTINGS:
        monkeypatch.delenv(env, raising=False)
    text = _config(capsys)
    for env in settings.SETTINGS:
        assert f"  {env} " in text
    for step in settings.STEPS:
        assert f"\n{step}\n" in f"\n{text}"
    assert text.index("Search and sources") < text.index("Network") < text.index("The notebook app")
    assert "MEMER_TOP_K" in text and f"  {settings.TOP_K}  (default)" in text.split("MEMER_TOP_K")[1].splitlines()[0]
    rows = _rows(capsys)
    assert list(rows) == list(settings.SETTINGS)
    assert rows["MEMER_TOP_K"] == {
        "variable": "MEMER_TOP_K",
        "step": "CLIP and ranking",
        "value": settings.TOP_K,
        "origin": "default",
        "help": settings.SETTINGS["MEMER_TOP_K"].help,
    }
    assert rows["MEMER_SOURCES"]["value"] == settings.SOURCES
    assert rows["HF_ENDPOINT"] == {**rows["HF_ENDPOINT"], "value": None, "origin": "unset"}


def test_a_value_from_the_environment_says_so(capsys, monkeypatch):
    override(monkeypatch, TOP_K=7, OPENAI_VISION=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    rows = _rows(capsys)
    assert rows["MEMER_TOP_K"]["value"] == 7 and rows["MEMER_TOP_K"]["origin"] == "environment"
    assert rows["MEMER_OPENAI_VISION"]["value"] is False and rows["MEMER_OPENAI_VISION"]["origin"] == "environment"
    assert rows["HF_ENDPOINT"]["value"] == "http://127.0.0.1:9" and rows["HF_ENDPOINT"]["origin"] == "environment"


def test_a_value_set_in_code_and_a_derived_folder(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("MEMER_OUTPUT_SIZE", raising=False)
    monkeypatch.delenv("MEMER_DOWNLOAD_DIR", raising=False)
    monkeypatch.setattr(settings, "OUTPUT_SIZE", 640)
    monkeypatch.setattr(settings, "USER_CACHE", tmp_path)
    monkeypatch.setattr(settings, "DOWNLOAD_DIR", None)
    rows = _rows(capsys)
    assert rows["MEMER_OUTPUT_SIZE"]["value"] == 640 and rows["MEMER_OUTPUT_SIZE"]["origin"] == "set in code"
    assert rows["MEMER_DOWNLOAD_DIR"]["value"] == str(tmp_path / "images")
    assert rows["MEMER_DOWNLOAD_DIR"]["origin"] == "default"


def test_the_key_is_never_printed_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("HF_TOKEN", "hf_" + "x" * 34)
    rows = _rows(capsys)
    assert rows["OPENAI_API_KEY"]["value"] == "set (hidden)" and rows["OPENAI_API_KEY"]["origin"] == "environment"
    assert rows["HF_TOKEN"]["value"] == "set (hidden)"
    line = next(line for line in _config(capsys).splitlines() if "OPENAI_API_KEY" in line)
    assert line.split() == ["OPENAI_API_KEY", "set", "(hidden)", "(environment)"]


def test_the_key_from_colab_secrets_is_named_as_such_and_not_printed(capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr(openai_client, "colab_secret", lambda: KEY)
    rows = _rows(capsys)
    assert rows["OPENAI_API_KEY"]["value"] == "set (hidden)" and rows["OPENAI_API_KEY"]["origin"] == "Colab secret"
    monkeypatch.setattr(openai_client, "colab_secret", lambda: None)
    assert _rows(capsys)["OPENAI_API_KEY"] == {**rows["OPENAI_API_KEY"], "value": None, "origin": "unset"}


def test_values_are_made_safe_to_show(capsys, monkeypatch):
    override(monkeypatch, CONTACT="me\x1b[2J\x1b[31m@example.org\u202e", CACHE_URL=f"https://h.example/c?key={KEY}")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1\x07")
    text = _config(capsys)
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "me@example.org" in text and "[redacted]" in text
    rows = _rows(capsys)
    assert rows["MEMER_CONTACT"]["value"] == "me@example.org"
    assert rows["OPENAI_BASE_URL"]["value"] == "http://127.0.0.1:9/v1"


def test_memer_config_runs_as_a_command_without_printing_the_key():
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "OPENAI_API_KEY": KEY, "MEMER_N_CAPTIONS": "4"}
    done = subprocess.run(
        [sys.executable, "-m", "memer", "config"], capture_output=True, text=True, cwd=root, env=env, timeout=60
    )
    assert done.returncode == 0 and KEY not in done.stdout + done.stderr
    assert "MEMER_N_CAPTIONS" in done.stdout and "4  (environment)" in done.stdout
    env["MEMER_N_CAPTIONS"] = "many"
    bad = subprocess.run(
        [sys.executable, "-m", "memer", "config"], capture_output=True, text=True, cwd=root, env=env, timeout=60
    )
    assert bad.returncode == 1 and bad.stdout == "" and "MEMER_N_CAPTIONS='many' is not a whole number" in bad.stderr
