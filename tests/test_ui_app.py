"""The app as a whole: errors under their own step, launching, widgets, messages as written.

Driven as a user would, from the Python side, against the fake pipeline (tests/fakes.py);
shared fixtures and helpers are in tests/ui_helpers.py. tests/test_ui_w7.py runs every
tests/test_ui_*.py once more under ipywidgets 7.7.1.
"""

from __future__ import annotations

import pytest

from memer import ui
from memer.errors import MemerError, RenderError, SourceError
from memer.ui import messages
from tests.ui_helpers import (
    IPYWIDGETS_MAJOR,
    all_widgets,
    picked,
    type_caption,
    with_captions,
)

pytestmark = pytest.mark.usefixtures("quick")


@pytest.mark.parametrize("step", ["search", "captions", "render"])
@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (SourceError("Wikimedia Commons did not answer.", "Try again in a minute."), "did not answer. Try again"),
        (RenderError("The caption <b>is</b> too long.", "Shorten it."), "The caption &lt;b&gt;is&lt;/b&gt; too long."),
        (RuntimeError("boom"), "Something went wrong: RuntimeError: boom."),
    ],
)
def test_each_error_shows_under_its_own_step_not_as_a_traceback(app, fake, step, error, shown):
    fake.fail[step] = error
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    app.wait()
    if step != "search":
        picked(app, 0)
        app.captions.engine.value = "local"
        app.captions.write_button.click()
        app.wait()
        if step == "render":
            type_caption(app, "by hand")
    status = {"search": app.search.status, "captions": app.captions.status, "render": app.preview.status}[step]
    assert shown in status.error.value and 'class="memer-error"' in status.error.value
    assert "Traceback" not in status.error.value
    others = [s for name, s in [("search", app.search.status), ("captions", app.captions.status)] if name != step]
    assert all("memer-error" not in s.shown_text for s in others)


def test_the_error_clears_on_the_next_try(app, fake):
    fake.fail["search"] = SourceError("down")
    app.search.query.value = "pie"
    app.search.search_button.click()
    app.wait()
    assert "Down" in app.search.status.error.value
    del fake.fail["search"]
    app.search.search_button.click()
    app.wait()
    assert app.search.status.error.value == ""


def test_launch_displays_the_app_once_and_returns_it(fake, no_key, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs: shown.extend(objs))
    app = ui.launch(pipeline=fake)
    assert isinstance(app, ui.App) and shown == [app.widget]


def test_app_defaults_to_the_pipeline_module(no_key):
    import memer.pipeline

    assert ui.App().pipeline is memer.pipeline


def test_tooltips_use_the_installed_ipywidgets_name(app):
    name = "tooltip" if IPYWIDGETS_MAJOR >= 8 else "description_tooltip"
    assert "Engine: local" in getattr(app.captions.key_box, name)


def test_no_two_widgets_share_a_layout(app):
    """Hiding one widget (layout.display) must never hide another."""
    with_captions(app)
    layouts = [id(widget.layout) for widget in all_widgets(app.widget)]
    assert len(layouts) == len(set(layouts))


def test_an_error_is_a_memer_error_message_as_written(app):
    assert messages.error_for_app(MemerError("lower case start.")) == "Lower case start."
