"""The picture sources, as registered parts: each is a :class:`Source` in one registry.

Adding a source is one new module (its search function) plus one ``register(...)``
line below; the pipeline, the CLI's ``--sources`` help, the app and every
display name (``ImageCandidate.source_name``) read the registry. The source's
module is imported only when it is asked, so ``import memer.sources`` stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from memer.candidates import name_source
from memer.errors import SourceError
from memer.progress import Progress, silent

if TYPE_CHECKING:
    from memer.candidates import ImageCandidate


@dataclass
class SearchContext:
    """What a source may need besides the query: CLIP (waited for on demand) and the progress hook."""

    clip: Callable[[], Any]  # the loaded CLIP model; raises SourceError when it could not be loaded
    progress: Progress = silent


class Source(Protocol):
    """A place pictures come from."""

    @property
    def name(self) -> str:
        """What --sources and MEMER_SOURCES say, e.g. "commons"."""
        ...

    @property
    def display_name(self) -> str:
        """How people read it, e.g. "Wikimedia Commons"."""
        ...

    @property
    def searchable(self) -> bool:
        """False for a way in that is not a search (your own picture)."""
        ...

    def search(self, query: str, context: SearchContext) -> list[ImageCandidate]:
        """Candidates for ``query``, best first; raises a MemerError when the source fails."""
        ...


@dataclass(frozen=True)
class LazySource:
    """A source whose search function lives in ``module``, imported on first search."""

    name: str
    display_name: str
    module: str = ""
    function: str = ""
    needs_clip: bool = False  # searches by the query's CLIP embedding
    reports_progress: bool = False  # slow: reports as it works
    searchable: bool = True

    def search(self, query: str, context: SearchContext) -> list[ImageCandidate]:
        searcher = getattr(importlib.import_module(self.module), self.function)
        options: dict[str, Any] = {}
        if self.needs_clip:
            options["clip"] = context.clip()
        if self.reports_progress:
            options["progress"] = context.progress
        return searcher(query, **options)


_SOURCES: dict[str, Source] = {}


def register(source: Source) -> Source:
    """Add ``source`` to the registry (its display name becomes the name candidates credit)."""
    _SOURCES[source.name] = source
    name_source(source.name, source.display_name)
    return source


def get_source(name: str) -> Source:
    """The registered source called ``name``; SourceError naming the choices when there is none."""
    try:
        return _SOURCES[name]
    except KeyError:
        raise SourceError(
            f"Unknown image source {name!r}.",
            f"Choose from: {', '.join(source_choices())}.",
            code="source.unknown",
            fix="sources",
        ) from None


def source_choices() -> list[str]:
    """The names a search may ask, in registration order."""
    return [name for name, source in _SOURCES.items() if source.searchable]


register(LazySource("commons", "Wikimedia Commons", "memer.sources.commons", "search_commons"))
register(LazySource("wikipedia", "Wikipedia", "memer.sources.commons", "search_wikipedia"))
register(LazySource("openimages", "Open Images", "memer.sources.openimages", "search_openimages", needs_clip=True))
register(LazySource("generated", "Generated", "memer.sources.generated", "search_generated", reports_progress=True))
register(LazySource("own", "Your own picture", searchable=False))  # memer.sources.own: not a search
