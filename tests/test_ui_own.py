"""The app's other way in: your own picture, uploaded or by link.

Driven as a user would, from the Python side, against the fake pipeline (tests/fakes.py);
shared fixtures and helpers are in tests/ui_helpers.py. tests/test_ui_w7.py runs every
tests/test_ui_*.py once more under ipywidgets 7.7.1.
"""

from __future__ import annotations

import pytest

from tests.ui_helpers import (
    choose_file,
    jpeg_file_bytes,
    upload_value,
    visible,
)

pytestmark = pytest.mark.usefixtures("quick")


def test_an_uploaded_picture_becomes_the_one_in_use_without_a_search(app, fake, tmp_path):
    choose_file(app.own.upload, upload_value("Holiday snap.jpg", jpeg_file_bytes(tmp_path)))
    app.wait()
    assert "memer-error" not in app.own.status.shown_text, app.own.status.shown_text
    assert app.candidate is not None and app.candidate.source == "own"
    assert visible(app.make_section) and "your own picture" in app.preview.attribution.value
    app.captions.write_button.click()
    app.wait()
    kwargs = next(kw for step, _, kw in fake.calls if step == "captions")
    assert kwargs["theme"] == "Holiday snap" and len(app.captions.buttons) == 10
    import ipywidgets

    if ipywidgets.__version__.startswith("7."):  # left as it is: resetting it wedged Notebook 6 (compat.clear_upload)
        assert app.own.upload.value
    else:
        assert not app.own.upload.value  # emptied, so the same file can be chosen again


def test_an_upload_that_is_not_a_picture_is_refused_under_the_upload(app, fake):
    choose_file(app.own.upload, upload_value("notes.jpg", b"<html>not a picture</html>"))
    app.wait()
    assert "memer-error" in app.own.status.error.value and app.candidate is None
    assert app.search.status.error.value == ""


def test_a_link_or_path_in_the_link_box_is_used_and_a_bad_one_is_said_there(app, fake, tmp_path):
    app.own.link.value = "ftp://example.org/cat.jpg"
    app.own.link_button.click()
    app.wait()
    assert "cannot fetch" in app.own.status.error.value and app.candidate is None
    path = tmp_path / "mine.jpg"
    path.write_bytes(jpeg_file_bytes(tmp_path))
    app.own.link.value = str(path)
    app.own.link_button.click()
    app.wait()
    assert app.candidate is not None and app.candidate.source == "own"
    assert app.own.status.error.value == ""


def test_use_link_refuses_a_redirect_to_another_local_service_without_describing_it(app, fake, typed_link):
    from tests.standins.typed_link import SECRET_TYPE

    app.own.link.value = typed_link.url("/away.jpg")
    app.own.link_button.click()
    app.wait()
    shown = app.own.status.error.value
    assert "redirected to an address memer does not fetch" in shown and app.candidate is None
    assert SECRET_TYPE not in shown and str(typed_link.inside.port) not in shown
    assert typed_link.inside.requests == []


def test_an_uploaded_animated_gif_plays_in_the_preview_and_downloads_as_a_gif(app, fake):
    """Issue 22: a real animated GIF (Pillow's tests/data/animated/chi.gif) stays animated through the app."""
    import base64
    import io
    import re
    from pathlib import Path

    from PIL import Image

    chi = (Path(__file__).parent / "data" / "animated" / "chi.gif").read_bytes()
    choose_file(app.own.upload, upload_value("dancing chi.gif", chi))
    app.wait()
    assert app.candidate is not None and app.candidate.path.read_bytes() == chi
    app.editor.text.value = "it still moves"
    app.wait()
    assert app.preview.image.format == "gif"
    shown = Image.open(io.BytesIO(app.preview.image.value))
    assert shown.format == "GIF" and shown.n_frames > 10
    match = re.search(r'<a download="([^"]+)" href="data:image/gif;base64,([^"]+)"', app.preview.download_link.value)
    assert match, app.preview.download_link.value
    assert match.group(1).endswith(".gif") and "Download GIF" in app.preview.download_link.value
    assert base64.b64decode(match.group(2)) == app.preview.image.value
    assert "frames" in app.preview.download_note.value
    app.editor.text.value = ""
    app.wait()
    assert app.preview.image.format == "jpeg" and app.preview.image.value[:2] == b"\xff\xd8"
