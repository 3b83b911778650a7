"""What the app's widget tests (tests/test_ui_*.py) share: fixtures and the steps a user takes.

The fixtures are loaded for every test as a plugin (tests/conftest.py); ``quick`` (no settle or
preview delay) is used by each tests/test_ui_*.py module through its ``pytestmark``. Every step runs
in a background thread; ``app.wait()`` waits for the app to be idle.
"""

from __future__ import annotations

import base64
import datetime
import io
import re
import threading
import types

import ipywidgets
import pytest
from PIL import Image

import memer.captioning
from memer import ui
from tests.fakes import FakePipeline
from tests.standins.settings import override

IPYWIDGETS_MAJOR = int(ipywidgets.__version__.split(".")[0])


@pytest.fixture
def quick(monkeypatch):
    """No settle or preview delay unless a test asks for one; a fast clock."""
    override(monkeypatch, UI_SETTLE=0.0, UI_PREVIEW_DELAY=0.0, UI_TICK=0.02, OUTPUT_SIZE=320, UI_PREVIEW_SIZE=240)


@pytest.fixture
def fake(tmp_path) -> FakePipeline:
    return FakePipeline(tmp_path / "pictures")


@pytest.fixture
def no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr(memer.captioning, "find_openai_key", lambda explicit=None: None)


@pytest.fixture
def with_key(monkeypatch):
    monkeypatch.setattr(memer.captioning, "find_openai_key", lambda explicit=None: "sk-found-elsewhere")


@pytest.fixture
def app(fake, no_key) -> ui.App:
    return ui.App(pipeline=fake)


class Gate:
    """Holds a fake step until released, to look at the app while it works."""

    def __init__(self, fake: FakePipeline, step: str) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.step = step
        fake.on_call = self._on_call

    def _on_call(self, step: str) -> None:
        if step == self.step:
            self.entered.set()
            assert self.release.wait(10), "the test never released the step"


def searched(app: ui.App, query: str = "apple pie") -> ui.App:
    app.search.query.value = query
    app.search.search_button.click()
    app.wait()
    assert "memer-error" not in app.search.status.shown_text, app.search.status.shown_text
    return app


def picked(app: ui.App, index: int = 2) -> ui.App:
    app.gallery.buttons[index].click()
    app.wait()
    return app


def with_captions(app: ui.App, pick: int = 2) -> ui.App:
    searched(app)
    picked(app, pick)
    app.captions.engine.value = "local"
    app.captions.write_button.click()
    app.wait()
    assert "memer-error" not in app.captions.status.shown_text, app.captions.status.shown_text
    return app


def type_caption(app: ui.App, text: str) -> None:
    app.editor.text.value = text
    app.wait()


def visible(widget) -> bool:
    return widget.layout.display != "none"


def all_widgets(root):
    yield root
    for child in getattr(root, "children", ()):
        yield from all_widgets(child)


def jpeg_size(data: bytes) -> tuple[int, int]:
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    return Image.open(io.BytesIO(data)).size


def renders(fake: FakePipeline) -> list[tuple[str, dict]]:
    return [(args[1], kwargs) for step, args, kwargs in fake.calls if step == "render"]


def saved_link(app: ui.App) -> tuple[str, bytes]:
    match = re.search(r'<a download="([^"]+)" href="data:image/png;base64,([^"]+)"', app.preview.download_link.value)
    assert match, app.preview.download_link.value
    return match.group(1), base64.b64decode(match.group(2))


def upload_value(name: str, content: bytes):
    """What the front end puts in FileUpload.value: a dict in ipywidgets 7, a tuple of dicts in 8."""
    if IPYWIDGETS_MAJOR >= 8:
        entry = {"name": name, "type": "image/jpeg", "size": len(content), "content": memoryview(content)}
        return ({**entry, "last_modified": datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)},)
    return {name: {"metadata": {"name": name, "type": "image/jpeg", "size": len(content)}, "content": content}}


def choose_file(upload, value) -> None:
    """As the front end does: ipywidgets 7's value is read-only on the Python side (its sync sets it)."""
    upload.set_trait("value", value)


def jpeg_file_bytes(tmp_path) -> bytes:
    from tests.fakes import make_picture

    return make_picture(tmp_path / "mine.jpg", (10, 120, 200), "mine").read_bytes()


class FakeCacheSetup:
    """memer.cache_setup's functions, recording calls; the status moves to ready after a build."""

    def __init__(self, tmp_path, on_colab=False, mounted=False) -> None:
        self.calls: list[tuple] = []
        self.ready, self.on_colab, self.mounted, self.dir = False, on_colab, mounted, tmp_path / "cache"

    def cache_status(self):
        choices = [] if self.ready else ["download", "build-quick", "build-full", "skip"]
        line = (
            "Open Images: 1,000 pictures ready."
            if self.ready
            else "Open Images is not set up yet: the other sources work without it."
        )
        return types.SimpleNamespace(
            ready=self.ready,
            line=line,
            choices=choices,
            directory=self.dir,
            on_colab=self.on_colab,
            drive_mounted=self.mounted,
        )

    def estimate_build(self, kind, *, encoder=None, progress=None):
        self.calls.append(("estimate", kind))
        progress("Loading CLIP …", 0.5)
        return types.SimpleNamespace(line=f"{kind.title()} build: encoding takes about 7.8 hours on the CPU.")

    def run_build(self, kind, *, encoder=None, progress=None):
        self.calls.append(("build", kind))
        progress("Embedding captions (10/100, about 1 min left)", 0.1)
        self.ready = True

    def run_download(self, url=None, *, progress=None):
        self.calls.append(("download",))
        self.ready = True

    def copy_to_drive(self, *, progress=None):
        self.calls.append(("copy_to_drive",))

    def mount_drive(self):
        self.calls.append(("mount",))
        self.mounted = True
        return True

    def use_drive(self):
        self.calls.append(("use_drive",))
