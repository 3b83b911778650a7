"""memer: find a picture for a topic, caption it, and render a meme.

Importing the package is cheap: torch, open_clip, transformers and openai are
imported only inside the functions that need them.
"""

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

__all__ = [
    "CacheError",
    "CaptionError",
    "ConfigError",
    "ImageCandidate",
    "ImageError",
    "MemerError",
    "ModelError",
    "RenderError",
    "SourceError",
    "__version__",
]
