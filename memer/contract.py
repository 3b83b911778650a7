"""The pipeline as its faces see it: the functions the app (and the CLI) call, typed once.

:mod:`memer.pipeline` is the implementation (a module satisfies a Protocol);
the app takes any ``Pipeline``, so its tests drive it with a fake
(tests/fakes.py). The test suite assigns both to a ``Pipeline`` and mypy
checks it, so a fake (or a face) that drifts from the real signatures is a
type error, not a surprise in a notebook.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from memer.candidates import ImageCandidate
    from memer.captioning.base import CaptionBatch, PictureDescription
    from memer.pipeline import Meme, SearchResult
    from memer.progress import Progress
    from memer.rendering.boxes import TextBox


class Pipeline(Protocol):
    """search -> pick (or your own picture) -> describe / captions -> render."""

    def search(
        self,
        query: str,
        *,
        sources: list[str] | str | None = None,
        top_k: int | None = None,
        progress: Progress | None = None,
        download_dir: str | Path | None = None,
    ) -> SearchResult:
        """Found, downloaded and ranked pictures for ``query``, and how each source answered."""
        ...

    def captions(
        self,
        candidate: ImageCandidate,
        *,
        theme: str,
        engine: str | None = None,
        style: str | None = None,
        n: int | None = None,
        model: str | None = None,
        api_key: str | None = None,
        progress: Progress | None = None,
        seed: int | str | None = None,
        description: str | None = None,
        describe_first: bool | None = None,
        language: str | None = None,
    ) -> CaptionBatch:
        """Captions for the picture in use, each with its safety level."""
        ...

    def describe(
        self,
        candidate: ImageCandidate,
        *,
        engine: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        progress: Progress | None = None,
        language: str | None = None,
    ) -> PictureDescription:
        """One sentence that says what the picture shows."""
        ...

    def render(
        self,
        candidate: ImageCandidate,
        text: str,
        *,
        position: str = "auto",
        font_size: int | None = None,
        keep_case: bool = False,
        attribution_strip: bool = False,
        engine: str = "",
        text_color: str = "white",
        outline_color: str = "black",
        ai_label: bool | None = None,
        description: str = "",
        language: str | None = None,
        boxes: Sequence[TextBox] = (),
    ) -> Meme:
        """The finished meme: ``text`` set on the picture."""
        ...

    def own_picture(self, source: str | Path | bytes, *, name: str = "") -> ImageCandidate:
        """The user's own picture (a path, a link or an upload's bytes), checked like any download."""
        ...

    def uploaded_file(self, value: object) -> tuple[bytes, str]:
        """(content, file name) of the first file in a FileUpload's value, in either ipywidgets' shape."""
        ...
