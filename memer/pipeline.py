"""One pass of memer, shared by the CLI and the notebook app.

search -> pick -> captions -> render. Models load lazily on first use and are
reused; long steps report through a ``progress`` hook so each face shows them
its own way (tqdm in the terminal, widgets in the notebook).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memer.candidates import ImageCandidate

if TYPE_CHECKING:
    from PIL import Image

    from memer.captions.base import CaptionBatch

# progress(message, fraction): fraction in [0, 1], or None when unknown.
ProgressHook = Callable[[str, "float | None"], None]


@dataclass
class SourceStatus:
    """How one source answered a search."""

    name: str  # "commons", "wikipedia", "openimages"
    ok: bool
    count: int = 0  # candidates it gave
    message: str = ""  # why it failed, or a note


@dataclass
class SearchResult:
    query: str
    candidates: list[ImageCandidate]  # ranked best first, downloaded (path set), score set
    sources: list[SourceStatus]
    dropped: list[tuple[ImageCandidate, str]] = field(default_factory=list)  # (candidate, reason)


@dataclass
class Meme:
    image: "Image.Image"
    png: bytes  # with text metadata: caption, source, author, licence ...
    caption: str
    attribution: str
    filename: str  # a safe suggestion, e.g. "apple-pie-meme.png"


def search(
    query: str,
    *,
    sources: list[str] | None = None,
    top_k: int | None = None,
    progress: ProgressHook | None = None,
) -> SearchResult:
    """Find, download and CLIP-rank background pictures for ``query``."""
    raise NotImplementedError("wired up in the whole-pass issue")


def captions(
    candidate: ImageCandidate,
    *,
    theme: str,
    engine: str | None = None,
    style: str | None = None,
    n: int | None = None,
    model: str | None = None,
    api_key: str | None = None,
    progress: ProgressHook | None = None,
) -> "CaptionBatch":
    """Caption candidates for the picked picture."""
    raise NotImplementedError("wired up in the whole-pass issue")


def render(
    candidate: ImageCandidate,
    text: str,
    *,
    position: str = "bottom",
    font_size: int | None = None,
    keep_case: bool = False,
    attribution_strip: bool = False,
    engine: str = "",
) -> Meme:
    """Set ``text`` on the picked picture and return the finished meme."""
    raise NotImplementedError("wired up in the whole-pass issue")
