"""Long steps run off the kernel's main thread, one per kind at a time, and can be cancelled.

While a step works in a background thread the kernel keeps handling the
browser's messages: a second Enter reaches the app at once (and is refused or
replaces the search, never queued), the Cancel button works, and the last
letters typed arrive before the app reads the box. Cancelling is cooperative:
the step's progress hook raises :class:`Cancelled` at its next report, and the
app forgets the step's answer at once, so the user never waits for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from memer.progress import Progress


class Cancelled(BaseException):
    """Raised inside a progress hook once the user pressed Cancel.

    A BaseException, like KeyboardInterrupt, so that the library's ``except Exception`` blocks (one
    failed source must not sink a search) let it through.
    """


class Job:
    """One run of a step: its cancel flag, and what it is about (e.g. the query)."""

    def __init__(self, kind: str, about: str = "") -> None:
        self.kind = kind
        self.about = about
        self.cancel_event = threading.Event()
        self.done = threading.Event()
        self.started = time.monotonic()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    @property
    def running(self) -> bool:
        return not self.done.is_set() and not self.cancelled

    def cancel(self) -> None:
        self.cancel_event.set()

    def check(self) -> None:
        """Between steps: stop here if the user cancelled."""
        if self.cancel_event.is_set():
            raise Cancelled(self.kind)

    def hook(self, report: Progress) -> Progress:
        """A progress hook that passes reports on and stops the step once cancelled."""

        def progress(message: str, fraction: float | None) -> None:
            self.check()
            report(message, fraction)

        return progress


class Runner:
    """Starts background threads and can wait for all of them (tests, scripted use)."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()

    def spawn(self, work: Callable[[], Any], name: str = "memer-ui") -> threading.Thread:
        thread = threading.Thread(target=work, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        return thread

    def later(self, delay: float, work: Callable[[], Any], name: str = "memer-ui-timer") -> threading.Timer:
        timer = threading.Timer(max(0.0, delay), work)
        timer.name, timer.daemon = name, True
        with self._lock:
            self._timers = [t for t in self._timers if t.is_alive()]
            self._timers.append(timer)
        timer.start()
        return timer

    def wait(self, timeout: float = 30.0) -> None:
        """Until no thread or timer of this runner is alive (each may start others)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                alive = [t for t in self._timers + self._threads if t.is_alive()]
            if not alive:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the app was still working after {timeout:g} s: {[t.name for t in alive]}")
            alive[0].join(min(left, 0.05))

    @staticmethod
    def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Until ``condition()`` holds (tests look at the app while a step is held)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"still not so after {timeout:g} s")
            time.sleep(0.01)


class Debounced:
    """Call ``work`` once typing pauses for ``delay`` seconds; never two at once, the latest request wins."""

    def __init__(self, runner: Runner, work: Callable[[], None], delay: Callable[[], float], name: str) -> None:
        self.runner, self.work, self.delay, self.name = runner, work, delay, name
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._running = False
        self._again = False

    @property
    def pending(self) -> bool:
        with self._lock:
            return self._timer is not None or self._running

    def __call__(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.runner.later(self.delay(), self._fire, self.name)

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            if self._running:  # the running call will go again with the newest values
                self._again = True
                return
            self._running = True
        while True:
            try:
                self.work()
            finally:
                with self._lock:
                    again, self._again = self._again, False
                    if not again:
                        self._running = False
            if not again:
                return
