"""describe_picture: one sentence by the caption engine's model (tiny VLM, the OpenAI stand-in)."""

from __future__ import annotations

import pytest
from PIL import Image

from memer.captioning import describe_picture
from memer.captioning.describe import MAX_DESCRIPTION_CHARS, one_sentence
from memer.errors import CaptionError
from tests.standins.settings import override


@pytest.mark.parametrize(
    ("answer", "sentence"),
    [
        ("A cat sits on a pie. It looks happy.", "A cat sits on a pie."),
        ('"A red barn in snow."\nMore text', "A red barn in snow."),
        ("Description: a dog on a beach", "a dog on a beach"),
        ("1. Two people at a market!", "Two people at a market!"),
        ("", ""),
        (None, ""),
        ("word " * 200, ("word " * 200).strip()[:MAX_DESCRIPTION_CHARS]),
    ],
)
def test_one_sentence(answer, sentence):
    got = one_sentence(answer)
    assert got == sentence or (len(got) <= MAX_DESCRIPTION_CHARS and got.startswith(sentence[:50]))
    assert "\n" not in got


def test_one_sentence_is_display_safe():
    assert "\x1b" not in one_sentence("A pie \x1b[31mred\x1b[0m on a table.")


def test_a_local_vlm_describes_the_picture_repeatably(monkeypatch, tiny_vlm):
    override(monkeypatch, DEVICE="cpu", DESCRIPTION_MAX_TOKENS=12)
    picture = Image.new("RGB", (500, 300), (200, 30, 30))
    first = describe_picture(picture, engine="local", model=str(tiny_vlm))
    second = describe_picture(picture, engine="local", model=str(tiny_vlm))
    assert first.engine == "local" and first.model == str(tiny_vlm)
    assert first.text and first.text == second.text  # greedy: the same picture, the same sentence
    assert "\n" not in first.text and len(first.text) <= MAX_DESCRIPTION_CHARS


def test_a_text_only_model_cannot_describe_and_says_why(monkeypatch, tiny_chat_lm):
    override(monkeypatch, DEVICE="cpu")
    got = describe_picture(Image.new("RGB", (50, 50)), engine="local", model=str(tiny_chat_lm))
    assert got.text == "" and "text-only" in got.note


def test_openai_describes_from_the_small_copy_of_the_picture(openai_api):
    openai_api.content_mode = "lines"
    openai_api.captions = ["A golden apple pie cools on a windowsill. Steam rises."]
    got = describe_picture(Image.new("RGB", (1600, 1000), (200, 120, 40)), engine="openai")
    assert got.text == "A golden apple pie cools on a windowsill."
    assert got.engine == "openai"
    (request,) = openai_api.completion_requests
    content = request.json()["messages"][0]["content"]
    assert content[0]["type"] == "text" and "one plain sentence" in content[0]["text"]
    assert content[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_a_refused_key_when_describing_is_a_clear_caption_error(openai_api):
    wrong = "sk-not-the-right-key-0123456789"
    with pytest.raises(CaptionError) as caught:
        describe_picture(Image.new("RGB", (64, 64)), engine="openai", api_key=wrong)
    assert "key" in str(caught.value).lower()
    assert wrong not in str(caught.value) and wrong not in caught.value.hint


def test_there_must_be_a_picture():
    with pytest.raises(CaptionError, match="no picture"):
        describe_picture(None, engine="local")
