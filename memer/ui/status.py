"""Each step's own status, progress and errors, shown right under that step's controls.

A running step shows what it is doing, a progress bar when the fraction is
known, how long it has been running and how many megabytes it downloaded; a
finished one shows one line (or a red box when it failed) and no stale bar.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from memer import settings
from memer.text import human_size
from memer.ui.jobs import Job, Runner
from memer.ui.logs import ROUTING, Meter
from memer.ui.style import error_html, note_html, status_html, warning_html


def elapsed_text(seconds: float) -> str:
    """``"8 s"``, ``"2 min 05 s"``: how long a step has run, as a person reads it."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"


class StepStatus:
    """The status area of one step: a line, a bar, a details line and an error box."""

    def __init__(self, runner: Runner, meter: Meter | None = None) -> None:
        import ipywidgets as w

        self.runner = runner
        self.meter = meter
        self.bar = w.FloatProgress(value=0.0, min=0.0, max=1.0, layout=w.Layout(width="160px", display="none"))
        self.line = w.HTML(value="")
        self.details = w.HTML(value="")
        self.error = w.HTML(value="")
        self.widget = w.VBox(
            [
                w.HBox([self.bar, self.line], layout=w.Layout(flex_flow="row wrap", align_items="center")),
                self.details,
                self.error,
            ]
        )
        self.widget.add_class("memer-step-status")
        self._lock = threading.Lock()
        self._job: Job | None = None
        self._message = ""
        self._stop = threading.Event()
        self._sink: Any = None

    # --- while a step runs ------------------------------------------------------------------

    def start(self, job: Job, message: str) -> None:
        """A step began: clear what the last one said, show the bar, start the clock."""
        with self._lock:
            self._job, self._message = job, message
            self._stop.set()
            self._stop = threading.Event()
            stop = self._stop
        if self._sink is not None:
            ROUTING.leave(self._sink)
        self.error.value = ""
        self.details.value = ""
        self.bar.value = 0.0
        self.bar.layout.display = ""
        if self.meter is not None:
            self.meter.begin()
        self._draw()
        ROUTING.enter(self._details_sink(job))
        self.runner.spawn(lambda: self._tick(job, stop), name="memer-ui-clock")

    def report(self, job: Job, message: str, fraction: float | None) -> None:
        """The step's progress hook (any thread); reports of a step already replaced or cancelled are dropped."""
        with self._lock:
            if job is not self._job or job.cancelled:
                return
            self._message = message
        if fraction is not None:
            self.bar.value = min(1.0, max(0.0, float(fraction)))
        self._draw()

    def _details_sink(self, job: Job):
        def sink(line: str) -> None:
            if job is self._job and not job.cancelled:
                self.details.value = note_html(line)

        self._sink = sink
        return sink

    def _draw(self) -> None:
        with self._lock:
            job, message = self._job, self._message
        if job is None:
            return
        extra = elapsed_text(time.monotonic() - job.started)
        if self.meter is not None:
            got = self.meter.downloaded()
            if got >= 100_000:
                extra += f" · {human_size(got)} downloaded"
        self.line.value = status_html("⏳", message, extra)

    def _tick(self, job: Job, stop: threading.Event) -> None:
        while not stop.wait(max(0.05, settings.UI_TICK)):
            if job is not self._job or job.done.is_set() or job.cancelled:
                return
            self._draw()

    # --- when it ends ------------------------------------------------------------------------

    def _end(self, job: Job | None) -> bool:
        """Stop the clock; False when ``job`` is not the one shown (a newer step owns the status)."""
        with self._lock:
            if job is not None and job is not self._job:
                return False
            self._stop.set()
            self._job = None
        self.bar.layout.display = "none"
        if self._sink is not None:
            ROUTING.leave(self._sink)
            self._sink = None
        return True

    def finish(self, job: Job | None, message: str, icon: str = "✔️") -> None:
        if self._end(job):
            self.details.value = ""
            self.error.value = ""  # e.g. "already searching": stale once the step is over
            self.line.value = status_html(icon, message) if message else ""

    def fail(self, job: Job | None, message: str) -> None:
        if self._end(job):
            self.line.value = ""
            self.details.value = ""
            self.error.value = error_html(message)

    def warn(self, message: str) -> None:
        """A calm note that is not an error (e.g. a search already running), shown in the error's place."""
        self.error.value = warning_html(message) if message else ""

    def say(self, message: str, icon: str = "ℹ️") -> None:
        """A one-line status with no step running (e.g. "Cancelled.")."""
        self._end(None)
        self.error.value = ""
        self.details.value = ""
        self.line.value = status_html(icon, message) if message else ""

    def clear(self) -> None:
        self.say("")

    @property
    def shown_text(self) -> str:
        """Everything the status shows, as HTML (for tests)."""
        return self.line.value + self.details.value + self.error.value

    def __repr__(self) -> str:
        return f"<StepStatus {self.shown_text!r}>"
