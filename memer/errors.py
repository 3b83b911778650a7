"""Errors a user can act on.

Every message says what went wrong and, where there is one, what to do about
it; the CLI prints it on one line and the notebook shows it in the app, so
nobody has to read a traceback.

Every error also carries a stable ``code`` (what went wrong, e.g.
``openai.key_refused``) and ``fix`` (the setting or input that fixes it, e.g.
``OPENAI_API_KEY``): each face words its own advice from the code (the CLI
names its flags, the app its controls) instead of rewording the message.
"""

from __future__ import annotations

# Every code an error may carry, with what it means. A new code is one line here (tests check the raise sites).
CODES: dict[str, str] = {
    "memer.error": "something memer checks failed (no more specific code)",
    "input.invalid": "a command-line value or argument memer cannot use",
    "image.error": "a file or download is not an image memer can use",
    "image.missing": "the picture's file does not exist or is not a file",
    "image.unreadable": "the picture is damaged, empty or not an image",
    "image.too_large": "the picture is too large to use",
    "image.too_many_frames": "an animation has more frames than memer draws (MEMER_MAX_ANIMATION_PIXELS)",
    "image.bad_link": "the picture's link or path cannot be fetched",
    "image.no_upload": "no picture was uploaded",
    "image.download_failed": "the picture could not be downloaded",
    "source.error": "an image source failed",
    "source.unknown": "an image source name memer does not know",
    "source.empty_query": "the search topic is empty",
    "source.all_failed": "every image source failed",
    "source.none_found": "no pictures were found for the topic",
    "source.unknown_generator": "a picture generator memer does not know",
    "source.rate_limited": "an image source is rate limiting memer",
    "source.unavailable": "an image source did not answer or is down",
    "search.clip_failed": "CLIP could not be loaded, so no search could be ranked",
    "cache.error": "the Open Images cache is corrupt, refused or could not be made",
    "cache.missing": "there is no Open Images cache where memer looks",
    "cache.no_url": "no cache URL is set to download the cache from",
    "caption.error": "caption generation failed",
    "caption.unknown_engine": "a caption engine name memer does not know",
    "caption.unknown_style": "a caption style memer does not know",
    "language.unknown": "a language memer does not know (not a BCP-47 code or a language's name)",
    "caption.bad_seed": "the seed is not a whole number in range",
    "caption.no_theme": "the meme has no theme",
    "caption.bad_count": "the number of captions asked for is not 1 or more",
    "caption.no_picture": "there is no picture to describe",
    "caption.none_usable": "the engine answered without a usable caption",
    "caption.overflow": "the local model overflowed (inf/NaN) and float32 does not fit the GPU or fails too",
    "openai.no_key": "no OpenAI key is set",
    "openai.key_refused": "OpenAI refused the key (HTTP 401: wrong, revoked or from a deleted project)",
    "openai.key_malformed": "the OpenAI key has characters no key has (a stray quote or space)",
    "openai.forbidden": "OpenAI refused the key access to the model (HTTP 403)",
    "openai.rate_limited": "OpenAI says too many requests, or the quota is used up",
    "openai.timeout": "OpenAI did not answer in time",
    "openai.unavailable": "the OpenAI API could not be reached or had a server error",
    "openai.unknown_model": "OpenAI does not offer the model to this key",
    "openai.rejected": "OpenAI rejected or declined the request, or its answer was unusable",
    "openai.not_installed": "the openai package is not installed",
    "model.error": "a model could not be loaded",
    "model.clip_failed": "the CLIP model could not be loaded",
    "model.offline": "a model's weights could not be fetched (offline, or not downloaded)",
    "render.error": "a caption cannot be set on the picture",
    "render.empty_caption": "the caption is empty",
    "render.caption_too_long": "the caption is too long for the meme or the picture",
    "render.undrawable": "no font can draw the caption's characters",
    "render.bad_picture": "the picture is too narrow or flat for a caption",
    "render.bad_option": "a render option (position, size, colour, font) cannot be used",
    "render.cannot_write": "the meme cannot be written where asked",
    "config.invalid": "a MEMER_* setting has a value memer cannot use",
}


class MemerError(Exception):
    """Base of every error memer raises on purpose."""

    code: str = "memer.error"  # the class default; a raise site may give a more specific one

    def __init__(self, message: str, hint: str = "", *, code: str | None = None, fix: str = "") -> None:
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code  # the instance's own code shadows the class default
        self.fix = fix
        super().__init__(f"{message} {hint}".strip() if hint else message)


class ImageError(MemerError):
    """A file or download is not an image memer can use."""

    code = "image.error"


class SourceError(MemerError):
    """An image source (Commons, Wikipedia, Open Images) failed."""

    code = "source.error"


class CacheError(MemerError):
    """The Open Images embedding cache is missing, corrupt or built for another model."""

    code = "cache.error"


class CaptionError(MemerError):
    """Caption generation failed (key, rate limit, model)."""

    code = "caption.error"


class ModelError(MemerError):
    """A model (CLIP or a local language model) could not be loaded."""

    code = "model.error"


class RenderError(MemerError):
    """A caption cannot be set on the picture (empty text, bad option)."""

    code = "render.error"


class ConfigError(MemerError, ValueError):
    """A setting has a value memer cannot use (a ``MEMER_*`` environment variable)."""

    code = "config.invalid"
