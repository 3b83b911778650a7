"""The picture's description for its captions: when to ask a model for one, and each one remembered.

One rule (:func:`should_describe`) for every face, and one memory per picture
file, model and language, so the app can show the sentence and the captions
reuse it without a second model call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memer import settings
from memer.progress import Progress, silent

if TYPE_CHECKING:
    from PIL import Image

    from memer.candidates import ImageCandidate
    from memer.captioning import Engine
    from memer.captioning.base import PictureDescription
    from memer.language import Language


def should_describe(words: str | None, describe_first: bool | None = None) -> bool:
    """The one rule for describing the picture: only when it has no words, and ``describe_first`` (an override,
    e.g. the CLI's --describe) else settings.DESCRIBE says so. One model call more."""
    if (words or "").strip():
        return False
    return settings.DESCRIBE if describe_first is None else describe_first


def described(
    candidate: ImageCandidate,
    picture: Image.Image,
    engine: Engine,
    model: str | None,
    api_key: str | None,
    progress: Progress | None,
    language: Language,
) -> PictureDescription:
    """The picture described by ``engine`` (already chosen), once per picture file, model and language."""
    from memer.captioning import describe_picture

    key = (str(candidate.path), engine.name, model or "", language.code)
    if key not in _descriptions:
        (progress or silent)("Describing the picture …", None)
        _descriptions[key] = describe_picture(
            picture, engine=engine, model=model, api_key=api_key, progress=progress, language=language
        )
    return _descriptions[key]


_descriptions: dict[tuple[str, str, str, str], PictureDescription] = {}
