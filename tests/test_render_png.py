"""The PNG (memer.rendering.png): credits as text chunks, no secret in them, and atomic saving."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from memer import __version__
from memer.candidates import ImageCandidate
from memer.errors import RenderError
from memer.rendering import meme_metadata, png, png_bytes, save_png
from memer.rendering.png import METADATA_KEYS


def _candidate(**changes) -> ImageCandidate:
    fields = dict(
        source="commons",
        title="File:Cat.jpg",
        image_url="https://upload.wikimedia.org/thumb/cat.jpg",
        author="Jane Doe",
        license="CC BY-SA 4.0",
        license_url="https://creativecommons.org/licenses/by-sa/4.0/",
        page_url="https://commons.wikimedia.org/wiki/File:Cat.jpg",
    )
    fields.update(changes)
    return ImageCandidate(**fields)


def test_metadata_round_trip():
    caption = "When the cat — 猫 — judges you 😾"
    metadata = meme_metadata(_candidate(), caption, engine="openai")
    data = png_bytes(Image.new("RGB", (8, 8)), metadata)
    text = Image.open(io.BytesIO(data)).text
    assert text["Caption"] == caption
    assert text["Author"] == "Jane Doe"
    assert text["License"] == "CC BY-SA 4.0"
    assert text["License URL"] == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert text["Page URL"] == "https://commons.wikimedia.org/wiki/File:Cat.jpg"
    assert text["Source"] == "Wikimedia Commons"
    assert text["Caption engine"] == "openai"
    assert text["Attribution"] == "Image: Jane Doe / Wikimedia Commons, CC BY-SA 4.0"
    assert set(text) <= set(METADATA_KEYS)


def test_metadata_without_candidate():
    assert meme_metadata(None, "hi") == {"Caption": "hi", "Software": f"memer {__version__}"}


@pytest.mark.parametrize(
    "secret",
    [
        # Fake keys, assembled so that secret scanners do not flag this file.
        "sk-" + "proj-abcdefghijklmnopqrstuvwxyz0123456789",
        "sk-" + "abcdefghijklmnopqrstuvwx",
        "hf_abcdefghijklmnopqrstuvwxyz123456",
        "Bearer abcdefghijklmnop.qrstuvwxyz",
    ],
)
def test_no_secret_in_metadata(secret):
    metadata = meme_metadata(_candidate(author=f"Jane {secret}"), f"caption {secret}", engine="openai")
    data = png_bytes(Image.new("RGB", (8, 8)), metadata)
    assert secret.encode() not in data
    assert secret.split()[-1][-10:].encode() not in data
    assert b"[redacted]" in data


def test_no_key_in_url_query_metadata():
    metadata = meme_metadata(_candidate(page_url="https://example.org/p?id=3&api_key=topsecret123&x=1"), "c")
    data = png_bytes(Image.new("RGB", (8, 8)), metadata)
    assert b"topsecret123" not in data
    assert Image.open(io.BytesIO(data)).text["Page URL"] == "https://example.org/p?id=3&api_key=[redacted]&x=1"


def test_unknown_metadata_key_is_refused():
    with pytest.raises(RenderError, match="not a PNG metadata field"):
        png_bytes(Image.new("RGB", (8, 8)), {"OPENAI_API_KEY": "x"})


def test_save_png_is_atomic(tmp_path):
    data = png_bytes(Image.new("RGB", (8, 8)), {"Caption": "x"})
    target = save_png(tmp_path / "meme.png", data)
    assert target.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meme.png"]  # no temporary left behind


@pytest.mark.parametrize("where", ["missing/meme.png", "afile/meme.png", "."])
def test_save_png_errors_write_nothing(tmp_path, where):
    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(RenderError):
        save_png(tmp_path / where, b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_save_png_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(png.os, "replace", broken_replace)
    with pytest.raises(RenderError, match="No space left"):
        save_png(tmp_path / "meme.png", b"\x89PNG")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [("meme.png", "meme.png"), ("meme.PNG", "meme.PNG"), ("noext", "noext.png"), ("my.meme.png", "my.meme.png")],
)
def test_png_path_adds_the_extension_when_missing(tmp_path, name, expected):
    assert png.png_path(tmp_path / name) == tmp_path / expected


@pytest.mark.parametrize("name", ["meme.jpg", "meme.jpeg", "meme.webp", "meme.png.txt"])
def test_png_path_refuses_other_extensions(tmp_path, name):
    with pytest.raises(RenderError, match="ends in .*PNG"):
        png.png_path(tmp_path / name)


def test_save_png_without_an_extension_writes_a_png_file(tmp_path):
    data = png_bytes(Image.new("RGB", (8, 8)))
    written = save_png(tmp_path / "noext", data)
    assert written == tmp_path / "noext.png" and written.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noext.png"]
    with pytest.raises(RenderError):
        save_png(tmp_path / "meme.jpg", data)
    assert not (tmp_path / "meme.jpg").exists()


def test_metadata_cap_comes_from_settings(monkeypatch):
    from tests.standins.settings import override

    override(monkeypatch, MAX_METADATA_CHARS=50)
    data = png_bytes(Image.new("RGB", (8, 8)), {"Author": "A" * 10_000})
    assert Image.open(io.BytesIO(data)).text["Author"] == "A" * 50
