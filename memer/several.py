"""Several memes in one run: the next-best pictures each with its best usable caption, or one picture's top captions.

``memer make QUERY --count N -o DIR`` and :func:`make` write them into one folder, named so they sort
(``01-…png``, ``02-…png``), and never over a file already there: a name taken gets ``-2``, ``-3`` ….
A picture whose captions are all unsafe (or that cannot be captioned or drawn) is skipped with its reason,
and the next picture takes its place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from memer import pipeline
from memer.errors import CaptionError, MemerError, RenderError, SourceError
from memer.progress import Progress, silent

if TYPE_CHECKING:
    from memer.candidates import ImageCandidate
    from memer.captioning.base import Caption, CaptionBatch
    from memer.pipeline import Meme


SPARE_PICTURES = 3  # pictures tried beyond ``count`` when some give no usable caption (each try is a model call)


@dataclass
class Made:
    """One meme written: where, what, and from which picture and caption."""

    path: Path
    meme: Meme
    candidate: ImageCandidate
    caption: Caption
    batch: CaptionBatch


@dataclass
class Several:
    """What one run made, and which pictures were passed over and why (nothing skipped is hidden)."""

    made: list[Made] = field(default_factory=list)
    skipped: list[tuple[ImageCandidate, str]] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [item.path for item in self.made]


def make(
    query: str,
    *,
    count: int = 3,
    out_dir: str | Path,
    sources: list[str] | str | None = None,
    engine: str | None = None,
    style: str | None = None,
    position: str = "auto",
    allow_unsafe: bool = False,
    seed: int | str | None = None,
    progress: Progress | None = None,
    language: str | None = None,
) -> Several:
    """Search for ``query`` and write ``count`` memes into ``out_dir``: the best pictures in order, each with
    its best usable caption (the batch comes best first, :mod:`memer.caption_rank`)."""
    check_count(count)
    folder = out_folder(out_dir)
    result = pipeline.search(query, sources=sources, progress=progress)
    if not result.candidates:
        raise SourceError(
            f"No pictures found for {query!r}.", "Try other words.", code="source.none_found", fix="query"
        )
    return from_pictures(
        result.candidates,
        query,
        count=count,
        out_dir=folder,
        engine=engine,
        style=style,
        position=position,
        allow_unsafe=allow_unsafe,
        seed=seed,
        progress=progress,
        language=language,
    )


def from_pictures(
    candidates: Sequence[ImageCandidate],
    theme: str,
    *,
    count: int,
    out_dir: str | Path,
    caption: int = 1,
    engine: str | None = None,
    style: str | None = None,
    position: str = "auto",
    allow_unsafe: bool = False,
    seed: int | str | None = None,
    progress: Progress | None = None,
    language: str | None = None,
) -> Several:
    """``count`` memes from the pictures in order, each with its ``caption``-th usable caption (1 = the best).

    A picture with too few usable captions, or whose meme cannot be drawn, is skipped (and said why); at most
    ``count + SPARE_PICTURES`` pictures are captioned, so a run that cannot succeed stops soon.
    """
    check_count(count)
    folder, say, done = out_folder(out_dir), progress or silent, Several()
    for tried, candidate in enumerate(candidates):
        if len(done.made) == count or tried == count + SPARE_PICTURES:
            break
        say(f"Meme {len(done.made) + 1} of {count}: {candidate.title}", None)
        batch = pipeline.captions(
            candidate, theme=theme, engine=engine, style=style, progress=progress, seed=seed, language=language
        )
        usable = batch.usable(allow_unsafe=allow_unsafe)
        if len(usable) < caption:
            done.skipped.append((candidate, f"only {len(usable)} usable captions came back"))
            continue
        try:
            chosen = usable[caption - 1]
            done.made.append(_write(folder, len(done.made) + 1, count, candidate, chosen, batch, (position, language)))
        except RenderError as err:  # this caption cannot be set on this picture: the next picture instead
            done.skipped.append((candidate, err.message))
    return done


def from_captions(
    candidate: ImageCandidate,
    batch: CaptionBatch,
    *,
    count: int,
    out_dir: str | Path,
    allow_unsafe: bool = False,
    position: str = "auto",
    language: str | None = None,
) -> Several:
    """``count`` memes of one picture with its top usable captions, in the order shown."""
    check_count(count)
    folder, done = out_folder(out_dir), Several()
    usable = batch.usable(allow_unsafe=allow_unsafe)
    if not usable:
        raise CaptionError(
            "No usable caption came back.",
            "Run again for new captions, or pass --allow-unsafe.",
            code="caption.none_usable",
            fix="allow_unsafe",
        )
    for chosen in usable:
        if len(done.made) == count:
            break
        try:
            done.made.append(_write(folder, len(done.made) + 1, count, candidate, chosen, batch, (position, language)))
        except RenderError as err:
            done.skipped.append((candidate, f"{chosen.text[:40]!r}: {err.message}"))
    return done


def _write(
    folder: Path,
    number: int,
    count: int,
    candidate: ImageCandidate,
    caption: Caption,
    batch: CaptionBatch,
    look: tuple[str, str | None],
) -> Made:
    """One meme written; ``look`` is (position, language)."""
    from memer.rendering import save_png

    position, language = look
    meme = pipeline.render(
        candidate,
        caption.text,
        position=position,
        engine=batch.engine,
        description=batch.description,
        language=language,
    )
    path = save_png(free_path(folder, sortable_name(number, count, meme.filename)), meme.png)
    return Made(path, meme, candidate, caption, batch)


def sortable_name(number: int, count: int, filename: str) -> str:
    """``01-apple-pie-meme.png``: a number as wide as the largest, so the files sort as they were made."""
    return f"{number:0{max(2, len(str(count)))}d}-{filename}"


def free_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name-2.png``, ``name-3.png`` … when a file already holds the name (never overwritten)."""
    path = folder / name
    stem, suffix = path.stem, path.suffix
    number = 1
    while path.exists():
        number += 1
        path = folder / f"{stem}-{number}{suffix}"
    return path


def out_folder(out_dir: str | Path) -> Path:
    """The folder the memes go into, made if missing (its parent must exist): checked before minutes of work."""
    folder = Path(out_dir).expanduser()
    if folder.exists() and not folder.is_dir():
        raise RenderError(
            f"{folder} is a file, not a folder.",
            "Give a folder for several memes (-o DIR).",
            code="render.cannot_write",
            fix="output",
        )
    if not folder.exists():
        if not folder.parent.is_dir():
            raise RenderError(
                f"The folder {folder.parent} does not exist.",
                "Create it or write somewhere else.",
                code="render.cannot_write",
                fix="output",
            )
        folder.mkdir()
    return folder


def check_count(count: int) -> None:
    if count < 1:
        raise MemerError(
            f"cannot make {count} memes.",
            "Ask for at least one (--count 1 or more).",
            code="input.invalid",
            fix="count",
        )
