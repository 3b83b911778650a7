"""What differs between ipywidgets 7 (Colab ships 7.7.1) and 8, in one place.

Every other module of the app writes to these helpers instead of asking which
version is installed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any


def ipywidgets_major() -> int:
    import ipywidgets

    return int(ipywidgets.__version__.split(".")[0])


def set_tooltip(widget: Any, text: str) -> None:
    """ipywidgets 8 calls it ``tooltip``; 7 has ``description_tooltip`` (Button has ``tooltip`` in both)."""
    if widget.has_trait("tooltip"):
        widget.tooltip = text
    elif widget.has_trait("description_tooltip"):
        widget.description_tooltip = text


def show(widget: Any, visible: bool) -> None:
    """Show or hide a widget; it keeps its place in its box."""
    widget.layout.display = "" if visible else "none"


def is_shown(widget: Any) -> bool:
    return widget.layout.display != "none"


def on_enter(text: Any, callback: Callable[[], None]) -> None:
    """Call ``callback`` when Enter is pressed in a Text box.

    ipywidgets 8 deprecates ``on_submit`` but its front end still sends the event; 7 has nothing else.
    The box's value may still be on its way when this fires: read it after the app's settle delay.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        text.on_submit(lambda _widget: callback())


def press_enter(text: Any) -> None:
    """What the front end's Enter key does (for tests and scripted use)."""
    text._submission_callbacks(text)


def clear_upload(upload: Any) -> bool:
    """Empty a FileUpload so the same file can be chosen again; whether it could be.

    ipywidgets 8: its value becomes an empty tuple. ipywidgets 7 keeps a dict and a counter, and
    resetting them from the app's worker thread (``value.clear(); _counter = 0``, the usual recipe)
    left Notebook 6 deaf to every later action in the panel (seen in the browser test), so in 7 the
    upload is left as it is: choosing another file works, the very same file twice in a row does not fire.
    """
    if isinstance(upload.value, dict):
        return False
    upload.value = ()
    return True
