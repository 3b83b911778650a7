"""The two caption engines memer ships, as registered parts (see :func:`memer.captioning.register_engine`).

An engine writes captions for a checked request and, when its model can see,
describes a picture in one sentence. Each imports its heavy module (openai,
transformers, torch) only when it works, so registering it costs nothing.
"""

from __future__ import annotations

from typing import Any

from memer import settings
from memer.captioning.base import CaptionBatch, CaptionRequest, PictureDescription
from memer.language import Language
from memer.progress import Progress


class OpenAIEngine:
    """OpenAI's chat model, checked by OpenAI's moderation."""

    name = "openai"
    label = "OpenAI"

    def generate(
        self, request: CaptionRequest, *, model: str | None, api_key: str | None, progress: Progress | None
    ) -> CaptionBatch:
        from memer.captioning import openai_engine

        batch = openai_engine.generate(request, model=model or settings.OPENAI_MODEL, api_key=api_key)
        batch.description = batch.description or request.description
        return batch

    def describe(
        self,
        picture: Any,
        *,
        model: str | None,
        api_key: str | None,
        progress: Progress | None,
        language: Language | None = None,
    ) -> PictureDescription:
        from memer.captioning.describe import describe_with_openai

        return describe_with_openai(picture, model or settings.OPENAI_MODEL, api_key, language)


class LocalEngine:
    """A transformers model on this machine (free), checked by the offline classifier."""

    name = "local"
    label = "Local (free)"

    def generate(
        self, request: CaptionRequest, *, model: str | None, api_key: str | None, progress: Progress | None
    ) -> CaptionBatch:
        from memer.captioning import local_engine
        from memer.captioning.model_kind import default_caption_model

        name, fallback_note = (model, "") if model else default_caption_model()
        batch = local_engine.generate(request, model=name, progress=progress)
        batch.note = " ".join(part for part in (batch.note, fallback_note) if part)
        return batch

    def describe(
        self,
        picture: Any,
        *,
        model: str | None,
        api_key: str | None,
        progress: Progress | None,
        language: Language | None = None,
    ) -> PictureDescription:
        from memer.captioning.describe import describe_locally

        return describe_locally(picture, model, progress, language)
