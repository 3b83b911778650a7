"""memer's settings as a person reads them: ``memer config`` and docs/configuration.md.

Both are made from the one table ``memer.settings.SETTINGS``, so neither can drift from the code.
``memer config`` shows what is in effect now and where each value came from; secrets only say
whether they are set. ``python -m memer.settings_doc > docs/configuration.md`` writes the docs page
(a test fails when the page in the repository is stale).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from memer import openai_client, settings
from memer.settings import Setting
from memer.text import display_safe

HIDDEN = "set (hidden)"
VALUE_LIMIT = 300


@dataclass(frozen=True)
class Effective:
    """One setting in effect: its value (display-safe, secrets hidden) and where it came from."""

    setting: Setting
    value: object  # a number, yes/no, list or text; text is display-safe
    origin: str  # default, environment, Colab secret, set in code, unset

    def to_dict(self) -> dict[str, object]:
        s = self.setting
        return {"variable": s.env, "step": s.step, "value": self.value, "origin": self.origin, "help": s.help}


def as_text(value: object) -> str:
    """A value written the way its environment variable takes it (yes/no as 1/0, lists comma-separated)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return "" if value is None else str(value)


def _safe(value: object) -> object:
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [display_safe(item, VALUE_LIMIT) for item in value]
    return display_safe(as_text(value), VALUE_LIMIT)


def _outside(setting: Setting) -> Effective:
    if setting.in_environment():
        origin = "environment"
    elif setting.env == openai_client.KEY_ENV and openai_client.colab_secret():
        origin = "Colab secret"
    else:
        return Effective(setting, None, "unset")
    if setting.secret:
        return Effective(setting, HIDDEN, origin)
    return Effective(setting, _safe(os.environ.get(setting.env, "")), origin)


def effective(setting: Setting) -> Effective:
    """The setting's value in this process and where it came from."""
    if not setting.name:
        return _outside(setting)
    value = getattr(settings, setting.name)
    if setting.in_environment():
        origin = "environment"
    elif value != setting.default:
        origin = "set in code"  # a notebook or a test changed settings.NAME
    else:
        origin = "default"
    if value is None and setting.name in settings.DERIVED:
        value = settings.DERIVED[setting.name]()
    if isinstance(value, Path):
        value = str(value)
    return Effective(setting, _safe(value), origin)


def effective_settings() -> list[Effective]:
    return [effective(s) for s in settings.SETTINGS.values()]


def _shown(row: Effective) -> str:
    if row.value is None:
        return "not set"
    text = as_text(row.value)
    if text:
        return text
    return f"(empty: {row.setting.shown})" if row.setting.shown else '""'


def config_text(rows: list[Effective]) -> str:
    """``memer config``'s report: the settings by step, one line each: variable, value, origin."""
    width = max(len(row.setting.env) for row in rows)
    blocks: list[str] = []
    for step in settings.STEPS:
        lines = [step]
        for row in rows:
            if row.setting.step == step:
                shown = _shown(row)
                lines.append(f"  {row.setting.env:<{width}}  {shown}  ({row.origin})")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default_text(setting: Setting) -> str:
    if setting.shown:
        return _cell(setting.shown)
    text = as_text(setting.default)
    return f"`{_cell(text)}`" if text else "(empty)"


def markdown() -> str:
    """docs/configuration.md: every setting by step, with its default and its one line of help."""
    lines = [
        "# Configuration",
        "",
        "<!-- Generated from memer/settings.py by `python -m memer.settings_doc > docs/configuration.md`;",
        "     do not edit by hand: tests/test_docs.py fails when this page is stale. -->",
        "",
        "Every setting lives in [memer/settings.py](../memer/settings.py), declared once with its default and",
        "one line of help. Each one is overridden by an environment variable: `MEMER_` + the setting's name.",
        "A few variables without the prefix belong to the services memer uses; they are listed with the step",
        "that reads them. `memer config` prints every setting in effect, its value and where it came from",
        "(default, environment, Colab secret); secrets only say whether they are set (`--json` for scripts).",
        "Yes/no settings take `1`/`0` (or `true`/`false`, `yes`/`no`, `on`/`off`); lists are comma-separated.",
    ]
    for step in settings.STEPS:
        lines += ["", f"## {step}", "", "| variable | default | what it does |", "|---|---|---|"]
        for s in settings.SETTINGS.values():
            if s.step == step:
                secret = " (a secret: never shown)" if s.secret else ""
                lines.append(f"| `{s.env}` | {_default_text(s)} | {_cell(s.help)}{secret} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    sys.stdout.write(markdown())


if __name__ == "__main__":
    main()
