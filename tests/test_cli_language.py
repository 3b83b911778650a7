"""``--language`` on ``memer caption``, ``make`` and ``render``, and MEMER_LANGUAGE: asked by name, errors in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from memer import cli, settings
from memer.captioning.cleanup import clean_caption


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (900, 600), (180, 90, 30)).save(path)
    return path


def _prompt(openai_api) -> str:
    return openai_api.completion_requests[0].json()["messages"][-1]["content"][0]["text"]


def test_caption_asks_in_the_language_given(openai_api, photo, capsys):
    openai_api.captions = ["जब माँ कहती है बस पाँच मिनट।", "सोमवार फिर आ गया"]
    code = cli.main(["caption", str(photo), "--theme", "चाय", "--engine", "openai", "--language", "hi", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Write the caption in Hindi (हिन्दी)." in _prompt(openai_api) and "about चाय." in _prompt(openai_api)
    payload = json.loads(out)
    assert [c["text"] for c in payload["captions"]] == ["जब माँ कहती है बस पाँच मिनट", "सोमवार फिर आ गया"]
    assert "multilingual" in payload["safety_check"]


def test_caption_takes_a_name_and_describes_in_the_language(openai_api, photo, capsys):
    code = cli.main(
        ["caption", str(photo), "--theme", "pie", "--engine", "openai", "--language", "Japanese", "--describe"]
    )
    assert code == 0, capsys.readouterr().err
    describe, captions = (r.json()["messages"] for r in openai_api.completion_requests)
    assert describe[0]["content"][0]["text"].endswith("Write the sentence in Japanese (日本語).")
    assert "Write the caption in Japanese (日本語)." in captions[-1]["content"][0]["text"]


def test_memer_language_is_the_default(openai_api, photo, capsys, monkeypatch):
    monkeypatch.setattr(settings, "LANGUAGE", "pt-BR")
    assert cli.main(["caption", str(photo), "--theme", "pie", "--engine", "openai"]) == 0
    assert "Write the caption in Portuguese (Brazil), português (Brasil)." in _prompt(openai_api)


@pytest.mark.parametrize(
    ("command", "hint"),
    [
        (["caption", "PHOTO", "--theme", "pie", "--engine", "openai", "--language", "Elvish"], "--language"),
        (["make", "pie", "-o", "OUT", "--engine", "openai", "--language", "xx"], "--language"),
        (["render", "PHOTO", "hello", "-o", "OUT", "--language", "zz-top"], "--language"),
    ],
)
def test_a_value_that_is_not_a_language_is_one_line_before_any_work(openai_api, photo, tmp_path, capsys, command, hint):
    out = tmp_path / "never.png"
    args = [str(photo) if a == "PHOTO" else str(out) if a == "OUT" else a for a in command]
    code = cli.main(args)
    stdout, err = capsys.readouterr()
    assert code == 1 and stdout == ""
    assert err.startswith("memer: error: ") and len(err.strip().splitlines()) == 1
    assert "is not a language memer knows" in err and hint in err and "Traceback" not in err
    assert openai_api.server.requests == [] and not out.exists()


def test_a_bad_memer_language_names_the_setting(openai_api, photo, capsys, monkeypatch):
    monkeypatch.setattr(settings, "LANGUAGE", "Elvish")
    assert cli.main(["caption", str(photo), "--theme", "pie", "--engine", "openai"]) == 1
    err = capsys.readouterr().err
    assert "Set MEMER_LANGUAGE" in err and "--language" not in err


def test_make_captions_and_renders_in_the_language(world, tmp_path, capsys):
    world.openai.captions = ["istanbul çok güzel", "ikinci başlık"]
    out = tmp_path / "meme.png"
    code = cli.main(["make", "kediler", "--engine", "openai", "--language", "tr", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    prompt = world.openai.completion_requests[0].json()["messages"][-1]["content"][0]["text"]
    assert "Write the caption in Turkish (Türkçe)." in prompt
    assert Image.open(out).text["Caption"] == clean_caption("istanbul çok güzel")


def test_render_upper_cases_by_the_language(photo, tmp_path, capsys):
    turkish, english, capitals = (tmp_path / name for name in ("tr.png", "en.png", "caps.png"))
    assert cli.main(["render", str(photo), "istanbul", "-o", str(turkish), "--language", "tr"]) == 0
    assert cli.main(["render", str(photo), "istanbul", "-o", str(english)]) == 0
    assert cli.main(["render", str(photo), "İSTANBUL", "-o", str(capitals), "--keep-case"]) == 0
    pixels = [Image.open(path).convert("RGB").tobytes() for path in (turkish, english, capitals)]
    assert pixels[0] == pixels[2] != pixels[1]
