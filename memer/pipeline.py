"""One pass of memer, shared by the CLI and the notebook app.

search -> pick -> captions -> render. Models load lazily on first use and are
reused; long steps report through a ``progress`` hook so each face shows them
its own way (tqdm in the terminal, widgets in the notebook).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from memer import settings
from memer.candidates import ImageCandidate, source_display_name
from memer.errors import ImageError, MemerError, ModelError, SourceError
from memer.progress import Progress, silent

# Your own picture, the pass's other way in (re-exported: the CLI and the app call pipeline.own_picture).
from memer.sources.own import OWN_CREDIT as OWN_CREDIT
from memer.sources.own import own_picture as own_picture
from memer.sources.own import uploaded_file as uploaded_file
from memer.text import collapse_whitespace, plain_title

if TYPE_CHECKING:
    from PIL import Image

    from memer.captioning.base import CaptionBatch, PictureDescription
    from memer.clip import ClipModel

# The pipeline's name for the one progress mechanism (memer.progress): what every face passes in.
ProgressHook = Progress


@dataclass
class SourceStatus:
    """How one source answered a search."""

    name: str  # "commons", "wikipedia", "openimages"
    ok: bool
    count: int = 0  # candidates it gave
    message: str = ""  # why it failed, or a note


class SearchFailed(ModelError):
    """CLIP could not be loaded; ``sources`` still says how each source answered, so no failure hides another."""

    def __init__(self, cause: ModelError, sources: list[SourceStatus]) -> None:
        super().__init__(cause.message, cause.hint)
        self.sources = sources


@dataclass
class DropReason:
    """Why some pictures a source found never reached the user (a failed download, an unreadable file)."""

    reason: str  # the kind, e.g. "HTTP 404", "took longer than 60 s", "refused address (loopback)"
    count: int


@dataclass
class SearchResult:
    query: str
    candidates: list[ImageCandidate]  # ranked best first, downloaded (path set), score set
    sources: list[SourceStatus]
    dropped: list[tuple[ImageCandidate, str]] = field(default_factory=list)  # (candidate, reason)
    drop_reasons: list[DropReason] = field(default_factory=list)  # failures only (not ranking cuts), most first


def drop_reasons(failed: Sequence[tuple[ImageCandidate, str]]) -> list[DropReason]:
    """Failures counted by kind: the reason up to its first ":" (the details differ file to file)."""
    from collections import Counter

    counts = Counter(reason.split(":", 1)[0].strip() or "unknown" for _, reason in failed)
    return [DropReason(reason, count) for reason, count in counts.most_common()]


@dataclass
class Meme:
    image: Image.Image
    caption: str
    attribution: str
    filename: str  # a safe suggestion, e.g. "apple-pie-meme.png"
    metadata: dict[str, str] = field(default_factory=dict)  # PNG text: caption, source, author, licence ...
    font_size: int | None = None  # the caption's size in pixels on the finished meme (what auto-fit chose)

    @cached_property
    def png(self) -> bytes:
        """The PNG with its metadata, encoded on first use: a live preview shows ``image`` and never pays for it."""
        from memer.rendering import png_bytes

        return png_bytes(self.image, self.metadata)


# Each source: (module, function). Imported when asked, so `import memer` stays light.
SEARCHERS = {
    "commons": ("memer.sources.commons", "search_commons"),
    "wikipedia": ("memer.sources.commons", "search_wikipedia"),
    "openimages": ("memer.sources.openimages", "search_openimages"),
    "generated": ("memer.sources.generated", "search_generated"),  # asked only when chosen
}


def search(
    query: str,
    *,
    sources: list[str] | str | None = None,
    top_k: int | None = None,
    progress: ProgressHook | None = None,
    download_dir: str | Path | None = None,
) -> SearchResult:
    """Find, download and CLIP-rank background pictures for ``query``.

    Every source is asked at once while CLIP loads; a source that fails
    (offline, rate-limited, no cache) is reported in ``sources`` and the
    others still count. Raises only when there is nothing to search for or
    CLIP cannot be loaded.
    """
    from memer import http, transport
    from memer.clip import load_clip

    query = collapse_whitespace(query)
    if not query:
        raise SourceError("The search topic is empty.", "Type what the meme is about, e.g. 'apple pie'.")
    names = source_names(sources)
    say = progress or silent
    say(f"Searching {', '.join(source_display_name(n) for n in names)} …", None)
    # Daemon threads, waited on in short steps: Ctrl-C stops the search at once instead of
    # waiting for the sources' requests and the model load to end.
    clip_future = _in_background(load_clip, progress=say)
    asked = {name: _in_background(_ask_source, name, query, clip_future, say) for name in names}
    try:
        answers = _gather_sources(asked, say)
        statuses = [status for status, _ in answers.values()]
        try:
            clip = _wait(clip_future)
        except ModelError as failure:  # says how to fix the model setting; the sources' answers go along
            raise SearchFailed(failure, statuses) from None
    except SearchFailed:
        raise
    except BaseException:
        transport.cancel_all()
        raise
    found = _interleave([candidates for _, candidates in answers.values()])

    on_disk = [candidate for candidate in found if candidate.path is not None]  # generated pictures
    report = http.download_images([c for c in found if c.path is None], download_dir, progress=say)
    ready = on_disk + report.ok
    ranked, dropped = embed_and_rank(clip, query, ready, top_k=top_k or settings.TOP_K, progress=say)
    say(f"Found {len(ranked)} pictures", 1.0)
    unreadable = [(c, reason) for c, reason in dropped if reason.startswith("unreadable image")]
    return SearchResult(query, ranked, statuses, report.failed + dropped, drop_reasons(report.failed + unreadable))


def _in_background(function, *args, **kwargs) -> Future:
    """``function`` run in a daemon thread: nothing waits for it when the user stops memer."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(function(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the waiting thread
            future.set_exception(err)

    threading.Thread(target=run, name="memer-search", daemon=True).start()
    return future


def _wait(future: Future):
    """The future's result, waited for in short steps so Ctrl-C is heard at once."""
    while not future.done():
        wait_for([future], timeout=0.1)
    return future.result()


def embed_and_rank(
    clip: ClipModel,
    query: str,
    candidates: Sequence[ImageCandidate],
    *,
    top_k: int | None = None,
    dedupe_threshold: float | None = None,
    progress: ProgressHook | None = None,
) -> tuple[list[ImageCandidate], list[tuple[ImageCandidate, str]]]:
    """Embed downloaded candidates (``candidate.path`` set) and rank them against the query (:func:`memer.rank.rank`).

    A candidate with no file, or one that is not a readable image, is dropped
    with the reason; it never stops the others.
    """
    import numpy as np

    from memer.images import open_image
    from memer.rank import rank

    dropped: list[tuple[ImageCandidate, str]] = []
    usable: list[tuple[ImageCandidate, Path]] = []
    for candidate in candidates:
        if candidate.path is None:
            dropped.append((candidate, "not downloaded"))
        else:
            usable.append((candidate, candidate.path))

    embedded: list[ImageCandidate] = []
    chunks: list[np.ndarray] = []
    size = max(1, settings.CLIP_BATCH_SIZE)
    for start in range(0, len(usable), size):
        if progress:
            progress("Comparing pictures with the query", start / len(usable))
        images, batch = [], []
        for candidate, path in usable[start : start + size]:
            try:
                images.append(open_image(path))
                batch.append(candidate)
            except ImageError as exc:
                dropped.append((candidate, f"unreadable image: {exc}"))
        if images:
            chunks.append(clip.encode_images(images))
            embedded.extend(batch)
        for image in images:
            image.close()
    if progress:
        progress("Comparing pictures with the query", 1.0)

    vectors = np.concatenate(chunks) if chunks else np.zeros((0, clip.dim), dtype=np.float32)
    ranked, duplicates = rank(
        clip.encode_query(query), embedded, vectors, top_k=top_k, dedupe_threshold=dedupe_threshold
    )
    return ranked, dropped + duplicates


def source_names(sources: list[str] | str | None) -> list[str]:
    """The sources to ask, checked: ``None`` means settings.SOURCES; a string may be comma-separated."""
    if sources is None:
        sources = settings.SOURCES
    if isinstance(sources, str):
        sources = sources.split(",")
    names = list(dict.fromkeys(name.strip().lower() for name in sources if name.strip()))
    unknown = [name for name in names if name not in SEARCHERS]
    if unknown or not names:
        raise SourceError(
            f"Unknown image source {', '.join(map(repr, unknown)) or '(none given)'}.",
            f"Choose from: {', '.join(SEARCHERS)}.",
        )
    return names


def _ask_source(
    name: str, query: str, clip_future, say: ProgressHook = silent
) -> tuple[SourceStatus, list[ImageCandidate]]:
    """One source's candidates, or its failure in words; never raises."""
    import importlib

    module_name, function_name = SEARCHERS[name]
    try:
        searcher = getattr(importlib.import_module(module_name), function_name)
        if name == "openimages":  # searches by the query's CLIP embedding
            if clip_future.exception() is not None:
                return SourceStatus(name, False, 0, "needs the CLIP model, which could not be loaded"), []
            candidates = searcher(query, clip=clip_future.result())
        elif name == "generated":  # slow: it reports as it draws
            candidates = searcher(query, progress=say)
        else:
            candidates = searcher(query)
    except MemerError as err:
        return SourceStatus(name, False, 0, str(err)), []
    except Exception as err:  # noqa: BLE001 - a bug or an unforeseen failure in one source must not sink the search
        return SourceStatus(name, False, 0, f"unexpected error: {type(err).__name__}: {err}"), []
    message = "" if candidates else "no pictures for this topic"
    return SourceStatus(name, True, len(candidates), message), candidates


def _gather_sources(asked: dict, say: ProgressHook) -> dict[str, tuple[SourceStatus, list[ImageCandidate]]]:
    """Each source's answer, in the order asked; reports each one as it comes, and which are still awaited.

    Waited for in short steps, like :func:`_wait`, so Ctrl-C is heard at once.
    """
    answers: dict[str, tuple[SourceStatus, list[ImageCandidate]]] = {}
    while len(answers) < len(asked):
        for name, future in asked.items():
            if name in answers or not future.done():
                continue
            answers[name] = future.result()
            status = answers[name][0]
            said = f"{status.count} found" if status.ok else "failed"
            waiting = [source_display_name(n) for n in asked if n not in answers]
            tail = f"; waiting for {', '.join(waiting)}" if waiting else ""
            say(f"{source_display_name(name)}: {said}{tail}", None)
        pending = [future for name, future in asked.items() if name not in answers]
        if pending:
            wait_for(pending, timeout=0.1, return_when=FIRST_COMPLETED)
    return {name: answers[name] for name in asked}


def _interleave(lists: list[list[ImageCandidate]]) -> list[ImageCandidate]:
    """Round-robin over the sources' lists (each best first), dropping repeats of the same address."""
    seen: set[str] = set()
    merged = []
    for row in range(max((len(items) for items in lists), default=0)):
        for items in lists:
            if row < len(items) and items[row].image_url not in seen:
                seen.add(items[row].image_url)
                merged.append(items[row])
    return merged


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
    seed: int | str | None = None,
    description: str | None = None,
) -> CaptionBatch:
    """Caption candidates for the picked picture, each with a safety level.

    The picture itself goes along (OpenAI and a local vision-language model look
    at a small copy), with its description in words: ``description``, else the
    source's, else (settings.DESCRIBE) one the model writes, else the title.
    ``batch.description`` is the one used, for the PNG's alt text.
    """
    from memer.captioning import choose_engine, generate_captions

    say = progress or silent
    chosen = choose_engine(engine, api_key)
    picture = _picture(candidate)
    words = description if description is not None else candidate.description
    if not (words or "").strip() and settings.DESCRIBE:
        words = describe(candidate, engine=chosen, model=model, api_key=api_key, progress=say).text
    say(f"Writing captions ({chosen} engine) …", None)
    batch = generate_captions(
        theme,
        description=words or plain_title(candidate.title),
        image=picture,
        engine=chosen,
        model=model,
        style=style,
        n=n,
        api_key=api_key,
        progress=say,
        seed=seed,
    )
    batch.description = (words or "").strip()
    say(f"{len(batch.captions)} captions ready", 1.0)
    return batch


def describe(
    candidate: ImageCandidate,
    *,
    engine: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    progress: ProgressHook | None = None,
) -> PictureDescription:
    """One sentence that says what the picked picture shows, by the caption engine's model (empty when it cannot see).

    Remembered per picture file and model, so the app can show it and the captions reuse it without a second call.
    """
    from memer.captioning import choose_engine, describe_picture

    chosen = choose_engine(engine, api_key)
    picture = _picture(candidate)
    key = (str(candidate.path), chosen, model or "")
    if key not in _descriptions:
        (progress or silent)("Describing the picture …", None)
        _descriptions[key] = describe_picture(picture, engine=chosen, model=model, api_key=api_key, progress=progress)
    return _descriptions[key]


_descriptions: dict[tuple[str, str, str], PictureDescription] = {}


def render(
    candidate: ImageCandidate,
    text: str,
    *,
    position: str = "bottom",
    font_size: int | None = None,
    keep_case: bool = False,
    attribution_strip: bool = False,
    engine: str = "",
    text_color: str = "white",
    outline_color: str = "black",
    ai_label: bool | None = None,
    description: str = "",
) -> Meme:
    """Set ``text`` on the picked picture and return the finished meme.

    A generated picture gets a small "AI-generated" tag when ``ai_label`` (default settings.AI_LABEL).
    """
    from memer import rendering

    picture = _picture(candidate)
    strip = attribution_strip or settings.ATTRIBUTION_STRIP
    options = rendering.RenderOptions(
        position=position,
        font_size=font_size,
        keep_case=keep_case,
        attribution=candidate.attribution() if strip else None,
        text_color=text_color,
        outline_color=outline_color,
    )
    image = rendering.render_meme(picture, text, options)
    if candidate.ai_generated and (settings.AI_LABEL if ai_label is None else ai_label):
        image = rendering.add_ai_label(image)
    metadata = rendering.meme_metadata(candidate, text, engine, description=description)
    placed = rendering.plan_meme(*image.size, text, options)  # measured again: the size a face shows
    size = max((placement.layout.size for placement in placed), default=None)
    return Meme(image, text, candidate.attribution(), meme_filename(candidate.title or text), metadata, size)


def meme_filename(name: str) -> str:
    """A file name anyone can save: lower-case ASCII words joined by dashes (at most 8 of 24 letters each,
    so a title of thousands of characters still gives a short name)."""
    stem = unicodedata.normalize("NFKD", plain_title(name[:1000])).encode("ascii", "ignore").decode()
    words = [word[:24] for word in re.findall(r"[a-z0-9]+", stem.lower())[:8]]
    return "-".join(words + ["meme"]) + ".png"


def _picture(candidate: ImageCandidate) -> Image.Image:
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
def _open_cached(path: str, mtime_ns: int) -> Image.Image:
    """Re-rendering the same picture (live preview) decodes it once."""
    from memer.images import open_image

    return open_image(path)
