"""One pass of memer, shared by the CLI and the notebook app.

search -> pick -> captions -> render. Models load lazily on first use and are
reused; long steps report through a ``progress`` hook so each face shows them
its own way (tqdm in the terminal, widgets in the notebook).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from memer import settings
from memer.candidates import ImageCandidate, source_display_name
from memer.described import described as _described
from memer.described import should_describe as should_describe  # the one rule (re-exported: the CLI calls it)
from memer.errors import ImageError, MemerError, ModelError, SourceError
from memer.language import resolve_language
from memer.progress import Progress, silent

# The finished meme (re-exported: the faces and the contract name pipeline.Meme).
from memer.rendering.meme import Meme as Meme

# Your own picture, the pass's other way in (re-exported: the CLI and the app call pipeline.own_picture).
from memer.sources.own import OWN_CREDIT as OWN_CREDIT
from memer.sources.own import own_picture as own_picture
from memer.sources.own import uploaded_file as uploaded_file
from memer.text import collapse_whitespace, file_words, plain_title

if TYPE_CHECKING:
    from PIL import Image

    from memer.captioning.base import CaptionBatch, PictureDescription
    from memer.clip import ClipModel
    from memer.rendering.boxes import TextBox

# The pipeline's name for the one progress mechanism (memer.progress): what every face passes in.
ProgressHook = Progress


@dataclass
class SourceStatus:
    """How one source answered a search."""

    name: str  # "commons", "wikipedia", "openimages"
    ok: bool
    count: int = 0  # candidates it gave
    message: str = ""  # why it failed, or a note
    code: str = ""  # the failure's MemerError code (e.g. "cache.missing"), "" when it did not fail that way


class SearchFailed(ModelError):
    """CLIP could not be loaded; ``sources`` still says how each source answered, so no failure hides another.

    Its code is ``search.clip_failed``; ``cause`` is the loader's own error (its code says why, its fix what to set).
    """

    code = "search.clip_failed"

    def __init__(self, cause: ModelError, sources: list[SourceStatus]) -> None:
        super().__init__(cause.message, cause.hint, fix=cause.fix)
        self.cause = cause
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

    @property
    def all_failed(self) -> bool:
        """Every source asked failed, so nothing was searched (not the same as "searched, found nothing")."""
        return bool(self.sources) and not any(status.ok for status in self.sources)

    @property
    def failed_sources(self) -> list[SourceStatus]:
        return [status for status in self.sources if not status.ok]


def drop_reasons(failed: Sequence[tuple[ImageCandidate, str]]) -> list[DropReason]:
    """Failures counted by kind: the reason up to its first ":" (the details differ file to file)."""
    from collections import Counter

    counts = Counter(reason.split(":", 1)[0].strip() or "unknown" for _, reason in failed)
    return [DropReason(reason, count) for reason, count in counts.most_common()]


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
        raise SourceError(
            "The search topic is empty.",
            "Type what the meme is about, e.g. 'apple pie'.",
            code="source.empty_query",
            fix="query",
        )
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
    """The sources to ask, checked against the registry: ``None`` means settings.SOURCES; a string may be comma-separated."""
    from memer.sources import source_choices

    if sources is None:
        sources = settings.SOURCES
    if isinstance(sources, str):
        sources = sources.split(",")
    names = list(dict.fromkeys(name.strip().lower() for name in sources if name.strip()))
    choices = source_choices()
    unknown = [name for name in names if name not in choices]
    if unknown or not names:
        raise SourceError(
            f"Unknown image source {', '.join(map(repr, unknown)) or '(none given)'}.",
            f"Choose from: {', '.join(choices)}.",
            code="source.unknown",
            fix="sources",
        )
    return names


def _ask_source(
    name: str, query: str, clip_future: Future, say: ProgressHook = silent
) -> tuple[SourceStatus, list[ImageCandidate]]:
    """One source's candidates, or its failure in words; never raises."""
    from memer.sources import SearchContext, get_source

    def clip() -> ClipModel:
        if clip_future.exception() is not None:
            raise SourceError("needs the CLIP model, which could not be loaded", code="search.clip_failed")
        return clip_future.result()

    try:
        candidates = get_source(name).search(query, SearchContext(clip=clip, progress=say))
    except MemerError as err:
        return SourceStatus(name, False, 0, str(err), err.code), []
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
    describe_first: bool | None = None,
    language: str | None = None,
) -> CaptionBatch:
    """Caption candidates for the picked picture, each with a safety level, best first (:mod:`memer.caption_rank`).

    The picture itself goes along (OpenAI and a local vision-language model look
    at a small copy), with its description in words: ``description``, else the
    source's, else (:func:`should_describe`: ``describe_first``, default settings.DESCRIBE) one the model
    writes, else the title. ``batch.description`` is the one used, for the PNG's alt text.
    The engine is chosen once here and used for both, in ``language`` (memer.language.resolve_language).
    """
    from memer.caption_rank import rank_batch
    from memer.captioning import choose_engine, generate_captions, get_engine, judge_humour

    say = progress or silent
    chosen_language = resolve_language(language)  # a bad language is said before any model loads
    chosen = get_engine(choose_engine(engine, api_key))
    picture = _picture(candidate)
    words = description if description is not None else candidate.description
    if should_describe(words, describe_first):
        words = _described(candidate, picture, chosen, model, api_key, say, chosen_language).text
    say(f"Writing captions ({chosen.name} engine) …", None)
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
        language=chosen_language,
    )
    batch.description = (words or "").strip()
    rank_batch(batch, picture, theme, progress=say)  # best first by CLIP fit (settings.RANK_CAPTIONS)
    judge_humour(batch, picture, model=model, progress=say)  # then the top few by humour (settings.HUMOUR_JUDGE)
    say(f"{len(batch.captions)} captions ready", 1.0)
    return batch


def describe(
    candidate: ImageCandidate,
    *,
    engine: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    progress: ProgressHook | None = None,
    language: str | None = None,
) -> PictureDescription:
    """One sentence that says what the picked picture shows, by the caption engine's model (empty when it cannot see).

    Remembered per picture file, model and language, so the app can show it and the captions reuse it at once.
    """
    from memer.captioning import choose_engine, get_engine

    chosen, chosen_language = get_engine(choose_engine(engine, api_key)), resolve_language(language)
    return _described(candidate, _picture(candidate), chosen, model, api_key, progress, chosen_language)


def render(
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
    """Set ``text`` on the picked picture (at ``position``: memer.rendering.POSITIONS; ``Meme.position_used`` says
    where auto put it), with free text ``boxes`` (then ``text`` may be empty); the finished meme. A generated
    picture gets a small "AI-generated" tag when ``ai_label`` (default settings.AI_LABEL); ``language`` (default
    settings.LANGUAGE) sets the letter case's rules (memer.rendering.case)."""
    from memer import rendering
    from memer.rendering.compose import position_used, render_placed
    from memer.rendering.coverage import caption_warnings

    path = _picture_file(candidate)
    strip = attribution_strip or settings.ATTRIBUTION_STRIP
    options = rendering.RenderOptions(
        position=position,
        font_size=font_size,
        keep_case=keep_case,
        attribution=candidate.attribution() if strip else None,
        text_color=text_color,
        outline_color=outline_color,
        language=language,
        boxes=tuple(boxes),
    )
    label = candidate.ai_generated and (settings.AI_LABEL if ai_label is None else ai_label)
    words = text.strip() or " / ".join(box.text for box in boxes)  # the caption, else the boxes' texts
    if text.strip() or not boxes:
        rendering.check_caption(text)  # before an animation's frames are decoded
    animation = None
    if moving := rendering.animation.cached_animation(path):  # every frame captioned, planned on the first
        captioned = rendering.render_animation(moving, text, options, ai_label=label)
        animation, image, placed = captioned.animation, captioned.frames[0], captioned.placements
    else:
        picture = _open_cached(str(path), path.stat().st_mtime_ns, settings.OUTPUT_SIZE).copy()
        image, placed = render_placed(picture, text, options)  # laid out once: the size a face shows comes along
        if label:
            image = rendering.add_ai_label(image)
    metadata = rendering.meme_metadata(candidate, words, engine, description=description)
    size, used = max((p.layout.size for p in placed if p.where != "box"), default=None), position_used(placed)
    name = meme_filename(candidate.title or words).removesuffix(".png") + f".{animation.kind if animation else 'png'}"
    warnings = caption_warnings(words, keep_case)
    return Meme(image, words, candidate.attribution(), name, metadata, size, warnings, used, animation)


def meme_filename(name: str) -> str:
    """A file name anyone can save: the title's words by the one rule (:func:`memer.text.file_words`) + "meme"."""
    return "-".join(part for part in (file_words(plain_title(name[:1000])), "meme") if part) + ".png"


def _picture(candidate: ImageCandidate) -> Image.Image:
    """The candidate's picture (an animation's first frame) at the meme's size, downloaded first if need be."""
    path = _picture_file(candidate)
    return _open_cached(str(path), path.stat().st_mtime_ns, settings.OUTPUT_SIZE).copy()


def _picture_file(candidate: ImageCandidate) -> Path:
    """The candidate's picture file, downloaded first if the search did not."""
    from memer import http

    path = candidate.path
    if path is None or not Path(path).is_file():
        try:
            path = candidate.path = http.download_image(candidate.image_url)
        except Exception as err:  # DownloadFailure or a requests error: say which in words
            raise ImageError(
                f"Could not download the picture {candidate.title!r}: {http.describe_failure(err)}.",
                "Pick another picture or search again.",
                code="image.download_failed",
                fix="image",
            ) from err
    return Path(path)


@lru_cache(maxsize=4)
def _open_cached(path: str, mtime_ns: int, longest: int) -> Image.Image:
    """Re-rendering the same picture (live preview) decodes and scales it once, and decodes only what a meme needs."""
    from memer.images import open_image
    from memer.rendering.draw import fit_picture

    return fit_picture(open_image(path, max_side=longest), longest)
