"""The one record a background picture carries through the whole pipeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OPEN_LICENCES = ("cc0", "public domain", "pd", "no known copyright")  # licences that ask for no credit
# A source's name -> how people read it. Filled by the source registry (memer.sources.register): this leaf
# only keeps the names, so a candidate can credit its source without importing the sources.
_DISPLAY_NAMES: dict[str, str] = {}


@dataclass
class ImageCandidate:
    """A picture found for a query, with everything needed to credit it."""

    source: str  # "commons", "wikipedia", "openimages", ...
    title: str
    image_url: str  # what we download: a thumbnail
    description: str = ""  # plain text, English preferred, ~60 words at most
    author: str = "unknown"  # plain text
    license: str = ""  # short name, e.g. "CC BY-SA 4.0"
    license_url: str = ""
    page_url: str = ""  # the human page for the file
    original_url: str = ""
    width: int | None = None
    height: int | None = None
    path: Path | None = None  # set once downloaded
    free: bool = True
    attribution_required: bool = True
    restrictions: str = ""
    license_assumed: bool = False  # True when the licence is inferred, not read from the source
    score: float | None = None  # CLIP similarity to the query, once ranked
    credit: str = ""  # the whole credit line, when it is not "author / source, licence" (own, generated)
    ai_generated: bool = False  # drawn by a model: marked in the PNG and, by setting, on the meme
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def source_name(self) -> str:
        return source_display_name(self.source)

    @property
    def needs_credit(self) -> bool:
        """Whether the picture's licence asks for credit (CC BY, BY-SA ...; not CC0 or public domain)."""
        return licence_needs_credit(self.license, self.attribution_required)

    def attribution(self) -> str:
        """The credit line shown under a meme, e.g. "Image: Jane Doe / Wikimedia Commons, CC BY-SA 4.0"."""
        if self.credit.strip():
            return self.credit.strip()
        author = self.author.strip() or "unknown"
        credit = f"Image: {author} / {self.source_name}"
        return f"{credit}, {self.license}" if self.license else credit

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path) if self.path else None
        data["attribution"] = self.attribution()
        return data


def licence_needs_credit(licence: str | None, attribution_required: bool = True) -> bool:
    """The one rule behind ``ImageCandidate.needs_credit``: an open licence (CC0, public domain) asks for none."""
    if (licence or "").strip().lower().startswith(OPEN_LICENCES):
        return False
    return bool(attribution_required)


def source_display_name(name: str) -> str:
    """ "commons" -> "Wikimedia Commons": how a registered source is named to people (others keep their name)."""
    return _DISPLAY_NAMES.get(name, name)


def name_source(name: str, display_name: str) -> None:
    """Record how the source ``name`` is named to people (called by memer.sources.register)."""
    _DISPLAY_NAMES[name] = display_name
