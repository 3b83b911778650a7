"""``memer make``: the whole pass from the command line, every outside service stood in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from memer import cli
from memer.captioning.cleanup import clean_caption

ROOT = Path(__file__).resolve().parents[1]
FAKE_KEY_PREFIX = "sk-standin"


def test_a_user_makes_a_meme(world, tmp_path):
    """The real command in a fresh process, configured only by the environment."""
    out = tmp_path / "meme.png"
    done = subprocess.run(
        [sys.executable, "-m", "memer", "make", "apple pie", "--engine", "openai", "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**world.env, "PATH": "/usr/bin:/bin"},
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    meme = Image.open(out)
    assert max(meme.size) == 1024
    caption = meme.text["Caption"]
    assert caption in [clean_caption(c) for c in world.openai.captions]
    assert f"Caption: {caption}  [safe; openai" in done.stdout
    assert meme.text["Attribution"] in done.stdout and meme.text["Attribution"].startswith("Image: ")
    assert meme.text["Caption engine"] == "openai"
    assert (
        len(world.openai.completion_requests) == 1 and len(world.openai.moderation_requests) == 2
    )  # captions, picture
    for text in (done.stdout, done.stderr, *meme.text.values()):
        assert world.env["OPENAI_API_KEY"] not in text


def _make(capsys, *args):
    capsys.readouterr()
    code = cli.main(["make", "apple pie", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _shown(pick: int = 1) -> list[str]:
    """The captions of the ``pick``-th picture in the order memer shows them (ranked): what --caption counts in."""
    from memer import pipeline

    candidate = pipeline.search("apple pie").candidates[pick - 1]
    return [caption.text for caption in pipeline.captions(candidate, theme="apple pie", engine="openai").captions]


def test_pick_and_caption_choose_the_nth(world, tmp_path, capsys):
    out = tmp_path / "second.png"
    code, _stdout, _ = _make(
        capsys, "--engine", "openai", "--pick", "2", "--caption", "3", "--position", "top", "-o", str(out)
    )
    assert code == 0
    shown = _shown(pick=2)
    written = [clean_caption(c) for c in world.openai.captions[: len(shown)]]
    assert len(shown) == 10 and sorted(shown) == sorted(written) and shown != written  # reordered, none lost
    assert Image.open(out).text["Caption"] == shown[2]  # the third shown, not the third the model wrote


def test_unsafe_captions_are_shown_last_and_picked_only_when_allowed(world, tmp_path, capsys):
    first, _second = world.openai.captions[:2]
    world.openai.flag_words[first.split()[0].lower()] = ("violence", 0.9, True)
    assert _shown()[-1] == clean_caption(first)  # the unsafe one goes last, whatever its score
    out = tmp_path / "m.png"
    for caption in range(1, 10):  # the nine usable ones, in the order shown
        assert _make(capsys, "--engine", "openai", "--caption", str(caption), "-o", str(out))[0] == 0
        assert Image.open(out).text["Caption"] != clean_caption(first)
    code, _stdout, stderr = _make(capsys, "--engine", "openai", "--caption", "10", "-o", str(out))
    assert code == 1 and "only 9 usable captions came back (1 held back as unsafe)" in stderr
    assert _make(capsys, "--engine", "openai", "--allow-unsafe", "--caption", "10", "-o", str(out))[0] == 0
    assert Image.open(out).text["Caption"] == clean_caption(first)


def test_the_local_engine_makes_a_meme_without_a_key(world, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    out = tmp_path / "local.png"
    code, _stdout, stderr = _make(capsys, "-o", str(out))
    assert code == 0, stderr
    assert Image.open(out).text["Caption engine"] == "local"
    assert world.openai.completion_requests == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pick", "0"], "count from 1"),
        (["--pick", "99"], "only 10 pictures were found"),
        (["--caption", "99", "--engine", "openai"], "only 10 usable captions came back"),
        (["-o", "/no/such/folder/m.png"], "The folder /no/such/folder does not exist"),
    ],
)
def test_bad_choices_are_one_line_errors_and_write_nothing(world, tmp_path, capsys, args, message):
    out = tmp_path / "never.png"
    code, _stdout, stderr = _make(capsys, *(["-o", str(out)] if "-o" not in args else []), *args)
    assert code == 1
    assert message in stderr and "Traceback" not in stderr
    assert not out.exists()


def test_a_dead_source_is_reported_and_the_meme_still_made(world, tmp_path, capsys, server):
    server.fault("/wikipedia/w/api.php", "status", status=503)
    out = tmp_path / "m.png"
    code, _, stderr = _make(capsys, "--engine", "openai", "-o", str(out))
    assert code == 0 and out.exists()
    assert "memer: Wikipedia failed" in stderr


def test_ctrl_c_while_pictures_download_stops_within_two_seconds(world, server, tmp_path):
    """The download threads are cut and nothing waits for them (it used to wait ~50 s for the thread pool)."""
    import signal
    import time

    for record in world.mediawiki.files.values():
        server.fault(record.thumb_path, "hang", seconds=20)
    env = {**world.env, "PATH": "/usr/bin:/bin", "MEMER_DOWNLOAD_DEADLINE": "60", "MEMER_READ_TIMEOUT": "60"}
    process = subprocess.Popen(
        [sys.executable, "-m", "memer", "make", "apple pie", "-o", str(tmp_path / "meme.png")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        give_up = time.monotonic() + 120
        while not server.requests_to("/wikipedia/commons/") and time.monotonic() < give_up:
            time.sleep(0.05)
        assert server.requests_to("/wikipedia/commons/"), "the downloads never started"
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        _, stderr = process.communicate(timeout=30)
        assert time.monotonic() - interrupted < 2, stderr
    finally:
        process.kill()
    assert process.returncode == cli.EXIT_INTERRUPTED
    assert "memer: interrupted" in stderr and "Traceback" not in stderr


# --- any background (issue 13) -------------------------------------------------------------


def test_make_with_your_own_picture_skips_the_search(world, tmp_path, capsys):
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (640, 480), (200, 150, 90)).save(photo)
    out = tmp_path / "m.png"
    code, stdout, stderr = _make(capsys, "--image", str(photo), "--engine", "openai", "-o", str(out))
    assert code == 0, stderr
    text = Image.open(out).text
    assert text["Attribution"] == "Image: your own picture" and "Image: your own picture" in stdout
    assert world.mediawiki.api_requests() == []  # no search
    assert "AI-generated" not in text


def test_make_with_a_picture_link(world, tmp_path, capsys, server):
    from tests.standins.mediawiki import make_image

    url = server.add_file("/photos/x.jpg", make_image("jpeg", (500, 400), seed=4), "image/jpeg")
    out = tmp_path / "m.png"
    code, stdout, stderr = _make(capsys, "--image", url, "--engine", "openai", "-o", str(out))
    assert code == 0, stderr
    text = Image.open(out).text
    assert url in text["Attribution"] and "right to use it" in text["Attribution"]
    assert text["Image URL"] == url and "Note: " in stdout


def test_make_with_a_generated_picture(world, tmp_path, capsys):
    out = tmp_path / "m.png"
    code, stdout, stderr = _make(capsys, "--sources", "generated", "--engine", "openai", "-o", str(out))
    assert code == 0, stderr
    meme = Image.open(out)
    assert meme.text["AI-generated"] == "yes" and "No text" in meme.text["Prompt"]
    assert meme.text["Attribution"] == "Image: generated by gpt-image-2.5-flare"
    assert "Image: generated by gpt-image-2.5-flare" in stdout
    assert len(world.openai.image_requests) == 1


def test_a_bad_own_picture_is_one_line(world, tmp_path, capsys):
    code, _, stderr = _make(capsys, "--image", str(tmp_path / "nope.jpg"), "-o", str(tmp_path / "m.png"))
    assert code == 1 and stderr.count("\n") == 1 and "does not exist" in stderr


def test_offline_first_contact_is_one_line_per_failure(monkeypatch, tmp_path, capsys):
    """Sources at a closed port, the hub silent, a CLIP id that is not a local folder: every failure said once."""
    import socket

    import huggingface_hub.constants as constants
    import open_clip  # noqa: F401 - imported before the run: the import is not what is bounded

    from memer import hub
    from tests.standins.settings import override

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{closed.getsockname()[1]}/w/api.php"
    closed.close()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
    override(
        monkeypatch,
        COMMONS_API=dead,
        WIKIPEDIA_API=dead,
        HTTP_RETRIES=0,
        HUB_TIMEOUT=0.3,
        CLIP_MODEL="RN50",
        CLIP_PRETRAINED="openai",
        SOURCES=["commons", "wikipedia", "openimages"],
    )
    hub.forget()
    try:
        code = cli.main(["make", "apple pie", "-o", str(tmp_path / "meme.png")])
    finally:
        silent.close()
        hub.forget()
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 1 and out == ""
    assert [line.split(" failed:")[0] for line in lines[:3]] == [
        "memer: Wikimedia Commons",
        "memer: Wikipedia",
        "memer: Open Images",
    ]
    assert len(lines) == 4 and lines[3].startswith("memer: error: Could not load CLIP RN50 (openai)")
    assert "cannot be reached" in lines[3] and "HF_HUB_OFFLINE=1" in lines[3]
    assert not any(word in err for word in ("WARNING", "ERROR:root", "Traceback", "Retrying"))


def test_make_with_an_animated_picture_writes_an_animated_webp(world, tmp_path, capsys):
    chi = Path(__file__).parent / "data" / "animated" / "chi.gif"
    out = tmp_path / "m.webp"
    code, stdout, stderr = _make(capsys, "--image", str(chi), "--engine", "openai", "-o", str(out))
    assert code == 0, stderr
    meme = Image.open(out)
    assert meme.format == "WEBP" and meme.n_frames > 10 and "<memer:caption>" in meme.info["xmp"].decode("utf-8")
    assert f"Wrote {out} (WEBP, 31 frames, 320x240, " in stdout


def test_make_with_a_still_picture_refuses_a_gif_before_the_captions(world, tmp_path, capsys):
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (640, 480), (200, 150, 90)).save(photo)
    code, _, stderr = _make(capsys, "--image", str(photo), "--engine", "openai", "-o", str(tmp_path / "m.gif"))
    assert code == 1 and "does not move" in stderr and stderr.count("\n") == 1
    assert world.openai.completion_requests == []  # said before any caption was asked for
    assert not (tmp_path / "m.gif").exists()
