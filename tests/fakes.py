"""A fake of memer.pipeline for the app's tests: real dataclasses, real image files, no models.

It implements memer.contract.Pipeline (mypy checks it: tests/test_contract.py),
records each call, reports progress like the real one, and can be told to fail.
Search, captions and describe are made up; render, own_picture and
uploaded_file are the real ones. The app's
tests (pytest, the browser test's notebook) drive memer.ui.App with it to reach
states the stood-in world does not (unsafe captions, failures at each step).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from memer import pipeline
from memer.candidates import ImageCandidate
from memer.captioning.base import Caption, CaptionBatch, PictureDescription
from memer.captioning.safety import language_note
from memer.language import resolve_language
from memer.pipeline import Meme, SearchResult, SourceStatus
from memer.progress import Progress
from memer.rendering.boxes import TextBox

COLOURS = [
    (230, 126, 34),
    (52, 152, 219),
    (46, 204, 113),
    (155, 89, 182),
    (241, 196, 15),
    (231, 76, 60),
    (26, 188, 156),
    (52, 73, 94),
    (243, 156, 18),
    (127, 140, 141),
]
LICENSES = [
    ("CC BY-SA 4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    ("CC0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    ("CC BY 2.0", "https://creativecommons.org/licenses/by/2.0/"),
]
CAPTION_TEXTS = [
    "When the pie is done but the oven timer says five more minutes",
    "Grandma's secret ingredient is butter. More butter.",
    "Me pretending the second slice is for a friend",
    "This pie has seen things",
    "Diet starts tomorrow, apparently every day",
    "Warm pie, cold ice cream, zero regrets",
    "Nobody: / Me at 2 am: one more slice",
    "Apple pie: the only acceptable way to eat fruit",
    "Crust goals",
    "I would fight for this pie",
]
LEVELS = [0, 0, 1, 0, 0, 0, 2, 0, 1, 0]


def make_picture(path: Path, colour: tuple[int, int, int], label: str, size: tuple[int, int] = (480, 360)) -> Path:
    """A small real JPEG: a coloured field with a disc and a label, so thumbnails differ visibly."""
    img = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w * 0.3, h * 0.2, w * 0.7, h * 0.8), fill=tuple(255 - c for c in colour))
    draw.text((12, 12), label, fill=(255, 255, 255))
    img.save(path, "JPEG", quality=85)
    return path


class FakePipeline:
    """Stands in for memer.pipeline; ``fail`` maps a step name to the exception it raises."""

    def __init__(
        self,
        folder: Path | str | None = None,
        n_candidates: int = 10,
        failed_source: bool = True,
        log: Path | str | None = None,
        search_delay: float = 0.0,
    ) -> None:
        self.log = Path(log) if log else None  # each call as a JSON line (the browser test reads it)
        self.search_delay = search_delay  # seconds a search takes (to press Enter again meanwhile)
        self.folder = Path(folder or tempfile.mkdtemp(prefix="memer-fake-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.n_candidates = n_candidates
        self.failed_source = failed_source
        self.calls: list[tuple[str, tuple, dict]] = []
        self.fail: dict[str, BaseException] = {}
        self.levels = list(LEVELS)
        # Set to one score per caption to answer as a ranked batch does (memer.caption_rank); None: as written.
        self.scores: list[float] | None = None
        self.on_call: Callable[[str], Any] | None = (
            None  # called as on_call(step) while a step runs (to look at the app mid-work)
        )

    def _enter(self, step: str, args: tuple, kwargs: dict) -> None:
        self.calls.append((step, args, kwargs))
        if self.log is not None:
            import json

            shown = [a if isinstance(a, str) else getattr(a, "title", repr(a)) for a in args]
            with self.log.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"step": step, "args": shown}) + "\n")
        if step == "search" and self.search_delay:
            import time

            time.sleep(self.search_delay)
        if self.on_call is not None:
            self.on_call(step)
        if step in self.fail:
            raise self.fail[step]

    def search(
        self,
        query: str,
        *,
        sources: list[str] | str | None = None,
        top_k: int | None = None,
        progress: Progress | None = None,
        download_dir: str | Path | None = None,
    ) -> SearchResult:
        self._enter("search", (query,), {"sources": sources, "top_k": top_k, "progress": progress})
        if progress:
            progress("Asking Wikimedia Commons…", 0.1)
            progress("Ranking pictures with CLIP…", None)
        candidates = []
        for i in range(self.n_candidates):
            path = make_picture(self.folder / f"{i}.jpg", COLOURS[i % len(COLOURS)], f"{query} {i + 1}")
            licence, licence_url = LICENSES[i % len(LICENSES)]
            candidates.append(
                ImageCandidate(
                    source="commons" if i % 2 == 0 else "wikipedia",
                    title=f"File:{query.title()} {i + 1}.jpg",
                    image_url=f"https://upload.example/{i}.jpg",
                    description=f"A picture of {query}, number {i + 1}",
                    author=f"Author <{i}>",  # angle brackets: the app must escape them
                    license=licence,
                    license_url=licence_url,
                    path=path,
                    score=0.3 - i * 0.01,
                )
            )
        if sources and "generated" in sources and candidates:
            candidates[0].ai_generated = True
            candidates[0].restrictions = "Drawn by a model: non-commercial use only."
        statuses = [
            SourceStatus("commons", True, (self.n_candidates + 1) // 2),
            SourceStatus("wikipedia", True, self.n_candidates // 2),
        ]
        if self.failed_source:
            statuses.append(
                SourceStatus(
                    "openimages", False, 0, "cache not found; build it with `memer cache build`", "cache.missing"
                )
            )
        if progress:
            progress("Done", 1.0)
        return SearchResult(query=query, candidates=candidates, sources=statuses)

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
        self._enter(
            "captions",
            (candidate,),
            {
                "theme": theme,
                "engine": engine,
                "style": style,
                "n": n,
                "model": model,
                "api_key": api_key,
                "progress": progress,
                "seed": seed,
                "language": language,
            },
        )
        chosen_language = resolve_language(language)  # the real check: a bad language fails as in the product
        if progress:
            progress("Writing captions…", 0.5)
        engine = engine or "local"
        captions = [
            Caption(text, engine, "fake-model", level, ["violence"] if level else [])
            for text, level in zip(CAPTION_TEXTS, self.levels)
        ]
        check = "OpenAI moderation (omni-moderation-latest)" if engine == "openai" else "offline word list (weaker)"
        check = language_note(check, chosen_language, multilingual=engine == "openai")
        batch = CaptionBatch(captions, engine, "fake-model", check, note="")
        batch.description = f"a picture of {theme}"
        if self.scores is not None:
            for caption, score in zip(captions, self.scores):
                caption.score = score
            batch.ranked_by = "CLIP fake-clip fit with the picture and topic"
        return batch

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
        self._enter(
            "describe", (candidate,), {"engine": engine, "model": model, "api_key": api_key, "language": language}
        )
        return PictureDescription(f"a picture titled {candidate.title}", engine or "local", "fake-model")

    def own_picture(self, source: str | Path | bytes, *, name: str = "") -> ImageCandidate:
        """The real one (memer.pipeline.own_picture): your own picture is checked as in the product."""
        shown = f"<{len(source)} bytes>" if isinstance(source, bytes) else str(source)
        self._enter("own_picture", (shown,), {"name": name})
        return pipeline.own_picture(source, name=name)

    def uploaded_file(self, value: object) -> tuple[bytes, str]:
        return pipeline.uploaded_file(value)

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
        """The real renderer (memer.pipeline.render): only search and captions are faked."""
        self._enter(
            "render", (candidate, text), {k: v for k, v in locals().items() if k not in ("self", "candidate", "text")}
        )
        return pipeline.render(
            candidate,
            text,
            position=position,
            font_size=font_size,
            keep_case=keep_case,
            attribution_strip=attribution_strip,
            engine=engine,
            text_color=text_color,
            outline_color=outline_color,
            ai_label=ai_label,
            description=description,
            language=language,
            boxes=boxes,
        )

    def steps(self) -> list[str]:
        return [step for step, _, _ in self.calls]
