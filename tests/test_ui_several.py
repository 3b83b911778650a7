"""The app shows each caption's fit score, and "Make N" makes N memes of the picture with its top captions.

Against the fake pipeline (tests/fakes.py), which answers as a ranked batch when given scores.
"""

from __future__ import annotations

import base64
import io
import re
import zipfile

import pytest
from PIL import Image

from tests.fakes import CAPTION_TEXTS
from tests.ui_helpers import picked, renders, searched, visible, with_captions

pytestmark = pytest.mark.usefixtures("quick")

SCORES = [0.31, 0.29, 0.28, 0.27, 0.25, 0.24, 0.2, 0.19, 0.18, 0.1]


def test_each_caption_shows_its_score_and_the_note_says_what_it_measures(app, fake):
    fake.scores = SCORES
    with_captions(app)
    labels = [button.description for button in app.captions.buttons]
    assert labels[0] == f"1. ✅ safe · fit 0.31 · {CAPTION_TEXTS[0]}"
    assert labels[9].startswith("10. ✅ safe · fit 0.10 · ")
    note = app.captions.safety_note.value
    assert "best first by CLIP fake-clip fit" in note and "not how funny" in note


def test_an_unranked_batch_shows_no_score(app, fake):
    with_captions(app)
    assert "fit " not in app.captions.buttons[0].description
    assert "best first" not in app.captions.safety_note.value


def _zip_from_link(app) -> zipfile.ZipFile:
    match = re.search(r'href="data:application/zip;base64,([^"]+)"', app.several.link.value)
    assert match, app.several.link.value
    return zipfile.ZipFile(io.BytesIO(base64.b64decode(match.group(1))))


def test_make_n_renders_the_top_usable_captions_into_one_zip_of_sorted_files(app, fake):
    fake.scores = SCORES
    with_captions(app)
    app.several.count.value = 7
    before = len(renders(fake))
    app.several.button.click()
    app.wait()
    made = renders(fake)[before:]
    usable = [t for t, level in zip(CAPTION_TEXTS, fake.levels) if level < 2]  # caption 7 is unsafe
    assert [text for text, _ in made] == usable[:7]
    archive = _zip_from_link(app)
    names = archive.namelist()
    assert names == sorted(names) and [n[:3] for n in names] == [f"0{i}-" for i in range(1, 8)]
    assert all(Image.open(io.BytesIO(archive.read(n))).text["Caption"] == t for n, t in zip(names, usable))
    assert "7 memes ready" in app.several.status.line.value
    assert app.several.link.value.count("Download 7 memes") == 1


def test_make_n_uses_the_editors_look(app, fake):
    with_captions(app)
    app.editor.position.value = "top"
    app.wait()  # the preview redrawn first
    app.several.count.value = 2
    before = len(renders(fake))
    app.several.button.click()
    app.wait()
    assert [options["position"] for _, options in renders(fake)[before:]] == ["top", "top"]


def test_make_n_before_captions_says_what_to_do(app, fake):
    searched(app)
    app.several.button.click()
    assert "Pick a picture first" in app.several.status.error.value
    picked(app, 1)
    app.several.button.click()
    assert "Write captions first" in app.several.status.error.value
    assert app.several.link.value == ""


def test_a_failed_render_is_said_under_the_button(app, fake):
    from memer.errors import RenderError

    with_captions(app)
    fake.fail["render"] = RenderError("the caption is too long for the meme", "Shorten it.")
    app.several.button.click()
    app.wait()
    assert "too long" in app.several.status.error.value and app.several.link.value == ""
    assert not visible(app.several.download_button)
