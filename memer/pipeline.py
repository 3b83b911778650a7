"""One pass of memer, shared by the CLI and the notebook app.

search -> pick -> captions -> render. Models load lazily on first use and are
reused; long steps report through a ``progress`` hook so each face shows them
its own way (tqdm in the terminal, widgets in the notebook).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from memer import settings
from memer.candidates import ImageCandidate
from memer.errors import ImageError

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
    from memer import render as rendering

    picture = _picture(candidate)
    strip = attribution_strip or settings.ATTRIBUTION_STRIP
    options = rendering.RenderOptions(
        position=position,
        font_size=font_size,
        keep_case=keep_case,
        attribution=candidate.attribution() if strip else None,
    )
    image = rendering.render_meme(picture, text, options)
    png = rendering.png_bytes(image, rendering.meme_metadata(candidate, text, engine))
    return Meme(image, png, text, candidate.attribution(), meme_filename(candidate.title or text))


def meme_filename(name: str) -> str:
    """A file name anyone can save: lower-case ASCII words joined by dashes."""
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = re.sub(r"\.(jpe?g|png|gif|webp|tiff?|bmp)$", "", ascii_name.removeprefix("File:"), flags=re.I)
    words = re.findall(r"[a-z0-9]+", stem.lower())[:8]
    return "-".join(words + ["meme"]) + ".png"


def _picture(candidate: ImageCandidate) -> "Image.Image":
    """The candidate's picture, downloading it first if the search did not."""
    from memer import http

    path = candidate.path
    if path is None or not Path(path).is_file():
        try:
            path = candidate.path = http.download_image(candidate.image_url)
        except Exception as err:  # DownloadFailure or a requests error: say which in words
            raise ImageError(
                f"Could not download the picture {candidate.title!r}: {http.describe_failure(err)}.",
                "Pick another picture or search again.",
            ) from err
    return _open_cached(str(path), Path(path).stat().st_mtime_ns).copy()


@lru_cache(maxsize=4)
def _open_cached(path: str, mtime_ns: int) -> "Image.Image":
    """Re-rendering the same picture (live preview) decodes it once."""
    from memer.images import open_image

    return open_image(path)
