"""What the ``memer`` command line shows: its progress bar, outside text made safe, one-line messages.

Kept apart from the subcommands (memer/cli.py) so each stays short: the terminal rules live here once.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from memer.text import display_safe, first_line

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def safe(text: object, limit: int = 300) -> str:
    """Outside text as the terminal may show it: no escapes or controls, secrets redacted, cut at a word."""
    return display_safe(text, limit)


def say(message: str) -> None:
    print(f"memer: {message}", file=sys.stderr)


class TerminalProgress:
    """The CLI's progress hook: one tqdm bar on stderr, its label the current step."""

    def __init__(self) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=100, file=sys.stderr, leave=False, bar_format="{desc} {percentage:3.0f}%|{bar}|")
        self._lock = threading.Lock()

    def __call__(self, message: str, fraction: float | None) -> None:
        with self._lock:  # downloads report from several threads
            self._bar.set_description_str(message, refresh=False)
            if fraction is not None:
                self._bar.n = round(100 * min(1.0, max(0.0, fraction)))
            self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


@contextmanager
def progress() -> Iterator[TerminalProgress | None]:
    """A progress bar on a terminal for the length of a step; nothing when stderr is piped or captured."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = TerminalProgress()
    try:
        yield bar
    finally:
        bar.close()


# A missing optional package -> the extra that brings it (pyproject.toml's optional-dependencies).
EXTRAS = {
    "torch": "clip",
    "torchvision": "clip",
    "open_clip": "clip",
    "timm": "clip",
    "transformers": "local",
    "safetensors": "local",
    "accelerate": "local",
    "tokenizers": "local",
    "openai": "openai",
    "ipywidgets": "notebook",
    "IPython": "notebook",
}
_LOCAL_ENGINE_NEEDS = {"torch", "transformers", "safetensors", "accelerate", "tokenizers"}
_LIBRARY_LOGGERS = ("huggingface_hub", "transformers", "open_clip", "timm", "urllib3", "httpx", "httpx2", "openai")


def missing_package_message(err: ImportError, command: str) -> str:
    """What to install, in one line, for a command that found an optional package missing."""
    module = (err.name or "").split(".")[0]
    extra = EXTRAS.get(module)
    if extra is None:
        return f"memer {command} could not import {module or 'a package'} ({first_line(err, 120)}). Reinstall memer: pip install --force-reinstall memer"
    if command == "caption" and module in _LOCAL_ENGINE_NEEDS:
        extra = "local"
    message = f"memer {command} needs {module}, which is not installed. Install it with: pip install 'memer[{extra}]'"
    if command in ("caption", "make") and extra == "local":
        message += " (or use --engine openai with pip install 'memer[openai]')"
    return message + "."


def quiet_libraries() -> None:
    """Library log lines, warnings and download bars stay out of the terminal: memer says what matters, once.

    Environment values the user set win (HF_HUB_VERBOSITY=info brings the hub's lines back).
    """
    import logging
    import os
    import warnings

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_VERBOSITY", "critical")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "critical")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    root = logging.getLogger()
    if not root.handlers:  # else logging.error() in a library calls basicConfig: "ERROR:root:..." on stderr
        root.addHandler(logging.NullHandler())
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module=r"(huggingface_hub|transformers|open_clip|timm|torch|torchvision)\b")


LANGUAGE_HELP = "the captions' language: a code (hi, ja, pt-BR) or a name (Hindi); default MEMER_LANGUAGE, else English"


def warn_undrawn(warnings: list[str]) -> None:
    """Characters left out of the meme, said on stderr (nothing vanishes silently)."""
    for line in warnings:
        say(f"warning: {safe(line, 500)}")
