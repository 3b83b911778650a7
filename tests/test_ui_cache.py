"""The app's Open Images cache panel: its choices, the build after the estimate, Drive on Colab.

Driven as a user would, from the Python side, against the fake pipeline (tests/fakes.py);
shared fixtures and helpers are in tests/ui_helpers.py. tests/test_ui_w7.py runs every
tests/test_ui_*.py once more under ipywidgets 7.7.1.
"""

from __future__ import annotations

import pytest

from memer import ui
from tests.ui_helpers import (
    FakeCacheSetup,
    visible,
)

pytestmark = pytest.mark.usefixtures("quick")


def test_the_cache_panel_offers_its_choices_and_builds_only_after_the_estimate(fake, no_key, tmp_path):
    setup = FakeCacheSetup(tmp_path)
    app = ui.App(pipeline=fake, cache_setup=setup)
    assert "not set up yet" in app.cache.line.value
    assert [b.description for b in app.cache.choices.children] == [
        "Download it",
        "Build it (quick)",
        "Build it (full)",
        "Skip",
    ]
    app.cache.buttons["build-quick"].click()
    app.wait()
    assert setup.calls == [("estimate", "quick")] and "7.8 hours" in app.cache.estimate.value
    assert visible(app.cache.start_build)
    app.cache.start_build.click()
    app.wait()
    assert setup.calls[-1] == ("build", "quick") and "1,000 pictures ready" in app.cache.line.value
    assert app.cache.choices.children == () or list(app.cache.choices.children) == []


def test_skip_is_for_the_session_and_a_failure_is_said_under_the_panel(fake, no_key, tmp_path):
    from memer.errors import CacheError

    setup = FakeCacheSetup(tmp_path)

    def broken(url=None, *, progress=None):
        raise CacheError("the download's checksum does not match.", "Try again; the old cache stays.")

    setup.run_download = broken
    app = ui.App(pipeline=fake, cache_setup=setup)
    app.cache.buttons["download"].click()
    app.wait()
    assert "checksum does not match. Try again" in app.cache.status.error.value
    app.cache.buttons["skip"].click()
    assert list(app.cache.choices.children) == [] and "Skipped for this session" in app.cache.status.line.value


def test_on_colab_the_panel_can_mount_drive_and_keep_the_cache_there(fake, no_key, tmp_path):
    setup = FakeCacheSetup(tmp_path, on_colab=True)
    app = ui.App(pipeline=fake, cache_setup=setup)
    assert visible(app.cache.drive_row) and visible(app.cache.mount)
    app.cache.mount.click()
    app.wait()
    assert ("mount",) in setup.calls and not visible(app.cache.mount)
    app.cache.keep_on_drive.value = True
    app.cache.buttons["download"].click()
    app.wait()
    assert setup.calls[-2:] == [("download",), ("copy_to_drive",)]
