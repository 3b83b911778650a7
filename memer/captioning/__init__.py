"""Caption generation: prompts, cleanup, engines (OpenAI, local transformers) and safety levels.

Caption engines are registered parts: an :class:`Engine` (a name, a label, ``generate`` and
``describe``) in one registry, as the sources are in :mod:`memer.sources`. Adding one is one new
module plus one ``register_engine(...)`` line below; the CLI's ``--engine`` choices, the app's
engine switch and :func:`choose_engine` read the registry.

``import memer.captioning`` stays light: openai, transformers, torch and PIL are
imported only when an engine runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from memer import settings
from memer.captioning.base import SAFE, SENSITIVE, UNSAFE, Caption, CaptionBatch, CaptionRequest, PictureDescription
from memer.captioning.describe import describe_picture
from memer.captioning.engines import LocalEngine, OpenAIEngine
from memer.captioning.humour import judge_humour
from memer.captioning.openai_engine import find_openai_key
from memer.captioning.prompts import STYLES, check_style
from memer.errors import CaptionError
from memer.language import Language, resolve_language
from memer.openai_client import preferred_engine
from memer.progress import Progress


class Engine(Protocol):
    """A caption engine: writes captions for a checked request, and describes a picture when its model can see."""

    name: str  # what --engine and MEMER_CAPTION_ENGINE say, e.g. "openai"
    label: str  # how the app names it, e.g. "Local (free)"

    def generate(
        self, request: CaptionRequest, *, model: str | None, api_key: str | None, progress: Progress | None
    ) -> CaptionBatch: ...

    def describe(
        self,
        picture: Any,
        *,
        model: str | None,
        api_key: str | None,
        progress: Progress | None,
        language: Language | None = None,
    ) -> PictureDescription: ...


_ENGINES: dict[str, Engine] = {}


def register_engine(engine: Engine) -> Engine:
    """Add ``engine`` to the registry, under ``engine.name``."""
    _ENGINES[engine.name] = engine
    return engine


def engines() -> list[Engine]:
    """The registered engines, in registration order."""
    return list(_ENGINES.values())


def get_engine(name: str) -> Engine:
    """The registered engine called ``name``; CaptionError naming the choices when there is none."""
    try:
        return _ENGINES[name]
    except KeyError:
        raise CaptionError(f"unknown caption engine {name!r}.", f"Choose one of: {', '.join(_ENGINES)}.") from None


register_engine(OpenAIEngine())
register_engine(LocalEngine())

ENGINES = tuple(_ENGINES)  # the registered names (kept for callers of the tuple)

__all__ = [
    "ENGINES",
    "SAFE",
    "SENSITIVE",
    "STYLES",
    "UNSAFE",
    "Caption",
    "CaptionBatch",
    "CaptionRequest",
    "Engine",
    "PictureDescription",
    "caption_request",
    "check_seed",
    "choose_engine",
    "describe_picture",
    "engines",
    "find_openai_key",
    "generate_captions",
    "get_engine",
    "judge_humour",
    "register_engine",
    "resolve_engine",
]


def choose_engine(engine: str | None = None, api_key: str | None = None, *, key_found: bool | None = None) -> str:
    """``engine``, else settings.CAPTION_ENGINE, else "openai" when a key is found and "local" when not.

    ``key_found`` says whether a key was already found (the app looks once); None looks now.
    """
    chosen = (engine or settings.CAPTION_ENGINE or "").strip().lower()
    if not chosen:
        return preferred_engine(bool(find_openai_key(api_key)) if key_found is None else key_found)
    if chosen not in _ENGINES:
        raise CaptionError(
            f"unknown caption engine {engine or settings.CAPTION_ENGINE!r}.",
            f"Choose one of: {', '.join(_ENGINES)}.",
            code="caption.unknown_engine",
            fix="engine" if engine else "MEMER_CAPTION_ENGINE",
        )
    return chosen


def resolve_engine(engine: str | Engine | None = None, api_key: str | None = None) -> Engine:
    """The engine itself: ``engine`` when it is one already (chosen once per action), else the one chosen by name."""
    if engine is None or isinstance(engine, str):
        return get_engine(choose_engine(engine, api_key))
    return engine


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


def caption_request(
    theme: str,
    *,
    description: str = "",
    image: Any = None,
    style: str | None = None,
    n: int | None = None,
    seed: int | str | None = None,
    language: str | Language | None = None,
) -> CaptionRequest:
    """The request checked: a theme, a known style, at least one caption, a usable seed, picture and language."""
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
    return CaptionRequest(
        theme=theme.strip(),
        description=(description or "").strip(),
        style=check_style(style, settings.CAPTION_STYLE),
        n=count,
        image=_as_picture(image),
        seed=check_seed(seed),
        language=resolve_language(language),
    )


def generate_captions(
    theme: str,
    *,
    description: str = "",
    image: Any = None,
    engine: str | Engine | None = None,
    model: str | None = None,
    style: str | None = None,
    n: int | None = None,
    api_key: str | None = None,
    progress: Progress | None = None,
    seed: int | str | None = None,
    language: str | Language | None = None,
) -> CaptionBatch:
    """N captions (default settings.N_CAPTIONS) for a meme about ``theme``, each with a safety level.

    ``image`` (a PIL image, path or bytes) lets the OpenAI engine and a local
    vision-language model look at the picture; ``description`` says in words what
    it shows (every engine uses it). ``seed`` (default settings.SEED) makes the
    local engine's samples repeatable. ``engine`` is a name (None: :func:`choose_engine`
    decides) or the engine already chosen. ``language`` (a code such as "hi" or a name; default
    settings.LANGUAGE, else English) is what the captions are written in.
    """
    request = caption_request(
        theme, description=description, image=image, style=style, n=n, seed=seed, language=language
    )
    chosen = resolve_engine(engine, api_key)
    return chosen.generate(request, model=model, api_key=api_key, progress=progress)


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
