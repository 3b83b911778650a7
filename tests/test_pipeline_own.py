"""Your own picture (pipeline.own_picture): a file, the bytes of an upload, or a link; and the upload widget's values."""

from __future__ import annotations

import datetime
import io

import pytest
from PIL import Image

from memer import pipeline, settings
from memer.errors import ImageError
from tests.standins.mediawiki import make_image
from tests.standins.settings import override


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(make_image("jpeg", (320, 240), seed=3))
    return path


def test_a_file_is_used_where_it_is(photo):
    candidate = pipeline.own_picture(str(photo))
    assert candidate.path == photo.resolve() and candidate.title == "photo" and candidate.source == "own"
    assert candidate.attribution() == "Image: your own picture"
    assert not candidate.ai_generated


def test_uploaded_bytes_are_checked_then_kept_in_the_cache():
    data = make_image("png", (200, 100), seed=5)
    candidate = pipeline.own_picture(data, name="My cat.png")
    assert candidate.path.read_bytes() == data
    assert candidate.path.parent == settings.download_dir() / "own" and candidate.path.suffix == ".png"
    assert candidate.title == "My cat" and candidate.attribution() == "Image: your own picture"


def test_a_link_is_downloaded_and_credited_with_its_host(server):
    url = server.add_file("/pictures/x.jpg", make_image("jpeg", (300, 200), seed=7), "image/jpeg")
    candidate = pipeline.own_picture(url)
    assert candidate.path.is_file() and candidate.page_url == url == candidate.original_url
    credit = candidate.attribution()
    assert url in credit and "127.0.0.1" in credit and "right to use it" in credit
    assert "right to" in candidate.restrictions


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"<html><body>login</body></html>", "HTML page"),
        (b"", "empty"),
        ("/no/such/picture.jpg", "does not exist"),
        ("ftp://example.org/x.jpg", "cannot fetch"),
        ("http://[::1/x.jpg", "not a link"),
    ],
)
def test_what_is_not_a_picture_is_a_clear_error(source, message):
    with pytest.raises(ImageError, match=message):
        pipeline.own_picture(source)


def test_a_dead_link_says_so(server):
    with pytest.raises(ImageError, match="Could not download the picture at .*/missing.jpg"):
        pipeline.own_picture(server.url + "/missing.jpg")


def test_the_caps_apply_to_own_pictures(photo, monkeypatch):
    override(monkeypatch, MAX_IMAGE_PIXELS=1000)
    with pytest.raises(ImageError, match="megapixel limit"):
        pipeline.own_picture(photo)
    with pytest.raises(ImageError, match="megapixel limit"):
        pipeline.own_picture(photo.read_bytes())
    override(monkeypatch, MAX_IMAGE_PIXELS=64_000_000, MAX_IMAGE_BYTES=100)
    with pytest.raises(ImageError, match="over the .* limit"):
        pipeline.own_picture(photo)


def test_an_own_picture_renders_with_its_credit_and_no_local_path_in_the_png(photo):
    meme = pipeline.render(pipeline.own_picture(photo), "pie o'clock")
    text = Image.open(io.BytesIO(meme.png)).text
    assert text["Attribution"] == "Image: your own picture" and text["Source"] == "Your own picture"
    assert "Image URL" not in text and str(photo.parent) not in " ".join(text.values())
    assert "AI-generated" not in text


# --- the upload widget's value, in both ipywidgets versions' shapes ---------------------------

DATA = b"\x89PNG\r\n\x1a\n..."


@pytest.mark.parametrize(
    "value",
    [
        # ipywidgets 8: a tuple of dicts, content a memoryview
        (
            {
                "name": "cat.png",
                "type": "image/png",
                "size": len(DATA),
                "content": memoryview(DATA),
                "last_modified": datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc),
            },
        ),
        # ipywidgets 7.7.1: a dict keyed by file name, metadata and bytes
        {
            "cat.png": {
                "metadata": {"name": "cat.png", "type": "image/png", "size": len(DATA), "lastModified": 1764547200000},
                "content": DATA,
            }
        },
        # ipywidgets 7 with its metadata as a string (the front end's JSON, not yet parsed)
        {"cat.png": {"metadata": '{"name": "cat.png", "type": "image/png"}', "content": DATA}},
        # ipywidgets 7 with no metadata at all
        {"cat.png": {"content": memoryview(DATA)}},
        # ipywidgets 8 as a list (after a JSON round trip in some front ends)
        [{"name": "cat.png", "content": bytearray(DATA)}],
    ],
    ids=["ipywidgets-8", "ipywidgets-7", "ipywidgets-7-metadata-string", "ipywidgets-7-no-metadata", "list"],
)
def test_uploaded_file_reads_both_shapes(value):
    assert pipeline.uploaded_file(value) == (DATA, "cat.png")


@pytest.mark.parametrize("value", [(), {}, None, ({"name": "x.png", "content": None},)])
def test_nothing_uploaded_is_a_clear_error(value):
    with pytest.raises(ImageError, match="No picture was uploaded"):
        pipeline.uploaded_file(value)


def test_an_upload_name_is_made_safe_to_show():
    _, name = pipeline.uploaded_file(({"name": "\x1b[2Jevil\u202e.png", "content": DATA},))
    assert "\x1b" not in name and "\u202e" not in name


def test_an_upload_becomes_the_picked_picture():
    data = make_image("jpeg", (120, 90), seed=9)
    content, name = pipeline.uploaded_file(({"name": "pie.jpg", "content": memoryview(data)},))
    candidate = pipeline.own_picture(content, name=name)
    assert candidate.title == "pie" and Image.open(candidate.path).size == (120, 90)


def test_a_link_the_user_typed_may_be_on_a_private_host(hostile):
    """The address policy refuses loopback for addresses from answers, not for a link the user gave."""
    candidate = pipeline.own_picture(hostile.url + "/image")
    assert candidate.path is not None and candidate.path.is_file()
    assert [path for path, _ in hostile.requests] == ["/image"]
