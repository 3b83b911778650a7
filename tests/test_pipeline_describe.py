"""pipeline.describe and the seed: a picture without words gets the model's description, stored as PNG alt text."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from memer import cli, pipeline
from memer.candidates import ImageCandidate
from memer.captioning import check_seed, generate_captions, local_engine
from memer.errors import CaptionError
from tests.standins.settings import override


@pytest.fixture(autouse=True)
def _cpu_and_short(monkeypatch):
    override(monkeypatch, DEVICE="cpu", MAX_NEW_TOKENS=10, DESCRIPTION_MAX_TOKENS=10, LOCAL_VISION_SIZE=96)


def _uploaded(tmp_path, name="upload.png", seed=0) -> ImageCandidate:
    """A picture as an upload gives it: a file, a title, no description."""
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (300, 400, 3), generator=generator, dtype=torch.uint8).numpy()
    path = tmp_path / name
    Image.fromarray(pixels).save(path)
    return ImageCandidate(source="upload", title="my photo", image_url=path.as_uri(), path=path, license="own work")


def test_a_picture_without_words_is_described_once_and_the_captions_use_it(monkeypatch, tmp_path, tiny_vlm):
    local = local_engine.load_model(str(tiny_vlm), device="cpu")
    calls = []
    original = local.model.generate
    monkeypatch.setattr(local.model, "generate", lambda **kw: calls.append(kw) or original(**kw))
    candidate = _uploaded(tmp_path)

    description = pipeline.describe(candidate, engine="local", model=str(tiny_vlm))
    batch = pipeline.captions(candidate, theme="apple pie", engine="local", model=str(tiny_vlm), n=4, seed=1)

    assert description.text and batch.description == description.text
    # One to describe (remembered), ONE for all the captions, one that rates each picture+caption pair.
    assert len(calls) == 3 and calls[2]["do_sample"] is False
    assert calls[2]["input_ids"].shape[0] == len(batch.captions)
    assert calls[1]["input_ids"].shape[0] == 4  # four rows from one shared pass over prompt and picture
    assert description.text[:20] in local.tokenizer.decode(calls[1]["input_ids"][0])


def test_a_source_description_is_used_as_it_is(monkeypatch, tmp_path, tiny_vlm):
    candidate = _uploaded(tmp_path)
    candidate.description = "a pie on a windowsill"
    monkeypatch.setattr(pipeline, "describe", lambda *a, **k: pytest.fail("described a picture that has words"))
    batch = pipeline.captions(candidate, theme="pie", engine="local", model=str(tiny_vlm), n=2)
    assert batch.description == "a pie on a windowsill"


def test_describing_can_be_turned_off(monkeypatch, tmp_path, tiny_vlm):
    override(monkeypatch, DESCRIBE=False)
    monkeypatch.setattr(pipeline, "describe", lambda *a, **k: pytest.fail("described although DESCRIBE is off"))
    batch = pipeline.captions(_uploaded(tmp_path), theme="pie", engine="local", model=str(tiny_vlm), n=2)
    assert batch.description == ""


def test_the_description_is_the_png_alt_text(tmp_path):
    meme = pipeline.render(_uploaded(tmp_path), "pie", description="A cat sits on an apple pie.")
    assert Image.open(io.BytesIO(meme.png)).text["Description"] == "A cat sits on an apple pie."
    assert "Description" not in Image.open(io.BytesIO(pipeline.render(_uploaded(tmp_path), "pie").png)).text


def test_the_same_seed_gives_the_same_captions(monkeypatch, tmp_path, tiny_vlm, tiny_chat_lm):
    candidate = _uploaded(tmp_path)
    for model in (str(tiny_vlm), str(tiny_chat_lm)):
        runs = [
            pipeline.captions(candidate, theme="apple pie", engine="local", model=model, n=5, seed=seed).texts
            for seed in (11, 11, 12)
        ]
        assert runs[0] == runs[1], model
        assert runs[0] != runs[2], model


def test_the_seed_setting_is_the_default(monkeypatch, tiny_chat_lm):
    override(monkeypatch, SEED="99")
    first = generate_captions("pie", engine="local", model=str(tiny_chat_lm), n=4).texts
    torch.manual_seed(12345)  # whatever happened in between
    assert generate_captions("pie", engine="local", model=str(tiny_chat_lm), n=4).texts == first


@pytest.mark.parametrize(
    ("given", "setting", "expected"), [(None, "", None), ("7", "", 7), (None, "42", 42), (3, "42", 3)]
)
def test_check_seed(monkeypatch, given, setting, expected):
    override(monkeypatch, SEED=setting)
    assert check_seed(given) == expected


@pytest.mark.parametrize("bad", ["abc", "1.5", -1, 2**64])
def test_a_bad_seed_is_a_clear_error(bad):
    with pytest.raises(CaptionError, match="seed"):
        check_seed(bad)


def test_the_cli_seed_repeats_the_captions(tmp_path, tiny_chat_lm, capsys):
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (300, 200), (10, 120, 200)).save(photo)
    args = ["caption", str(photo), "--theme", "pie", "--engine", "local", "--model", str(tiny_chat_lm), "--n", "4"]
    outputs = []
    for _ in range(2):
        assert cli.main([*args, "--seed", "5"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and outputs[0]
    assert cli.main([*args, "--seed", "five"]) == 1
    assert "seed" in capsys.readouterr().err


def test_the_cli_captions_a_photo_with_a_vlm_folder(tmp_path, tiny_vlm, capsys, monkeypatch):
    """`memer caption photo.jpg --theme x --engine local` with a VLM folder: 10 cleaned, levelled captions."""
    import json

    import memer.captioning
    from memer.captioning.base import PictureDescription

    described = []

    def fixed_description(picture, **options):
        described.append(options)
        return PictureDescription("A noisy \x1b[31mpicture.", "local", options["model"])

    monkeypatch.setattr(memer.captioning, "describe_picture", fixed_description)

    photo = tmp_path / "photo.jpg"
    Image.fromarray(torch.randint(0, 256, (200, 300, 3), dtype=torch.uint8).numpy()).save(photo)
    args = ["caption", str(photo), "--theme", "pie", "--engine", "local", "--model", str(tiny_vlm)]
    assert cli.main([*args, "--json", "--describe", "--seed", "3"]) == 0
    out, _ = capsys.readouterr()
    payload = json.loads(out)
    assert 8 <= len(payload["captions"]) <= 10
    assert payload["safety_check"].startswith(f"picture+caption check by {tiny_vlm}; trained text classifier")
    # A random model answers no digit: every caption's level is the text checks', and the note says so.
    assert "gave no rating (a digit 0, 1 or 2)" in payload["note"]
    assert all(c["level"] in (0, 1, 2) for c in payload["captions"])
    assert described and described[0]["engine"].name == "local"  # the engine chosen once, passed down
    assert payload["description"].startswith("A noisy")  # what the caption prompt was given
    assert cli.main([*args, "--describe", "--n", "2"]) == 0
    err = capsys.readouterr().err
    assert "description: A noisy" in err and "\x1b" not in err  # shown through display_safe
