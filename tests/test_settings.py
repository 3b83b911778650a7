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


def test_every_setting_is_documented_in_the_readme():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    source = (root / "memer" / "settings.py").read_text()
    names = re.findall(r'^[A-Z_]+ = _(?:str|int|float|bool|list|path)\("([A-Z_]+)"', source, re.M)
    assert len(names) > 50
    readme = (root / "README.md").read_text()
    missing = [name for name in names if f"`MEMER_{name}`" not in readme]
    assert missing == [], f"add these to the README's configuration table: {missing}"
