"""``memer caption`` against the OpenAI stand-in and a tiny local model.

In-process through ``cli.main`` (the stand-ins live in this process); one
subprocess run checks the real command line end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from memer import cli, settings
from tests.standins.openai_api import FAKE_KEY


@pytest.fixture(autouse=True)
def _ranked_by_the_tiny_clip(tiny_clip_settings):
    """Captions are ranked by CLIP (memer.caption_rank): here the tiny random one, as a user's would be."""


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (900, 600), (180, 90, 30)).save(path)
    return path


def test_openai_json_makes_two_requests_and_prints_ten_levelled_captions(openai_api, photo, capsys):
    openai_api.flag_words = {"diet": ("self-harm", 0.5, False)}
    code = cli.main(["caption", str(photo), "--theme", "apple pie", "--engine", "openai", "--json"])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert [r.path for r in openai_api.server.requests] == [
        "/v1/chat/completions",
        "/v1/moderations",
        "/v1/moderations",
    ]
    payload = json.loads(out)
    assert len(payload["captions"]) == 10
    assert all(set(c) >= {"text", "level", "level_name", "categories"} for c in payload["captions"])
    assert {c["level"] for c in payload["captions"]} == {0, 1}
    assert payload["safety_check"].startswith("OpenAI moderation (omni-moderation-latest)")
    assert payload["engine"] == "openai" and payload["note"] == ""
    assert payload["ranked_by"].startswith("CLIP ") and all(isinstance(c["score"], float) for c in payload["captions"])
    assert FAKE_KEY not in out + err
    # The picture went along (vision grounding is on by default).
    assert "data:image/jpeg;base64," in openai_api.completion_requests[0].body.decode()


def test_plain_output_lists_captions_with_levels(openai_api, photo, capsys, monkeypatch):
    monkeypatch.setattr(settings, "RANK_CAPTIONS", False)  # in the order written, no score
    openai_api.flag_words = {"grandma": ("harassment", 0.9, True)}
    code = cli.main(
        ["caption", str(photo), "--theme", "apple pie", "--engine", "openai", "--n", "3", "--style", "sarcastic"]
    )

    out, err = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0] == " 1. [0 safe] When the pie cools down before you do"
    assert lines[2] == " 3. [2 unsafe] Grandma said one slice. Grandma is not here  (harassment)"
    assert "safety check: OpenAI moderation" in err
    assert "sarcastic" in openai_api.completion_requests[0].body.decode()


def test_local_engine_json(tiny_chat_lm, photo, capsys, monkeypatch):
    monkeypatch.setattr(settings, "DEVICE", "cpu")
    code = cli.main(
        [
            "caption",
            str(photo),
            "--theme",
            "apple pie",
            "--engine",
            "local",
            "--model",
            str(tiny_chat_lm),
            "--n",
            "4",
            "--json",
        ]
    )

    out, err = capsys.readouterr()
    assert code == 0, err
    payload = json.loads(out)
    assert payload["engine"] == "local" and payload["model"] == str(tiny_chat_lm)
    assert "trained offline classifier" in payload["safety_check"]
    assert 1 <= len(payload["captions"]) <= 4
    assert (payload["note"] == "") == (len(payload["captions"]) == 4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "openai", "--style", "limerick"], "unknown caption style 'limerick'"),
        (["--engine", "openai", "--n", "0"], "at least one"),
        (["--engine", "local", "--model", "/nonexistent/model"], "MEMER_CAPTION_MODEL"),
    ],
)
def test_errors_are_one_line_and_exit_1(openai_api, photo, capsys, args, message):
    code = cli.main(["caption", str(photo), "--theme", "apple pie", *args])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("memer: error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert out == ""


def test_a_bad_key_is_one_line_without_the_key(openai_api, photo, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-bad-key-SECRET-42")
    code = cli.main(["caption", str(photo), "--theme", "apple pie", "--engine", "openai"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.strip().startswith("memer: error: OpenAI refused the key (HTTP 401") and "\n" not in err.strip()
    assert "sk-bad-key-SECRET-42" not in out + err


def test_a_file_that_is_not_a_picture(openai_api, tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    code = cli.main(["caption", str(text), "--theme", "pie", "--engine", "openai"])
    assert code == 1
    assert "memer: error:" in capsys.readouterr().err
    assert openai_api.server.requests == []


def test_the_real_command_line_against_the_stand_in(openai_api, photo):
    """``python -m memer caption ... --json`` in a fresh process: two requests, ten levelled captions."""
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "OPENAI_BASE_URL": openai_api.server.url + "/v1",
        "OPENAI_API_KEY": FAKE_KEY,
        "MEMER_OPENAI_MAX_RETRIES": "0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "memer", "caption", str(photo), "--theme", "apple pie", "--engine", "openai", "--json"],
        capture_output=True, text=True, cwd=root, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [r.path for r in openai_api.server.requests] == [
        "/v1/chat/completions",
        "/v1/moderations",
        "/v1/moderations",
    ]
    assert len(json.loads(done.stdout)["captions"]) == 10
    assert FAKE_KEY not in done.stdout + done.stderr


def test_caption_takes_a_picture_link(openai_api, photo, capsys):
    url = openai_api.server.add_file("/photos/photo.jpg", photo.read_bytes(), "image/jpeg")
    code = cli.main(["caption", url, "--theme", "apple pie", "--engine", "openai", "--n", "2"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(out.splitlines()) == 2
    assert [r.path for r in openai_api.server.requests][:1] == ["/photos/photo.jpg"]


def test_plain_output_shows_each_score_best_first_and_what_it_measures(openai_api, photo, capsys):
    code = cli.main(["caption", str(photo), "--theme", "apple pie", "--engine", "openai", "--json"])
    ranked = json.loads(capsys.readouterr().out)["captions"]
    assert code == 0
    code = cli.main(["caption", str(photo), "--theme", "apple pie", "--engine", "openai"])
    out, err = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == [c["text"] for c in ranked]  # the same order as --json
    assert lines[0] == f" 1. [0 safe · fit {ranked[0]['score']:.3f}] {ranked[0]['text']}"
    assert "ranked by: CLIP " in err and "not how funny" in err
