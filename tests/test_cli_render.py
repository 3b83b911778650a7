"""``memer render``: a PNG on success; on bad input a one-line error, exit 1, and no file."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _memer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "memer", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "in.jpg"
    Image.new("RGB", (320, 240), (40, 90, 160)).save(path)
    return path


@pytest.mark.parametrize("position", ["top", "bottom", "both"])
def test_render_writes_a_png_with_metadata(tmp_path, picture, position):
    out = tmp_path / "meme.png"
    result = _memer("render", str(picture), "top text | bottom text", "-o", str(out), "--position", position)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    meme = Image.open(out)
    assert meme.format == "PNG" and meme.size == (1024, 768)
    assert meme.text["Caption"] == "top text | bottom text"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_render_options(tmp_path, picture):
    out = tmp_path / "meme.png"
    args = ["--font-size", "40", "--keep-case", "--attribution", "Image: Jane Doe, CC BY 4.0"]
    result = _memer("render", str(picture), "Keep My Case", "-o", str(out), *args)
    assert result.returncode == 0, result.stderr
    assert Image.open(out).size == (1024, 768)


def _broken_cases(tmp_path: Path, picture: Path) -> dict[str, tuple[list[str], str]]:
    html = tmp_path / "page.jpg"
    html.write_text("<!DOCTYPE html><html><body>Not found</body></html>")
    truncated = tmp_path / "cut.png"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, format="PNG")
    truncated.write_bytes(buffer.getvalue()[:60])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    out = str(tmp_path / "out.png")
    return {
        "missing image": ([str(tmp_path / "nope.jpg"), "hi", "-o", out], "does not exist"),
        "html as image": ([str(html), "hi", "-o", out], "HTML"),
        "truncated image": ([str(truncated), "hi", "-o", out], "truncated"),
        "empty image": ([str(empty), "hi", "-o", out], "empty"),
        "empty caption": ([str(picture), "   ", "-o", out], "caption is empty"),
        "bad font size": ([str(picture), "hi", "-o", out, "--font-size", "huge"], "--font-size"),
        "zero font size": ([str(picture), "hi", "-o", out, "--font-size", "0"], "--font-size"),
        "output folder missing": ([str(picture), "hi", "-o", str(tmp_path / "no" / "out.png")], "does not exist"),
        "output under a file": ([str(picture), "hi", "-o", str(blocker / "out.png")], "does not exist"),
        "output is a folder": ([str(picture), "hi", "-o", str(tmp_path)], "folder"),
    }


CASE_NAMES = [
    "missing image",
    "html as image",
    "truncated image",
    "empty image",
    "empty caption",
    "bad font size",
    "zero font size",
    "output folder missing",
    "output under a file",
    "output is a folder",
]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_bad_input_is_one_line_exit_1_and_no_file(tmp_path, picture, case):
    args, words = _broken_cases(tmp_path, picture)[case]
    before = sorted(tmp_path.rglob("*"))
    result = _memer("render", *args)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memer: error:"), result.stderr
    assert words.lower() in lines[0].lower()
    assert "Traceback" not in result.stderr
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, no temporary left


def test_unknown_position_is_a_usage_error(tmp_path, picture):
    result = _memer("render", str(picture), "hi", "-o", str(tmp_path / "x.png"), "--position", "middle")
    assert result.returncode == 2
    assert not (tmp_path / "x.png").exists()


def test_existing_output_survives_a_failed_render(tmp_path, picture):
    out = tmp_path / "meme.png"
    out.write_bytes(b"previous meme")
    result = _memer("render", str(tmp_path / "nope.jpg"), "hi", "-o", str(out))
    assert result.returncode == 1
    assert out.read_bytes() == b"previous meme"


def test_empty_caption_is_refused_before_the_picture_is_opened(tmp_path):
    result = _memer("render", str(tmp_path / "nope.jpg"), "  ", "-o", str(tmp_path / "x.png"))
    assert result.returncode == 1
    assert result.stderr.strip() == "memer: error: The caption is empty. Give some text to put on the picture."


def test_output_without_an_extension_gets_png_and_other_extensions_are_refused(tmp_path, picture):
    result = _memer("render", str(picture), "hi", "-o", str(tmp_path / "noext"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "noext.png").read_bytes().startswith(b"\x89PNG") and not (tmp_path / "noext").exists()
    refused = _memer("render", str(picture), "hi", "-o", str(tmp_path / "meme.jpg"))
    assert refused.returncode == 1 and ".png" in refused.stderr and not (tmp_path / "meme.jpg").exists()


def test_render_places_the_caption_by_itself_by_default(tmp_path, picture):
    out = tmp_path / "meme.png"
    result = _memer("render", str(picture), "no position given", "-o", str(out))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert Image.open(out).size == (1024, 768)


def test_render_with_a_band_adds_it_outside_the_picture(tmp_path, picture):
    out = tmp_path / "meme.png"
    result = _memer("render", str(picture), "me, reacting", "-o", str(out), "--position", "below")
    assert result.returncode == 0, result.stderr
    meme = Image.open(out).convert("RGB")
    assert meme.width == 1024 and meme.height > 768
    assert np.abs(np.subtract(meme.getpixel((5, 767)), (40, 90, 160))).max() < 4  # the picture's last row
    assert meme.getpixel((5, meme.height - 3)) == (255, 255, 255)


def test_render_boxes_without_a_caption(tmp_path, picture):
    out = tmp_path / "meme.png"
    args = ["--box", "0.05,0.1,0.4,0.2=me", "--box", "bottom right=the code I wrote at 2 am"]
    result = _memer("render", str(picture), "-o", str(out), *args)
    assert result.returncode == 0, result.stderr
    meme = Image.open(out)
    assert meme.text["Caption"] == "me / the code I wrote at 2 am"
    pixels = np.asarray(meme.convert("RGB"))
    assert (pixels[77:230, 51:460] != (40, 90, 160)).any(axis=2).sum() > 500  # the first box's text


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("0.1,0.1,0.3=x", "neither four numbers"),
        ("0.1,0.1,0.3,0.2", "no =TEXT"),
        ("0.8,0.1,0.3,0.2=x", "past the picture's edge"),
        ("up there=x", "neither four numbers"),
    ],
)
def test_a_bad_box_is_one_line(tmp_path, picture, spec, words):
    out = tmp_path / "meme.png"
    result = _memer("render", str(picture), "-o", str(out), "--box", spec)
    assert result.returncode == 1 and not out.exists()
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("memer: error: --box") or line.startswith("memer: error: Text box"), line
    assert words in line


# --- animated pictures (issue 22) --------------------------------------------------------------------

CHI = ROOT / "tests" / "data" / "animated" / "chi.gif"


@pytest.mark.parametrize(("name", "kind"), [("meme.gif", "GIF"), ("meme.webp", "WEBP"), ("meme.png", "PNG")])
def test_render_keeps_an_animated_gif_moving_in_the_format_asked(tmp_path, name, kind):
    out = tmp_path / name
    result = _memer("render", str(CHI), "it still moves", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert "frames, 320x240" in result.stderr and result.stderr.count("\n") == 1
    meme = Image.open(out)
    assert meme.format == kind and meme.n_frames > 10 and meme.info.get("loop") == 0


def test_render_refuses_an_animation_to_jpeg_and_a_still_to_gif_in_one_line(tmp_path, picture):
    result = _memer("render", str(CHI), "it moves", "-o", str(tmp_path / "meme.jpg"))
    assert result.returncode == 1 and "GIF, WebP or APNG" in result.stderr and result.stderr.count("\n") == 1
    result = _memer("render", str(picture), "still", "-o", str(tmp_path / "meme.gif"))
    assert result.returncode == 1 and ".png" in result.stderr and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == [picture]
