"""What the user made for each picture, kept while the app is open so nothing is lost.

Going back to a picture brings back its captions (every batch, "More captions"
adds to them), the caption chosen and the text as edited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from memer.captioning.base import Caption, CaptionBatch


@dataclass
class PictureWork:
    captions: list[Caption] = field(default_factory=list)  # every batch's, in order
    safety_checks: list[str] = field(default_factory=list)  # how each batch was checked, in order
    engine: str = ""  # of the last batch (goes into the PNG's metadata)
    note: str = ""  # the last batch's note (e.g. fewer came back)
    description: str = ""  # what the caption model saw in the picture (goes into the PNG's alt text)
    ranked_by: str = ""  # how the last batch was put in order (memer.caption_rank); "": as written
    chosen: int | None = None  # index into captions of the caption in use
    text: str = ""  # the caption as edited
    confirmed_unsafe: set[int] = field(default_factory=set)  # unsafe captions the user chose anyway

    def add_batch(self, batch: CaptionBatch) -> None:
        self.captions.extend(batch.captions)
        self.safety_checks.append(batch.safety_check)
        self.engine, self.note = batch.engine, batch.note
        self.description = getattr(batch, "description", "") or self.description
        self.ranked_by = getattr(batch, "ranked_by", "")

    def first_safe(self, start: int = 0) -> int | None:
        return next((i for i, c in enumerate(self.captions) if i >= start and c.usable), None)

    def top(self, count: int) -> list[Caption]:
        """The first ``count`` captions shown that may be used: not unsafe, or unsafe and confirmed by the user."""
        usable = [c for i, c in enumerate(self.captions) if c.usable or i in self.confirmed_unsafe]
        return usable[:count]


class WorkStore:
    """PictureWork by picture key (see :func:`memer.ui.gallery.picture_key`)."""

    def __init__(self) -> None:
        self._work: dict[str, PictureWork] = {}

    def __getitem__(self, key: str) -> PictureWork:
        return self._work.setdefault(key, PictureWork())

    def __contains__(self, key: str) -> bool:
        return key in self._work

    def __len__(self) -> int:
        return len(self._work)
