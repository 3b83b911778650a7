"""The notebook app: an ipywidgets face on :mod:`memer.pipeline` (ipywidgets 7 and 8).

Type a topic, pick one of the pictures found, write or pick a caption, watch
the preview and download the meme. Each step is a small module of its own;
:class:`App` puts them together and :func:`launch` shows it.
"""

from __future__ import annotations

from memer.ui.app import App, launch
from memer.ui.captions_panel import caption_label, openai_key_found
from memer.ui.gallery import thumbnail_jpeg
from memer.ui.jobs import Cancelled
from memer.ui.style import BADGES, credit_html, download_link_html, sources_html

__all__ = [
    "BADGES",
    "App",
    "Cancelled",
    "caption_label",
    "credit_html",
    "download_link_html",
    "launch",
    "openai_key_found",
    "sources_html",
    "thumbnail_jpeg",
]
