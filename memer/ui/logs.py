"""What libraries print while a step runs goes into the app, never into a pink stderr box under it.

While any step of the app runs, ``sys.stderr`` is a proxy: writes from the
step's threads (every thread but the kernel's main one, which runs the user's
own cells) become the step's "details" line, e.g. a library's download bar or
warning; log records from those threads do too. The last line of a progress
bar (text after its last carriage return) is what is shown.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from memer.text import display_safe

Sink = Callable[[str], None]


def _last_line(text: str) -> str:
    """What a terminal would show last: the text after the final carriage return or newline."""
    for part in reversed(text.replace("\r", "\n").split("\n")):
        if part.strip():
            return part.strip()
    return ""


class _StderrProxy:
    """Stands in for sys.stderr: background threads' writes go to the sink, the main thread's pass through."""

    def __init__(self, original: Any, sink: Sink) -> None:
        self.original = original
        self.sink = sink

    def write(self, text: str) -> int:
        if threading.current_thread() is threading.main_thread():
            return self.original.write(text)
        line = _last_line(text)
        if line:
            self.sink(display_safe(line, 200))
        return len(text)

    def flush(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self.original.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


class _ToSink(logging.Handler):
    def __init__(self, sink: Sink) -> None:
        super().__init__(logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if threading.current_thread() is threading.main_thread():
            return
        try:
            self.sink(display_safe(record.getMessage(), 200))
        except Exception:  # noqa: BLE001 - a log line must never break the step that logged it
            pass


class Routing:
    """Counts running steps; the first one in installs the proxy and the log handler, the last one out removes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sinks: list[Sink] = []
        self._proxy: _StderrProxy | None = None
        self._handler: _ToSink | None = None

    def _send(self, line: str) -> None:
        with self._lock:
            sinks = list(self._sinks)
        for sink in sinks[-1:]:  # the step that started last is the one the user is watching
            sink(line)

    def enter(self, sink: Sink) -> None:
        with self._lock:
            self._sinks.append(sink)
            if self._proxy is None:
                self._proxy = _StderrProxy(sys.stderr, self._send)
                sys.stderr = self._proxy
                self._handler = _ToSink(self._send)
                root = logging.getLogger()
                root.addHandler(self._handler)

    def leave(self, sink: Sink) -> None:
        with self._lock:
            if sink in self._sinks:
                self._sinks.remove(sink)
            if not self._sinks and self._proxy is not None:
                if sys.stderr is self._proxy:
                    sys.stderr = self._proxy.original
                if self._handler is not None:
                    logging.getLogger().removeHandler(self._handler)
                self._proxy = self._handler = None


ROUTING = Routing()


def download_folders() -> list[Path]:
    """Where a step's downloads land: memer's picture cache and the Hugging Face hub cache (models)."""
    from memer import settings

    folders = [Path(settings.download_dir())]
    hub = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface"), "hub"
    )
    folders.append(Path(hub))
    return folders


def folder_bytes(folders: Iterable[Path]) -> int:
    """Bytes in the files under ``folders`` (missing folders count 0; files vanishing mid-walk are skipped)."""
    total = 0
    for folder in folders:
        for root, _dirs, files in os.walk(folder):
            for name in files:
                try:
                    total += os.stat(os.path.join(root, name), follow_symlinks=False).st_size
                except OSError:
                    pass
    return total


class Meter:
    """How many bytes landed in the download folders since the step started."""

    def __init__(self, folders: Callable[[], list[Path]] = download_folders) -> None:
        self.folders = folders
        self.start = 0

    def begin(self) -> None:
        self.start = folder_bytes(self.folders())

    def downloaded(self) -> int:
        return max(0, folder_bytes(self.folders()) - self.start)
