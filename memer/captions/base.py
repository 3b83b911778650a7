"""What every caption engine returns."""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class CaptionBatch:
    """The captions of one request, and how they were checked."""

    captions: list[Caption]
    engine: str
    model: str
    safety_check: str  # e.g. "OpenAI moderation (omni-moderation-latest)" or "offline word list (weaker)"
    note: str = ""  # e.g. why fewer than N came back
