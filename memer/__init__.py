"""memer: find a picture for a topic, caption it, and render a meme.

The package's face: ``memer.search``, ``memer.captions``, ``memer.describe``,
``memer.render``, ``memer.own_picture`` and ``memer.uploaded_file`` are the
pipeline's functions (:mod:`memer.pipeline`), with its result types and errors;
``memer.make`` writes several memes in one run (:mod:`memer.several`).
They are looked up on first use, so ``import memer`` stays cheap: torch,
open_clip, transformers, openai, PIL and numpy are imported only inside the
functions that need them.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from memer.candidates import ImageCandidate
from memer.errors import (
    CacheError,
    CaptionError,
    ConfigError,
    ImageError,
    MemerError,
    ModelError,
    RenderError,
    SourceError,
)

# name on the face -> the module that defines it (imported on first use). No TYPE_CHECKING imports of them:
# every step imports `memer` (its settings), and the layers forbid a step any path to memer.pipeline.
_LAZY = {
    "search": "memer.pipeline",
    "captions": "memer.pipeline",
    "describe": "memer.pipeline",
    "render": "memer.pipeline",
    "own_picture": "memer.pipeline",
    "uploaded_file": "memer.pipeline",
    "make": "memer.several",  # several memes in one run, written to a folder
    "Several": "memer.several",
    "SearchResult": "memer.pipeline",
    "SourceStatus": "memer.pipeline",
    "Meme": "memer.pipeline",
    "Caption": "memer.captioning.base",
    "CaptionBatch": "memer.captioning.base",
    "PictureDescription": "memer.captioning.base",
}

__all__ = [
    "CacheError",
    "Caption",
    "CaptionBatch",
    "CaptionError",
    "ConfigError",
    "ImageCandidate",
    "ImageError",
    "Meme",
    "MemerError",
    "ModelError",
    "PictureDescription",
    "RenderError",
    "SearchResult",
    "Several",
    "SourceError",
    "SourceStatus",
    "__version__",
    "captions",
    "describe",
    "make",
    "own_picture",
    "render",
    "search",
    "uploaded_file",
]


def __getattr__(name: str) -> Any:
    """The pipeline's functions and types, imported when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'memer' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
