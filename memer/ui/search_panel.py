"""Step 1: the topic box, Search and Cancel, and what each source answered.

One search at a time: Enter or Search while one runs for the same words is
ignored with a note (a burst of Enters is one search); for other words it
cancels the running one and starts anew. Nothing is ever queued. Once a search
has shown its pictures, Enter or Search again on the same words (and the same
"Also draw pictures" switch) does nothing: the pictures on screen are its
answer, and a burst of Enters outlasting a fast search (one answered from the
download cache) must not run it twice. It does search again when the words or
the switch changed, or when the last search found nothing, failed or was
cancelled: then trying again is what the user asks for.

The search uses the text the user sees. The browser may send the Enter key
before the last letters (the widget front end holds state back while it
waits for the kernel), so the box is read after the settle delay; and if
letters that extend the query still arrive just after the search started,
it is restarted with the whole text, the first one cancelled unseen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from memer import settings
from memer.text import collapse_whitespace
from memer.ui.compat import on_enter, set_tooltip, show
from memer.ui.jobs import Cancelled, Job, Runner
from memer.ui.logs import Meter
from memer.ui.messages import error_for_app, source_note
from memer.ui.status import StepStatus
from memer.ui.style import drops_html, note_html, sources_html

if TYPE_CHECKING:
    from memer.contract import Pipeline
    from memer.pipeline import SearchResult


# Seconds after a search starts during which letters extending its query still count as typed before Enter.
LATE_LETTERS_WINDOW = 3.0


class SearchPanel:
    """``on_found(result)`` runs (in the search's thread) with each search's answer, found pictures or not."""

    def __init__(self, pipeline: Pipeline, runner: Runner, on_found: Callable[[SearchResult], None]) -> None:
        import ipywidgets as w

        self.pipeline, self.runner, self.on_found = pipeline, runner, on_found
        self.query = w.Text(
            placeholder="a topic, e.g. apple pie",
            continuous_update=True,  # every letter is sent as typed; the app still lets the last ones arrive
            layout=w.Layout(flex="1 1 200px", width="auto", min_width="0"),
        )
        self.query.add_class("memer-query")
        self.search_button = w.Button(description="Search", button_style="primary", icon="search")
        set_tooltip(self.search_button, "Find pictures for the topic")
        self.cancel_button = w.Button(description="Cancel", icon="times", layout=w.Layout(display="none"))
        set_tooltip(self.cancel_button, "Stop this search")
        self.status = StepStatus(runner, Meter())
        self.sources = w.HTML(value="")
        self.dropped = w.HTML(value="")  # why some pictures found never arrived (downloads that failed)
        self.generate = w.Checkbox(value=False, description="Also draw pictures for the topic", indent=False)
        self.generate_note = w.HTML(value="")
        self.generate.observe(lambda _: self._note_generator(), names="value")
        self.widget = w.VBox(
            [
                w.HBox(
                    [self.query, self.search_button, self.cancel_button],
                    layout=w.Layout(flex_flow="row wrap", width="auto"),
                ),
                w.HBox([self.generate, self.generate_note], layout=w.Layout(flex_flow="row wrap")),
                self.status.widget,
                self.sources,
                self.dropped,
            ]
        )
        self.search_button.on_click(lambda _: self.request())
        self.cancel_button.on_click(lambda _: self.cancel())
        on_enter(self.query, self.request)
        self.query.observe(self._late_letters, names="value")
        self.job: Job | None = None
        self._lock = threading.RLock()
        self._sync_lock = threading.Lock()
        self._requested = False
        self._answered: tuple[str, tuple[str, ...] | None] | None = None  # the search whose pictures are shown
        self.searches = 0  # how many searches were started (the browser test counts them)

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.running

    def request(self) -> None:
        """Enter or the Search button (kernel thread): look at the box once its last letters have arrived."""
        with self._lock:
            if self._requested:  # a burst of Enters within the settle delay is one request
                return
            self._requested = True
        self.runner.later(settings.UI_SETTLE, self._dispatch, name="memer-ui-search-request")

    def _dispatch(self) -> None:
        with self._lock:
            self._requested = False
            query = collapse_whitespace(self.query.value)
            if not query:
                self._answered = None  # the status line no longer says what is shown
                self.status.fail(None, "Type a topic first, e.g. “apple pie”.")
                return
            running = self.job
            if running is not None and running.running:
                if running.about == query:
                    self.status.warn(f"Already searching for “{query}”: one search at a time.")
                    return
                running.cancel()
            elif self._answered == self._key(query, self.sources_to_ask()):
                return  # its pictures are on screen, and the status line says so
            job = self.job = Job("search", query)
            self._answered = None
            self.searches += 1
        self.sources.value = self.dropped.value = ""
        self._sync()
        self.status.start(job, f"Searching for “{query}”…")
        self.runner.spawn(lambda: self._run(job), name="memer-ui-search")

    def _late_letters(self, change: dict) -> None:
        """Letters typed before Enter that arrive after the search began: search the whole text instead."""
        text = collapse_whitespace(change.get("new") or "")
        with self._lock:
            job = self.job
            if job is None or not job.running or self._requested:
                return
            late = time.monotonic() - job.started <= LATE_LETTERS_WINDOW
            if not late or text == job.about or not text.startswith(job.about):
                return
        self._dispatch()

    def _run(self, job: Job) -> None:
        sources = self.sources_to_ask()
        try:
            result = self.pipeline.search(
                job.about, sources=sources, progress=job.hook(lambda m, f: self.status.report(job, m, f))
            )
            job.check()
            with self._lock:
                if job is not self.job:
                    return
                self.sources.value = sources_html(
                    result.sources,
                    {s.name: note for s in result.sources if (note := source_note(s.name, s.ok, s.code))},
                )
                self.dropped.value = drops_html(getattr(result, "drop_reasons", []))
                if result.candidates:
                    self._answered = self._key(job.about, sources)
                    self.status.finish(job, f"{len(result.candidates)} pictures for “{job.about}”: pick one.")
                elif result.all_failed:
                    self.status.fail(
                        job,
                        "Every picture source failed (see above). Check the internet connection, "
                        "or upload a picture of your own below.",
                    )
                else:
                    self.status.fail(job, f"No pictures found for “{job.about}”. Try other words.")
            self.on_found(result)
        except Cancelled:
            pass
        except BaseException as err:  # noqa: BLE001 - every failure is a message in the app
            self.last_error = err
            if job is self.job and not job.cancelled:
                failed_sources = getattr(err, "sources", None)  # pipeline.SearchFailed: CLIP failed, and these
                if failed_sources:
                    self.sources.value = sources_html(failed_sources)
                self.status.fail(job, error_for_app(err))
        finally:
            job.done.set()
            self._sync()

    @staticmethod
    def _key(query: str, sources: list[str] | None) -> tuple[str, tuple[str, ...] | None]:
        """What makes two searches the same: the words and the sources asked."""
        return query, None if sources is None else tuple(sources)

    def sources_to_ask(self) -> list[str] | None:
        """The sources set in the settings, plus the picture generator when the switch is on."""
        if not self.generate.value:
            return None
        names = [name for name in settings.SOURCES if name != "generated"]
        return [*names, "generated"]

    def _note_generator(self) -> None:
        if not self.generate.value:
            self.generate_note.value = ""
            return
        self.generate_note.value = note_html(generator_note())

    def cancel(self) -> None:
        """The Cancel button: the search stops at its next step; its answer, if any, is dropped."""
        with self._lock:
            job = self.job
            if job is None or not job.running:
                return
            job.cancel()
        self.status.finish(job, f"Search for “{job.about}” cancelled.", icon="⏹️")
        self._sync()

    def _sync(self) -> None:
        with self._sync_lock:  # read and written as one step: the kernel's thread and the search worker both call it
            busy = self.busy
            show(self.cancel_button, busy)
            self.search_button.description = "Searching…" if busy else "Search"


def generator_note() -> str:
    """Which generator will draw, what it costs or its licence, and whether it will be slow."""
    from memer.sources.generated import choose_generator

    try:
        chosen = choose_generator()
    except Exception as err:  # noqa: BLE001 - e.g. an unknown MEMER_GENERATOR: said, not raised
        return str(err)
    if chosen == "openai":
        return f"OpenAI {settings.IMAGE_MODEL}, quality {settings.IMAGE_QUALITY} (about a cent a picture)."
    note = f"{settings.IMAGE_MODEL_LOCAL}: {settings.IMAGE_MODEL_LOCAL_LICENSE}"
    try:
        from memer.device import cuda_device

        if cuda_device() is None:
            note += "; slow without a GPU"
    except Exception:  # noqa: BLE001 - no torch: the search will say so
        pass
    return note + "."
