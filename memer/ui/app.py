"""The meme maker as widgets: the steps' panels, and what passes between them.

Find (:mod:`~memer.ui.search_panel`) -> pick (:mod:`~memer.ui.gallery`) ->
captions (:mod:`~memer.ui.captions_panel`) -> edit (:mod:`~memer.ui.editor`)
-> preview and download (:mod:`~memer.ui.preview`). Long steps run in the
background (:mod:`~memer.ui.jobs`), so the app answers while they work; what
the user made is kept per picture (:mod:`~memer.ui.work`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from memer import settings
from memer.ui.cache_panel import CachePanel
from memer.ui.captions_panel import CaptionsPanel
from memer.ui.compat import show
from memer.ui.editor import Editor
from memer.ui.gallery import Gallery, picture_key
from memer.ui.jobs import Debounced, Runner
from memer.ui.own_panel import OwnPicturePanel
from memer.ui.preview import Preview
from memer.ui.search_panel import SearchPanel
from memer.ui.style import CSS, heading
from memer.ui.work import PictureWork, WorkStore

if TYPE_CHECKING:
    from memer.candidates import ImageCandidate
    from memer.contract import Pipeline
    from memer.pipeline import SearchResult


class App:
    """``pipeline`` is :mod:`memer.pipeline` unless given (tests pass a fake)."""

    def __init__(self, pipeline: Pipeline | None = None, cache_setup: Any = None) -> None:
        import ipywidgets as w

        if pipeline is None:
            from memer import pipeline as pipeline_module

            pipeline = pipeline_module
        self.pipeline: Pipeline = pipeline
        self.runner = Runner()
        self.lock = threading.RLock()
        self.result: SearchResult | None = None  # the last search's answer
        self.candidate: ImageCandidate | None = None  # the picture in use (stays while a new search runs)
        self.theme = ""  # the query the picture was found for
        self.work = WorkStore()

        self.search = SearchPanel(pipeline, self.runner, self._found)
        self.own = OwnPicturePanel(pipeline, self.runner, self.use_picture)
        self.cache = CachePanel(self.runner, cache_setup)
        self.gallery = Gallery(self.pick)
        self.captions = CaptionsPanel(pipeline, self.runner, self._current, self._use_caption)
        self.editor = Editor(self._edited)
        self.preview = Preview(pipeline, self.runner)
        self._render_later = Debounced(
            self.runner, self._render_now, lambda: settings.UI_PREVIEW_DELAY, name="memer-ui-preview"
        )
        self.captions.language.observe(lambda _: self._render_later(), names="value")  # its letter case

        column = {"flex": "1 1 320px", "min_width": "0", "width": "auto"}
        self.pick_section = w.VBox([w.HTML(value=heading("2. Pick a picture")), self.gallery.widget])
        self.caption_section = w.VBox(
            [
                w.HTML(value=heading("3. Captions")),
                self.captions.widget,
                w.HTML(value=heading("4. Edit")),
                self.editor.widget,
            ],
            layout=w.Layout(padding="0 12px 0 0", **column),
        )
        self.meme_section = w.VBox([w.HTML(value=heading("Preview")), self.preview.widget], layout=w.Layout(**column))
        self.make_section = w.HBox(
            [self.caption_section, self.meme_section], layout=w.Layout(flex_flow="row wrap", width="auto")
        )
        self.widget = w.VBox(
            [
                w.HTML(value=CSS + '<div class="memer-title">memer: make a meme</div>'),
                w.HTML(value=heading("1. Find a picture")),
                self.search.widget,
                self.own.widget,
                w.HTML(value=heading("Open Images (optional)")),
                self.cache.widget,
                self.pick_section,
                self.make_section,
            ],
            layout=w.Layout(width="auto", padding="4px 4px 8px 4px"),
        )
        self.widget.add_class("memer-app")
        self._sync()

    def show(self) -> App:
        from IPython.display import display

        display(self.widget)
        return self

    def wait(self, timeout: float = 30.0) -> App:
        """Until every background step, timer and debounced preview has finished (tests, scripts)."""
        self.runner.wait(timeout)
        return self

    def __repr__(self) -> str:
        return f"<memer App, query={self.search.query.value!r}>"

    # --- between the steps --------------------------------------------------------------

    def _current(self) -> tuple[ImageCandidate | None, str, PictureWork | None]:
        with self.lock:
            if self.candidate is None:
                return None, "", None
            return self.candidate, self.theme, self.work[picture_key(self.candidate)]

    def _found(self, result: SearchResult) -> None:
        """A search's answer (its thread): a new gallery; the picture in use and its work stay."""
        with self.lock:
            self.result = result
            picked = picture_key(self.candidate) if self.candidate is not None else None
            self.gallery.show(result.candidates, picked)
            self._sync()

    def pick(self, index: int) -> None:
        """A card's Pick button: use that picture, with whatever was made for it before."""
        self.use_picture(self.gallery.candidates[index])

    def use_picture(self, candidate: ImageCandidate) -> None:
        """Make ``candidate`` the picture in use (a card's, or the user's own upload or link)."""
        from memer.text import collapse_whitespace, plain_title

        with self.lock:
            if self.result is not None and candidate in self.result.candidates:
                theme = self.result.query
            else:  # your own picture: the topic box says what it is about, else its name
                theme = collapse_whitespace(self.search.query.value) or plain_title(candidate.title or "")
            self.candidate, self.theme = candidate, theme
            key = picture_key(candidate)
            work = self.work[key]
            self.preview.stale()
            self.gallery.mark(key)
            if not self.captions.busy:
                self.captions.status.clear()
            self.captions.show(work)
            self.editor.set_credit(candidate)
            self.editor.set_text(work.text)
            self._sync()
        if work.text.strip():
            self._render_later()
        else:
            self.preview.clear(candidate)

    def _use_caption(self, text: str) -> None:
        with self.lock:
            _candidate, _theme, work = self._current()
            if work is None:
                return
            self.preview.stale()  # first: the link must never offer the old meme beside the new text
            work.text = text
            self.editor.set_text(text)
        self._render_later()

    def _edited(self) -> None:
        with self.lock:
            _candidate, _theme, work = self._current()
            if work is None:
                return
            work.text = self.editor.text.value
        self.preview.stale()
        self._render_later()

    def _render_now(self) -> None:
        with self.lock:
            candidate, _theme, work = self._current()
            look = self.editor.look()
            engine = work.engine if work is not None else ""
            description = work.description if work is not None else ""
        try:
            language = self.captions.language_code()  # its letter case (Turkish "i" -> "İ")
        except Exception:  # noqa: BLE001 - not a language: the captions step says so; the default case here
            language = None
        meme = self.preview.render(candidate, look, engine, description, language)
        if meme is not None:
            self.editor.show_auto_size(getattr(meme, "font_size", None))
            self.editor.show_position(getattr(meme, "position_used", ""))

    def _sync(self) -> None:
        show(self.pick_section, bool(self.gallery.buttons))
        show(self.make_section, self.candidate is not None)


def launch(pipeline: Pipeline | None = None, cache_setup: Any = None) -> App:
    """Show the app in the notebook (the notebook's one app cell) and return it."""
    return App(pipeline, cache_setup).show()
