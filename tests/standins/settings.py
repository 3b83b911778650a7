"""The one way tests change memer's settings: in this process and for the processes it starts.

``override`` sets ``settings.NAME`` (undone after the test by ``monkeypatch``) and
the ``MEMER_NAME`` environment variable a CLI run, a notebook kernel or a Voila
server reads, written the way ``memer.settings`` parses it back.
"""

from __future__ import annotations

from typing import Any

import pytest

from memer import settings


def as_environment(value: Any) -> str:
    """A setting's value as the string ``memer.settings`` reads back into the same value."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)


def override(monkeypatch: pytest.MonkeyPatch, **values: Any) -> dict[str, str]:
    """Set each named setting here and in the environment; returns the ``MEMER_*`` variables set."""
    env = {}
    for name, value in values.items():
        if not hasattr(settings, name):
            raise AttributeError(f"memer.settings has no {name}")
        monkeypatch.setattr(settings, name, value)
        env[settings.PREFIX + name] = as_environment(value)
        monkeypatch.setenv(settings.PREFIX + name, env[settings.PREFIX + name])
    return env
