"""What every caption engine takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memer.language import ENGLISH, Language

SAFE, SENSITIVE, UNSAFE = 0, 1, 2
LEVEL_NAMES = {SAFE: "safe", SENSITIVE: "sensitive", UNSAFE: "unsafe"}


@dataclass
class Caption:
    text: str
    engine: str  # "openai" or "local"
    model: str
    level: int = SAFE  # 0 safe, 1 sensitive, 2 unsafe
    categories: list[str] = field(default_factory=list)  # what put it above level 0

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]

    @property
    def usable(self) -> bool:
        """Not unsafe: a face may use it without asking first (an unsafe one only after a confirm or a flag)."""
        return self.level < UNSAFE

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "level": self.level,
            "level_name": self.level_name,
            "categories": list(self.categories),
            "engine": self.engine,
            "model": self.model,
        }


@dataclass
class CaptionBatch:
    """The captions of one request, and how they were checked."""

    captions: list[Caption]
    engine: str
    model: str
    safety_check: str  # e.g. "OpenAI moderation (omni-moderation-latest)" or "offline word list (weaker)"
    note: str = ""  # e.g. why fewer than N came back
    description: str = ""  # what the prompt said the picture shows (the source's words or a model's)

    @property
    def texts(self) -> list[str]:
        return [caption.text for caption in self.captions]

    def usable(self, *, allow_unsafe: bool = False) -> list[Caption]:
        """The captions a face may pick without asking: those not unsafe (all of them with ``allow_unsafe``)."""
        return [caption for caption in self.captions if allow_unsafe or caption.usable]

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "model": self.model,
            "safety_check": self.safety_check,
            "note": self.note,
            "description": self.description,
            "captions": [caption.to_dict() for caption in self.captions],
        }


@dataclass
class CaptionRequest:
    """What the user asked for, already checked (style known, n >= 1)."""

    theme: str
    description: str = ""
    style: str = "funny"
    n: int = 10
    image: Any = None  # a PIL image, or None
    seed: int | None = None  # the local engine samples the same captions for the same seed
    language: Language = ENGLISH  # what the captions are written in (memer.language)


@dataclass
class PictureDescription:
    """One sentence that says what a picture shows, and who wrote it (empty when the model cannot see)."""

    text: str
    engine: str
    model: str
    note: str = ""  # e.g. why there is no description
