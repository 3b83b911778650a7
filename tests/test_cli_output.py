"""What the CLI shows: missing extras named, outside text made safe, library noise kept out (memer/cli_output.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from memer import cli
from tests.standins.server import Response

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "\x1b[2J\x1b]8;;https://evil.example\x07link\x1b]8;;\x07\x1b]0;owned\x07\u202eevil"

# A fresh interpreter where the optional packages are missing, as after a plain `pip install memer`.
_WITHOUT_EXTRAS = r"""
import importlib.abc, json, sys
MISSING = {"torch", "torchvision", "open_clip", "timm", "transformers", "safetensors", "accelerate", "openai", "ipywidgets"}
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in MISSING:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Missing())
import contextlib, io
from memer import cli
results = {}
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    results[" ".join(argv[:2])] = [code, err.getvalue()]
print(json.dumps(results))
"""


def test_without_extras_every_command_names_the_extra_to_install(tmp_path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), "orange").save(photo)
    commands = [
        ["search", "apple pie", "--sources", "commons"],
        ["caption", str(photo), "--theme", "pie", "--engine", "local"],
        ["caption", str(photo), "--theme", "pie", "--engine", "openai"],
        ["make", "apple pie", "-o", str(tmp_path / "m.png"), "--sources", "openimages"],
        ["cache", "build", "--splits", "validation"],
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MEMER_USER_CACHE": str(tmp_path / "cache"),
        "OPENAI_API_KEY": "sk-test-0123456789abcdef",
        # Never the real internet: the sources point at a port where nothing listens.
        "MEMER_COMMONS_API": "http://127.0.0.1:9/w/api.php",
        "MEMER_WIKIPEDIA_API": "http://127.0.0.1:9/w/api.php",
        "MEMER_HTTP_RETRIES": "0",
        "HF_HUB_OFFLINE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS, json.dumps(commands)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    expected = {
        "search apple pie": "memer[clip]",
        f"caption {photo}": None,  # two runs share the key; checked below
        "make apple pie": "memer[clip]",
        "cache build": "memer[clip]",
    }
    for command, (code, err) in results.items():
        assert code == 1, (command, err)
        last = err.strip().splitlines()[-1]
        assert "Traceback" not in err and last.startswith("memer: error: "), (command, err)
        assert "pip install 'memer[" in last, (command, err)
        if expected.get(command):
            assert expected[command] in err, (command, err)


def test_missing_package_messages_name_the_extra():
    missing = ModuleNotFoundError("No module named 'torch'", name="torch")
    assert "pip install 'memer[local]'" in cli.missing_package_message(missing, "caption")
    assert "--engine openai" in cli.missing_package_message(missing, "caption")
    assert "pip install 'memer[clip]'" in cli.missing_package_message(missing, "search")
    unknown = ModuleNotFoundError("No module named 'zzz'", name="zzz")
    assert "Reinstall memer" in cli.missing_package_message(unknown, "render")


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.new("RGB", (640, 480), "orange").save(path)
    return path


def test_hostile_captions_and_model_names_are_shown_harmless(openai_api, photo, capsys):
    openai_api.model_name = "gpt" + HOSTILE
    openai_api.captions = ["Pie " + HOSTILE, "Another pie", "Third pie"]
    code = cli.main(["caption", str(photo), "--theme", "apple pie", "--engine", "openai", "--n", "3"])
    out, err = capsys.readouterr()
    assert code == 0 and "Another pie" in out
    for shown in (out, err):
        assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown


def test_a_hostile_api_error_text_is_one_harmless_line(openai_api, photo, capsys):
    def forbidden(request):
        message = f"Denied {HOSTILE} for key {openai_api.key}\nsecond line"
        return Response.json({"error": {"message": message, "type": "x", "param": None, "code": None}}, 403)

    openai_api.server.route("/v1/chat/completions", forbidden)
    code = cli.main(["caption", str(photo), "--theme", "apple pie", "--engine", "openai"])
    _out, err = capsys.readouterr()
    assert code == 1 and err.startswith("memer: error: OpenAI refused this key access (HTTP 403)")
    assert len(err.strip().splitlines()) == 1
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err and openai_api.key not in err


def test_a_hostile_error_message_from_anywhere_is_made_safe(monkeypatch, capsys):
    from memer.errors import MemerError

    def boom(args):
        raise MemerError("bad " + HOSTILE)

    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_run(parser(), boom))
    assert cli.main(["render", "a.png", "text", "-o", "b.png"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("memer: error: bad") and "\x1b" not in err and "\u202e" not in err


def _with_run(parser, run):
    parser.set_defaults(run=run)
    for action in parser._subparsers._group_actions:
        for sub in action.choices.values():
            sub.set_defaults(run=run)
    return parser
