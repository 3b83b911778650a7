"""``memer make --count N -o DIR`` and ``memer.make``: several memes in one run, files that sort, nothing overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import memer
from memer import cli, pipeline
from memer.captioning.cleanup import clean_caption


def _make(capsys, *args):
    capsys.readouterr()
    code = cli.main(["make", "apple pie", "--engine", "openai", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _pngs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.png"))


def test_count_writes_n_memes_of_the_next_best_pictures_named_so_they_sort(world, tmp_path, capsys):
    folder = tmp_path / "memes"  # made by memer: its parent exists
    code, stdout, stderr = _make(capsys, "--count", "3", "-o", str(folder))
    assert code == 0, stderr
    files = _pngs(folder)
    assert [f.name[:3] for f in files] == ["01-", "02-", "03-"]
    assert [line.removeprefix("Wrote ") for line in stdout.splitlines() if line.startswith("Wrote ")] == [
        str(f) for f in files
    ]  # said in the order written, which is the order they sort in
    ranked = pipeline.search("apple pie").candidates
    for place, path in enumerate(files):
        text = Image.open(path).text
        assert text["Image URL"] == (ranked[place].original_url or ranked[place].image_url)  # the next-best picture
        shown = pipeline.captions(ranked[place], theme="apple pie", engine="openai").usable()
        assert text["Caption"] == shown[0].text  # its best usable caption
    assert stdout.count("Caption: ") == 3 and " · fit " in stdout


def test_count_never_overwrites_a_file_already_there(world, tmp_path, capsys):
    folder = tmp_path / "memes"
    assert _make(capsys, "--count", "2", "-o", str(folder))[0] == 0
    first = {path: path.read_bytes() for path in _pngs(folder)}
    (folder / "notes.txt").write_text("mine")
    assert _make(capsys, "--count", "2", "-o", str(folder))[0] == 0
    files = _pngs(folder)
    assert len(files) == 4 and all(path.read_bytes() == data for path, data in first.items())
    assert [f.name[:3] for f in files] == ["01-", "01-", "02-", "02-"]  # the second run's got -2
    assert (folder / "notes.txt").read_text() == "mine"


def test_count_with_your_own_picture_writes_its_top_captions(world, tmp_path, capsys):
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (640, 480), (200, 150, 90)).save(photo)
    folder = tmp_path / "mine"
    code, _stdout, stderr = _make(capsys, "--image", str(photo), "--count", "3", "-o", str(folder))
    assert code == 0, stderr
    captions = [Image.open(path).text["Caption"] for path in _pngs(folder)]
    shown = pipeline.captions(pipeline.own_picture(photo), theme="apple pie", engine="openai").usable()
    assert captions == [c.text for c in shown[:3]]
    assert world.mediawiki.api_requests() == []


def test_a_picture_without_usable_captions_is_skipped_and_said(world, tmp_path, capsys):
    world.openai.flag_words[" "] = ("violence", 0.9, True)  # every caption has a space: every one unsafe
    folder = tmp_path / "memes"
    code, _stdout, stderr = _make(capsys, "--count", "2", "-o", str(folder))
    assert code == 1 and "no meme could be made" in stderr
    assert "skipped" in stderr and "only 0 usable captions came back" in stderr
    assert _pngs(folder) == []
    assert len(world.openai.completion_requests) == 2 + 3  # count + 3 spare pictures tried, not all ten
    code, _stdout, stderr = _make(capsys, "--count", "2", "--allow-unsafe", "-o", str(folder))
    assert code == 0 and len(_pngs(folder)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "0"], "cannot make 0 memes"),
        (["--count", "2", "-o", "/no/such/folder/memes"], "The folder /no/such/folder does not exist"),
    ],
)
def test_bad_counts_and_folders_are_one_line(world, tmp_path, capsys, args, message):
    code, _stdout, stderr = _make(capsys, *(["-o", str(tmp_path / "m")] if "-o" not in args else []), *args)
    assert code == 1 and message in stderr and stderr.count("\n") == 1
    assert world.mediawiki.api_requests() == []  # said before any search


def test_a_file_where_the_folder_should_be(world, tmp_path, capsys):
    taken = tmp_path / "m.png"
    taken.write_bytes(b"mine")
    code, _stdout, stderr = _make(capsys, "--count", "2", "-o", str(taken))
    assert code == 1 and "is a file, not a folder" in stderr and taken.read_bytes() == b"mine"


def test_the_api_makes_several(world, tmp_path):
    done = memer.make("apple pie", count=2, out_dir=tmp_path / "api", engine="openai")
    assert isinstance(done, memer.Several) and [p.name[:3] for p in done.paths] == ["01-", "02-"]
    assert all(p.is_file() for p in done.paths)
    assert {Image.open(p).text["Caption"] for p in done.paths} <= {clean_caption(c) for c in world.openai.captions}
