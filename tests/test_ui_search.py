"""Step 1 of the app: the topic box, Enter and Search, Cancel, what each source answered, what was dropped.

Driven as a user would, from the Python side, against the fake pipeline (tests/fakes.py);
shared fixtures and helpers are in tests/ui_helpers.py. tests/test_ui_w7.py runs every
tests/test_ui_*.py once more under ipywidgets 7.7.1.
"""

from __future__ import annotations

import re
import sys
import threading
import time

import pytest

from memer import settings, ui
from memer.errors import SourceError
from memer.ui import compat, logs
from tests.fakes import FakePipeline
from tests.standins.settings import override
from tests.ui_helpers import (
    Gate,
    jpeg_size,
    searched,
    type_caption,
    visible,
    with_captions,
)

pytestmark = pytest.mark.usefixtures("quick")


def test_search_fills_a_gallery_of_cards_with_titles_thumbnails_and_escaped_credits(app, fake):
    assert not visible(app.pick_section)
    searched(app)
    assert fake.steps() == ["search"] and fake.calls[0][1] == ("apple pie",)
    assert len(app.gallery.buttons) == len(app.gallery.widget.children) == 10
    assert visible(app.pick_section) and not visible(app.make_section)
    for i, card in enumerate(app.gallery.widget.children):
        title, image, credit, button = card.children
        assert f"Apple Pie {i + 1}" in title.value
        assert max(jpeg_size(image.value)) <= settings.UI_THUMB_SIZE
        assert image.layout.overflow == "hidden" and "memer-thumb" in image._dom_classes
        assert button is app.gallery.buttons[i] and not button.disabled
        assert f"Author &lt;{i}&gt;" in credit.value and f"<{i}>" not in credit.value
    assert "auto-fill" in app.gallery.widget.layout.grid_template_columns  # cards wrap on a narrow screen


def test_search_status_says_what_was_found_with_no_stale_bar(app):
    searched(app)
    assert "10 pictures for “apple pie”: pick one." in app.search.status.line.value
    assert not visible(app.search.status.bar)
    assert not visible(app.search.cancel_button)


def test_sources_say_which_answered_and_a_missing_cache_is_one_calm_line(fake, no_key):
    from memer.pipeline import SourceStatus

    original = fake.search

    def search(query, **kwargs):
        result = original(query, **kwargs)
        result.sources = [
            SourceStatus("commons", True, 5),
            SourceStatus("wikipedia", True, 0, "no pictures for this topic"),
            SourceStatus(
                "openimages",
                False,
                0,
                "No Open Images cache in /x (no manifest.json). Rebuild it with …",
                "cache.missing",
            ),
        ]
        return result

    fake.search = search
    app = searched(ui.App(pipeline=fake))
    shown = app.search.sources.value
    assert "✅ Wikimedia Commons: 5 found" in shown
    assert "✅ Wikipedia" not in shown and "➖ Wikipedia: nothing for this topic" in shown  # no green tick on 0
    assert "Open Images: not set up on this computer (optional)" in shown
    assert "memer cache build" not in shown and "❌" not in shown


def test_enter_searches_with_the_text_the_user_sees_even_when_the_last_letters_arrive_after_it(app, fake, monkeypatch):
    override(monkeypatch, UI_SETTLE=0.3)
    app.search.query.value = "apple pi"
    compat.press_enter(app.search.query)  # the Enter key's message overtook the last letter ...
    app.search.query.value = "apple pie"  # ... which arrives a moment later
    app.wait()
    assert [args for step, args, _ in fake.calls if step == "search"] == [("apple pie",)]


def test_letters_arriving_just_after_the_search_began_restart_it_with_the_whole_text(app, fake):
    gate = Gate(fake, "search")
    app.search.query.value = "apple pi"
    compat.press_enter(app.search.query)
    assert gate.entered.wait(5)
    fake.on_call = None
    app.search.query.value = "apple pie"  # the last letter, later than the settle delay
    app.runner.wait_for(lambda: len(fake.steps()) == 2)
    gate.release.set()
    app.wait()
    assert [args for _, args, _ in fake.calls] == [("apple pi",), ("apple pie",)]
    assert app.result.query == "apple pie" and "“apple pie”" in app.search.status.line.value


def test_a_burst_of_enters_is_one_search(app, fake, monkeypatch):
    override(monkeypatch, UI_SETTLE=0.2)
    app.search.query.value = "apple pie"
    for _ in range(3):
        compat.press_enter(app.search.query)
    app.search.search_button.click()
    app.wait()
    assert fake.steps() == ["search"] and app.search.searches == 1


def enters(app: ui.App, times: int, apart: float) -> None:
    """Enter pressed ``times`` times, ``apart`` seconds apart, as a user does."""
    for i in range(times):
        if i:
            time.sleep(apart)
        compat.press_enter(app.search.query)


def test_enters_outlasting_a_fast_search_do_not_run_it_again(app, fake, monkeypatch):
    """Issue 20: answered from the download cache, a search is done before the third of three Enters."""
    override(monkeypatch, UI_SETTLE=0.3)  # the default: the burst outlasts the settle delay and the search
    app.search.query.value = "apple pie"
    enters(app, 3, apart=0.3)
    app.wait()
    time.sleep(0.4)  # a late Enter's settle delay
    app.wait()
    assert fake.steps() == ["search"] and app.search.searches == 1
    assert "10 pictures for “apple pie”" in app.search.status.line.value
    app.search.search_button.click()  # later, on purpose: the pictures shown are still its answer
    app.wait()
    assert fake.steps() == ["search"]


def test_the_same_words_search_again_after_a_failure_a_cancel_or_other_sources(app, fake):
    fake.fail["search"] = SourceError("The network is down.")
    app.search.query.value = "apple pie"
    compat.press_enter(app.search.query)
    app.wait()
    del fake.fail["search"]
    compat.press_enter(app.search.query)  # it failed: try again
    app.wait()
    assert fake.steps() == ["search", "search"] and app.result is not None
    app.search.generate.value = True  # now also drawn pictures: another search
    compat.press_enter(app.search.query)
    app.wait()
    assert fake.steps() == ["search"] * 3
    gate = Gate(fake, "search")
    app.search.query.value = "cats"
    compat.press_enter(app.search.query)
    assert gate.entered.wait(5)
    app.search.cancel_button.click()
    gate.release.set()
    app.wait()
    compat.press_enter(app.search.query)  # cancelled: search again
    app.wait()
    assert fake.steps() == ["search"] * 5 and app.result.query == "cats"


def test_no_pictures_found_searches_again_on_enter(fake, no_key):
    app = ui.App(pipeline=FakePipeline(fake.folder, n_candidates=0))
    app.search.query.value = "zzz"
    compat.press_enter(app.search.query)
    app.wait()
    compat.press_enter(app.search.query)
    app.wait()
    assert app.search.searches == 2


def test_enter_while_the_same_search_runs_is_refused_visibly_not_queued(app, fake):
    gate = Gate(fake, "search")
    app.search.query.value = "apple pie"
    compat.press_enter(app.search.query)
    assert gate.entered.wait(5)
    assert visible(app.search.cancel_button) and visible(app.search.status.bar)
    assert "Searching for “apple pie”" in app.search.status.line.value
    compat.press_enter(app.search.query)
    app.runner.wait_for(lambda: "Already searching" in app.search.status.error.value)
    assert "one search at a time" in app.search.status.error.value
    gate.release.set()
    app.wait()
    assert fake.steps() == ["search"]


def test_new_words_while_a_search_runs_cancel_it_and_search_those(app, fake):
    gate = Gate(fake, "search")
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    assert gate.entered.wait(5)
    fake.on_call = None
    app.search.query.value = "lone tree"
    app.search.search_button.click()
    app.runner.wait_for(lambda: len(fake.steps()) == 2)
    gate.release.set()
    app.wait()
    assert [args for _, args, _ in fake.calls] == [("apple pie",), ("lone tree",)]
    assert app.result.query == "lone tree" and "Lone Tree" in app.gallery.widget.children[0].children[0].value


def test_cancel_stops_waiting_for_a_search_and_drops_its_answer(app, fake):
    gate = Gate(fake, "search")
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    assert gate.entered.wait(5)
    app.search.cancel_button.click()
    assert "cancelled" in app.search.status.line.value and not visible(app.search.status.bar)
    assert not visible(app.search.cancel_button) and not app.search.busy
    gate.release.set()
    app.wait()
    assert app.gallery.buttons == [] and app.result is None


def test_a_hook_report_after_cancel_stops_the_step(app, fake):
    seen = []

    def search(query, *, progress=None, **kwargs):
        progress("Asking Wikimedia Commons…", 0.1)
        app.search.cancel()
        try:
            progress("Ranking pictures with CLIP…", 0.5)
        except ui.Cancelled:
            seen.append("stopped")
            raise
        seen.append("went on")

    fake.search = search
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    app.wait()
    assert seen == ["stopped"] and "cancelled" in app.search.status.line.value


def test_a_running_search_shows_its_steps_elapsed_time_and_megabytes(app, fake, tmp_path, monkeypatch):
    folder = tmp_path / "downloads"
    folder.mkdir()
    app.search.status.meter.folders = lambda: [folder]
    gate = Gate(fake, "search")
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    assert gate.entered.wait(5)
    (folder / "model.safetensors.incomplete").write_bytes(b"\0" * 3 * 1024 * 1024)
    app.runner.wait_for(lambda: "3 MB downloaded" in app.search.status.line.value)
    assert re.search(r"· \d+ s", app.search.status.line.value)
    gate.release.set()
    app.wait()
    assert "downloaded" not in app.search.status.line.value  # the finished line is calm


@pytest.mark.parametrize(
    ("query", "n", "expected"),
    [("   ", 10, "Type a topic first"), ("xyzzy", 0, "No pictures found for “xyzzy”. Try other words.")],
)
def test_an_empty_topic_or_no_pictures_is_said_under_the_search_box(fake, no_key, query, n, expected):
    fake.n_candidates = n
    app = ui.App(pipeline=fake)
    app.search.query.value = query
    app.search.search_button.click()
    app.wait()
    assert expected in app.search.status.error.value
    assert not visible(app.search.status.bar) and app.gallery.buttons == []
    assert app.captions.status.shown_text == "" and app.preview.status.shown_text == ""


def test_a_new_search_keeps_the_picture_in_use_its_captions_and_the_edit(app, fake):
    with_captions(app)
    type_caption(app, "my own words")
    candidate = app.candidate
    searched(app, "cats")
    assert app.candidate is candidate and visible(app.make_section)
    assert app.editor.text.value == "my own words" and len(app.captions.buttons) == 10
    assert app.result.query == "cats"


def test_what_a_step_prints_or_logs_goes_to_its_details_line_not_stderr(app, fake, capsys):
    import logging

    def search(query, **kwargs):
        print("model.safetensors:  45%|####5     | 1.40G/3.09G", end="\r", file=sys.stderr)
        logging.getLogger("some_library").warning("Loaded ViT-B-32 model config.")
        raise SourceError("down")

    fake.search = search
    details = []
    app.search.status.details.observe(lambda change: details.append(change["new"]), names="value")
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    app.wait()
    assert capsys.readouterr().err == ""
    assert any("1.40G/3.09G" in line for line in details)
    assert any("Loaded ViT-B-32 model config." in line for line in details)
    assert logs.ROUTING._proxy is None and not isinstance(sys.stderr, logs._StderrProxy)  # gone once idle
    assert "Down" in app.search.status.error.value


def test_the_details_line_shows_the_last_line_of_a_progress_bar(app, fake):
    seen = []
    gate = Gate(fake, "search")
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    assert gate.entered.wait(5)
    worker = threading.Thread(
        target=lambda: print("weights:  10%|#|\rweights:  90%|#########|", file=sys.stderr), name="library-thread"
    )
    worker.start()
    worker.join()
    seen.append(app.search.status.details.value)
    gate.release.set()
    app.wait()
    assert "weights: 90%" in seen[0] and "10%" not in seen[0]


def test_the_generate_switch_adds_the_generator_and_says_what_it_costs(app, fake):
    searched(app)
    assert fake.calls[-1][2]["sources"] is None  # off by default: the settings' sources
    app.search.generate.value = True
    assert app.search.generate_note.value  # which generator, its cost or licence
    searched(app, "cats")
    assert fake.calls[-1][2]["sources"][-1] == "generated"


def test_dropped_pictures_are_one_short_line_per_reason(fake, no_key):
    from memer.pipeline import DropReason

    original = fake.search

    def search(query, **kwargs):
        result = original(query, **kwargs)
        result.drop_reasons = [DropReason("HTTP 404", 2), DropReason("not an image (text/html)", 1)]
        return result

    fake.search = search
    app = searched(ui.App(pipeline=fake))
    assert "2 pictures dropped: HTTP 404" in app.search.dropped.value
    assert "1 picture dropped: not an image (text/html)" in app.search.dropped.value


def test_pictures_a_host_rate_limited_are_said_in_words(fake, no_key, server):
    """The reason the download layer gives for a 429, as the app shows it: no "HTTP 429"."""
    from memer import http
    from memer.candidates import ImageCandidate
    from memer.pipeline import drop_reasons

    url = server.add_file("/limited/cat.jpg", b"", "image/jpeg")
    server.fault("/limited/", "status", status=429, retry_after="120")
    report = http.download_images([ImageCandidate(source="commons", title="cat", image_url=url) for _ in range(2)])
    original = fake.search

    def search(query, **kwargs):
        result = original(query, **kwargs)
        result.drop_reasons = drop_reasons(report.failed)
        return result

    fake.search = search
    shown = searched(ui.App(pipeline=fake)).search.dropped.value
    assert "2 pictures dropped: rate limited by 127.0.0.1 (try again in 2 minutes)" in shown and "429" not in shown


def test_when_clip_fails_the_sources_lines_still_show(app, fake):
    from memer.errors import ModelError
    from memer.pipeline import SearchFailed, SourceStatus

    fake.fail["search"] = SearchFailed(
        ModelError("CLIP could not be loaded: the hub did not answer.", "Set HF_HUB_OFFLINE=1 …"),
        [SourceStatus("commons", False, 0, "could not connect"), SourceStatus("wikipedia", False, 0, "timed out")],
    )
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    app.wait()
    assert "❌ Wikimedia Commons: could not connect" in app.search.sources.value
    assert "CLIP could not be loaded" in app.search.status.error.value


def test_every_source_failing_is_not_called_no_pictures_for_the_words(fake, no_key):
    from memer.pipeline import SourceStatus

    fake.n_candidates = 0
    original = fake.search

    def search(query, **kwargs):
        result = original(query, **kwargs)
        result.sources = [SourceStatus("commons", False, 0, "could not connect")]
        return result

    fake.search = search
    app = ui.App(pipeline=fake)
    app.search.query.value = "apple pie"
    app.search.search_button.click()
    app.wait()
    assert "Every picture source failed" in app.search.status.error.value
    assert "Try other words" not in app.search.status.error.value
