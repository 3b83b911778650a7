"""The one progress mechanism's shape, for every step that reports.

``progress(message, fraction)``: fraction in [0, 1], or None when unknown. Library
functions take one (or None) and never print; the CLI passes a tqdm-backed hook, the
notebook app a widget one.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, "float | None"], None]


def silent(message: str, fraction: float | None) -> None:
    """The hook used when the caller gave none."""
