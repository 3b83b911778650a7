"""The notebook app: an ipywidgets face on :mod:`memer.pipeline` (ipywidgets 7 and 8).

Type a topic, pick one of the pictures found, write or pick a caption, watch
the preview and download the meme. Each step is a small module of its own;
:class:`App` puts them together and :func:`launch` shows it.
"""

from __future__ import annotations

from memer.ui.app import App, launch
from memer.ui.jobs import Cancelled

# What a user calls (Cancelled: what the app's progress hook raises in a pipeline once Cancel is pressed);
# the panels' helpers are imported from their own modules.
__all__ = ["App", "Cancelled", "launch"]
