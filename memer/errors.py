"""Errors a user can act on.

Every message says what went wrong and, where there is one, what to do about
it; the CLI prints it on one line and the notebook shows it in the app, so
nobody has to read a traceback.
"""

from __future__ import annotations


class MemerError(Exception):
    """Base of every error memer raises on purpose."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}".strip() if hint else message)


class ImageError(MemerError):
    """A file or download is not an image memer can use."""


class SourceError(MemerError):
    """An image source (Commons, Wikipedia, Open Images) failed."""


class CacheError(MemerError):
    """The Open Images embedding cache is missing, corrupt or built for another model."""


class CaptionError(MemerError):
    """Caption generation failed (key, rate limit, model)."""


class ModelError(MemerError):
    """A model (CLIP or a local language model) could not be loaded."""


class RenderError(MemerError):
    """A caption cannot be set on the picture (empty text, bad option)."""


class ConfigError(MemerError, ValueError):
    """A setting has a value memer cannot use (a ``MEMER_*`` environment variable)."""
