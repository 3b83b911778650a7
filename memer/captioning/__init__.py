"""Caption generation: prompts, cleanup, engines (OpenAI, local transformers) and safety levels.

``import memer.captioning`` stays light: openai, transformers, torch and PIL are
imported only when an engine runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memer import settings
from memer.captioning.base import SAFE, SENSITIVE, UNSAFE, Caption, CaptionBatch, CaptionRequest, PictureDescription
from memer.captioning.describe import describe_picture
from memer.captioning.openai_engine import find_openai_key
from memer.captioning.prompts import STYLES, check_style
from memer.errors import CaptionError
from memer.progress import Progress

ENGINES = ("openai", "local")

__all__ = [
    "ENGINES",
    "SAFE",
    "SENSITIVE",
    "STYLES",
    "UNSAFE",
    "Caption",
    "CaptionBatch",
    "CaptionRequest",
    "PictureDescription",
    "check_seed",
    "choose_engine",
    "describe_picture",
    "find_openai_key",
    "generate_captions",
]


def choose_engine(engine: str | None = None, api_key: str | None = None) -> str:
    """``engine``, else settings.CAPTION_ENGINE, else "openai" when a key is found and "local" when not."""
    chosen = (engine or settings.CAPTION_ENGINE or "").strip().lower()
    if not chosen:
        return "openai" if find_openai_key(api_key) else "local"
    if chosen not in ENGINES:
        raise CaptionError(
            f"unknown caption engine {engine or settings.CAPTION_ENGINE!r}.",
            f"Choose one of: {', '.join(ENGINES)}.",
            code="caption.unknown_engine",
            fix="engine" if engine else "MEMER_CAPTION_ENGINE",
        )
    return chosen


def _as_picture(image: Any) -> Any:
    """A PIL image from a PIL image, a path or bytes (None stays None)."""
    if image is None or hasattr(image, "convert"):
        return image
    if isinstance(image, (str, Path, bytes)):
        from memer.images import open_image

        return open_image(image)
    raise CaptionError(
        f"cannot use a {type(image).__name__} as the picture.", "Pass a PIL image, a file path or image bytes."
    )


def generate_captions(
    theme: str,
    *,
    description: str = "",
    image: Any = None,
    engine: str | None = None,
    model: str | None = None,
    style: str | None = None,
    n: int | None = None,
    api_key: str | None = None,
    progress: Progress | None = None,
    seed: int | str | None = None,
) -> CaptionBatch:
    """N captions (default settings.N_CAPTIONS) for a meme about ``theme``, each with a safety level.

    ``image`` (a PIL image, path or bytes) lets the OpenAI engine and a local
    vision-language model look at the picture; ``description`` says in words what
    it shows (every engine uses it). ``seed`` (default settings.SEED) makes the
    local engine's samples repeatable.
    """
    if not theme or not theme.strip():
        raise CaptionError(
            "the meme needs a theme.",
            "Say what the meme is about, e.g. --theme 'apple pie'.",
            code="caption.no_theme",
            fix="theme",
        )
    count = settings.N_CAPTIONS if n is None else n
    if count < 1:
        raise CaptionError(
            f"cannot make {count} captions.", "Ask for at least one (--n 1 or more).", code="caption.bad_count", fix="n"
        )
    request = CaptionRequest(
        theme=theme.strip(),
        description=(description or "").strip(),
        style=check_style(style, settings.CAPTION_STYLE),
        n=count,
        image=_as_picture(image),
        seed=check_seed(seed),
    )
    chosen = choose_engine(engine, api_key)
    if chosen == "openai":
        from memer.captioning import openai_engine

        batch = openai_engine.generate(request, model=model or settings.OPENAI_MODEL, api_key=api_key)
        batch.description = batch.description or request.description
        return batch
    from memer.captioning import local_engine
    from memer.captioning.model_kind import default_caption_model

    name, fallback_note = (model, "") if model else default_caption_model()
    batch = local_engine.generate(request, model=name, progress=progress)
    batch.note = " ".join(part for part in (batch.note, fallback_note) if part)
    return batch


def check_seed(seed: int | str | None = None) -> int | None:
    """``seed``, else settings.SEED, as a whole number; None when neither is set."""
    raw = settings.SEED if seed is None else seed
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise CaptionError(
            f"the seed {raw!r} is not a whole number.",
            "Use e.g. --seed 42 or MEMER_SEED=42.",
            code="caption.bad_seed",
            fix="seed" if seed is not None else "MEMER_SEED",
        ) from None
    if not 0 <= value < 2**63:
        raise CaptionError(
            f"the seed {value} is out of range.",
            "Use a whole number from 0 to 2**63 - 1.",
            code="caption.bad_seed",
            fix="seed" if seed is not None else "MEMER_SEED",
        )
    return value
