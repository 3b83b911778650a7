"""What kind of local caption model a folder or hub id holds, read from its own config, never its name.

A config whose ``model_type`` (or ``architectures``) transformers maps to an
image-text-to-text class is a vision-language model: it sees the picture. One
mapped to a causal LM class is text-only: it reads the picture's description.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from memer.errors import ModelError

VISION, TEXT = "vision", "text"


def kind_from_config(
    model_type: str,
    architectures: Iterable[str],
    vision_mapping: Mapping[str, Any],
    text_mapping: Mapping[str, Any],
) -> str:
    """``VISION`` or ``TEXT`` for a config, by transformers' own auto-class mappings (model_type -> class name)."""

    def class_names(mapping: Mapping[str, Any]) -> set[str]:
        names: set[str] = set()
        for value in mapping.values():
            names.update([value] if isinstance(value, str) else list(value))
        return names

    architectures = list(architectures or [])
    if model_type in vision_mapping or any(a in class_names(vision_mapping) for a in architectures):
        return VISION
    if model_type in text_mapping or any(a in class_names(text_mapping) for a in architectures):
        return TEXT
    raise ModelError(
        f"the caption model's config (model_type {model_type!r}) is neither a vision-language model nor a causal "
        "language model that this transformers knows.",
        "Set MEMER_CAPTION_MODEL to an image-text-to-text or text-generation model, or upgrade transformers.",
    )


def model_kind(config: Any) -> str:
    """:func:`kind_from_config` for a loaded ``PretrainedConfig``, with this transformers' mappings."""
    from transformers.models.auto import modeling_auto

    vision = getattr(modeling_auto, "MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES", {})  # transformers >= 4.45
    text = modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    return kind_from_config(
        getattr(config, "model_type", ""), getattr(config, "architectures", None) or [], vision, text
    )


def transformers_version() -> tuple[int, int]:
    """(major, minor) of the installed transformers, e.g. (5, 24)."""
    import sys
    from importlib import metadata

    loaded = sys.modules.get("transformers")
    try:  # the installed version, read without importing transformers (and torch) just to ask
        raw = loaded.__version__ if loaded is not None else metadata.version("transformers")
    except metadata.PackageNotFoundError:
        raise ImportError("transformers is not installed") from None
    parts = raw.split(".")
    return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)


def default_caption_model() -> tuple[str, str]:
    """(model, note): settings.CAPTION_MODEL, else the vision default, else the text-only one on an old transformers."""
    from memer import settings

    if settings.CAPTION_MODEL:
        return settings.CAPTION_MODEL, ""
    try:
        version = transformers_version()
    except ImportError:
        return settings.VISION_CAPTION_MODEL, ""
    if version >= tuple(settings.VISION_MIN_TRANSFORMERS):
        return settings.VISION_CAPTION_MODEL, ""
    wanted = ".".join(map(str, settings.VISION_MIN_TRANSFORMERS))
    return settings.TEXT_CAPTION_MODEL, (
        f"transformers {'.'.join(map(str, version))} predates {settings.VISION_CAPTION_MODEL} (needs {wanted}): "
        f"using the text-only {settings.TEXT_CAPTION_MODEL}, which does not see the picture."
    )
