import importlib

import pytest

from memer import settings


@pytest.mark.parametrize(
    ("env", "value", "name", "expected"),
    [
        ("MEMER_OUTPUT_SIZE", "800", "OUTPUT_SIZE", 800),
        ("MEMER_TEMPERATURE", "0.25", "TEMPERATURE", 0.25),
        ("MEMER_OPENAI_VISION", "0", "OPENAI_VISION", False),
        ("MEMER_OPENAI_VISION", "yes", "OPENAI_VISION", True),
        ("MEMER_SOURCES", "commons, openimages", "SOURCES", ["commons", "openimages"]),
        ("MEMER_COMMONS_API", "http://127.0.0.1:9/w/api.php", "COMMONS_API", "http://127.0.0.1:9/w/api.php"),
    ],
)
def test_environment_overrides_a_setting(monkeypatch, env, value, name, expected):
    monkeypatch.setenv(env, value)
    try:
        assert getattr(importlib.reload(settings), name) == expected
    finally:
        monkeypatch.delenv(env)
        importlib.reload(settings)


def test_a_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("MEMER_OUTPUT_SIZE", "big")
    try:
        with pytest.raises(ValueError, match="MEMER_OUTPUT_SIZE"):
            importlib.reload(settings)
    finally:
        monkeypatch.delenv("MEMER_OUTPUT_SIZE")
        importlib.reload(settings)


@pytest.mark.parametrize(
    ("env", "value", "hint"),
    [
        ("MEMER_TOP_K", "abc", "Unset MEMER_TOP_K or give a whole number."),
        ("MEMER_TEMPERATURE", "warm", "Unset MEMER_TEMPERATURE or give a number."),
        ("MEMER_OPENAI_VISION", "maybe", "Unset MEMER_OPENAI_VISION or give 1 or 0."),
    ],
)
def test_a_bad_value_is_a_config_error_with_a_hint(monkeypatch, env, value, hint):
    from memer.errors import ConfigError, MemerError

    monkeypatch.setenv(env, value)
    try:
        with pytest.raises(ConfigError) as caught:
            importlib.reload(settings)
    finally:
        monkeypatch.delenv(env)
        importlib.reload(settings)
    assert isinstance(caught.value, MemerError) and isinstance(caught.value, ValueError)
    assert caught.value.message.startswith(f"{env}={value!r} is not") and caught.value.hint == hint


def test_the_cli_reports_a_bad_setting_in_one_line_and_help_still_works():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "MEMER_TOP_K": "abc"}
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "memer", *args], capture_output=True, text=True, cwd=root, env=env, timeout=60
    )
    done = run("search", "x")
    assert done.returncode == 1 and done.stdout == ""
    assert (
        done.stderr
        == "memer: error: MEMER_TOP_K='abc' is not a whole number. Unset MEMER_TOP_K or give a whole number.\n"
    )
    helped = run("--help")
    assert helped.returncode == 0 and "usage: memer" in helped.stdout


def test_every_setting_is_declared_once_with_a_step_and_one_line_of_help():
    import re
    from pathlib import Path

    source = (Path(settings.__file__)).read_text()
    declared = re.findall(r'^([A-Z_]+) = _(?:str|int|float|bool|list|path)\(\s*"([A-Z_]+)"', source, re.M)
    assert len(declared) == 127 and all(constant == name for constant, name in declared)
    table = {s.name: s for s in settings.SETTINGS.values() if s.name}
    assert sorted(table) == sorted(name for name, _ in declared)
    for name, setting in table.items():
        assert setting.env == f"MEMER_{name}" and hasattr(settings, name)
        assert setting.step in settings.STEPS
        assert setting.help.strip() and "\n" not in setting.help and len(setting.help) <= 120, name


def test_the_steps_follow_the_pipeline():
    assert settings.STEPS == [
        "Search and sources",
        "Network",
        "CLIP and ranking",
        "Captions",
        "Captions: OpenAI",
        "Captions: local model",
        "Generated pictures",
        "Rendering",
        "Open Images cache",
        "The notebook app",
    ]
    for step in settings.STEPS:
        assert any(s.step == step for s in settings.SETTINGS.values())


def test_a_derived_folder_follows_the_setting_it_derives_from(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "USER_CACHE", tmp_path)
    monkeypatch.setattr(settings, "DOWNLOAD_DIR", None)
    assert settings.DERIVED["DOWNLOAD_DIR"]() == settings.download_dir() == tmp_path / "images"
    assert settings.SETTINGS["MEMER_DOWNLOAD_DIR"].shown == "$MEMER_USER_CACHE/images"
