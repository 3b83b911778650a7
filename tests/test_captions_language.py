"""Both engines ask for captions (and a picture's description) in the chosen language, by name.

Prompts are read where they leave memer: the OpenAI stand-in records each request
(tests/standins/openai_api.py), and the tiny local models' ``generate`` is spied on
(tests/standins/tiny_lm.py, tiny_vlm.py).
"""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from memer import pipeline, settings
from memer.candidates import ImageCandidate
from memer.captioning import describe_picture, generate_captions, local_engine
from memer.captioning.describe import one_sentence
from memer.captioning.prompts import (
    batch_instruction,
    chat_messages,
    describe_request,
    few_shot_prompt,
    instruction,
    vision_chat_messages,
)
from memer.errors import MemerError
from memer.language import parse_language
from tests.standins.settings import override

HINDI, JAPANESE = parse_language("hi"), parse_language("ja")
ASKED_HINDI = "Write the caption in Hindi (हिन्दी)."
HINDI_ANSWERS = [
    '1. "जब माँ कहती है बस पाँच मिनट।"',
    "सोमवार फिर आ गया। #सोमवार",
    "जब माँ कहती है बस पाँच मिनट",  # the first again, without its marks: a duplicate
    "कल फिर आना",
    "काल फिर आना",  # one vowel sign from the line above: a different caption
]


@pytest.fixture(autouse=True)
def _cpu_and_short(monkeypatch):
    override(monkeypatch, DEVICE="cpu", MAX_NEW_TOKENS=8, DESCRIPTION_MAX_TOKENS=8, LOCAL_VISION_SIZE=96)


@pytest.fixture
def picture() -> Image.Image:
    return Image.new("RGB", (640, 400), (200, 120, 40))


# --- the prompts -------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["funny", "wholesome", "sarcastic", "poem", "haiku"])
def test_every_prompt_names_the_language_in_english_and_in_itself(style):
    assert ASKED_HINDI in instruction("apple pie", "a pie", style, language=HINDI)
    assert ASKED_HINDI in batch_instruction("apple pie", "a pie", style, 10, language=HINDI)
    assert ASKED_HINDI in chat_messages("apple pie", "a pie", style, HINDI)[1]["content"]
    vision = vision_chat_messages("apple pie", "a pie", style, HINDI)[1]["content"]
    assert isinstance(vision, list) and ASKED_HINDI in vision[1]["text"]
    assert few_shot_prompt("apple pie", "a pie", style, HINDI).startswith(f"Meme captions in Hindi (हिन्दी), {style}")
    assert describe_request(HINDI).endswith("Write the sentence in Hindi (हिन्दी).")


def test_plain_english_prompts_are_as_before():
    english = parse_language("en")
    assert instruction("apple pie", language=english) == instruction("apple pie")
    assert "Write the caption in" not in batch_instruction("apple pie", language=english)
    assert few_shot_prompt("pie", language=english).startswith("Meme captions, funny style.")
    assert "Write the caption in English (United Kingdom)." in instruction("tea", language=parse_language("en-GB"))


def test_unspaced_scripts_are_asked_for_characters_not_words():
    assert "at most 30 characters" in instruction("cats", language=JAPANESE)
    assert "12 words" not in instruction("cats", language=JAPANESE)
    assert "at most 12 words" in instruction("cats", language=HINDI)


# --- the OpenAI engine --------------------------------------------------------------------


def test_openai_is_asked_in_hindi_and_its_hindi_answer_is_cleaned(openai_api, picture):
    openai_api.captions = list(HINDI_ANSWERS)
    batch = generate_captions("apple pie", image=picture, engine="openai", n=5, language="hi")

    prompt = openai_api.completion_requests[0].json()["messages"][-1]["content"][0]["text"]
    assert ASKED_HINDI in prompt
    assert batch.texts == ["जब माँ कहती है बस पाँच मिनट", "सोमवार फिर आ गया", "कल फिर आना", "काल फिर आना"]
    assert "1 near-duplicate dropped" in batch.note
    assert "multilingual, it reads Hindi captions too" in batch.safety_check
    assert openai_api.moderation_requests[0].json()["input"] == batch.texts


def test_english_batches_say_nothing_about_languages(openai_api, picture):
    batch = generate_captions("apple pie", image=picture, engine="openai")
    assert "Write the caption in" not in openai_api.completion_requests[0].body.decode()
    assert "multilingual" not in batch.safety_check and "English words" not in batch.safety_check


def test_openai_moderation_down_falls_back_to_the_english_word_list_and_says_so(openai_api, picture, monkeypatch):
    openai_api.captions = list(HINDI_ANSWERS)
    openai_api.moderation_status = 500
    override(monkeypatch, OPENAI_MAX_RETRIES=0)
    batch = generate_captions("apple pie", image=picture, engine="openai", n=3, language="hi")
    assert "English words only, so Hindi captions go almost unchecked" in batch.safety_check


def test_openai_describes_the_picture_in_the_language(openai_api, picture):
    describe_picture(picture, engine="openai", language="ja")
    text = openai_api.completion_requests[0].json()["messages"][0]["content"][0]["text"]
    assert text.endswith("Write the sentence in Japanese (日本語).")


@pytest.mark.parametrize(
    ("answer", "sentence"),
    [
        ("猫がソファで寝ている。背景は青い。", "猫がソファで寝ている。"),  # "。" ends a sentence without a space
        ("एक बिल्ली सोफे पर सो रही है। पीछे नीली दीवार है।", "एक बिल्ली सोफे पर सो रही है।"),
        ("قطة نائمة على الأريكة؟ نعم.", "قطة نائمة على الأريكة؟"),
        ("A cat on a sofa. Blue wall.", "A cat on a sofa."),
    ],
)
def test_a_description_is_cut_at_its_first_sentence_in_any_script(answer, sentence):
    assert one_sentence(answer) == sentence


def test_a_bad_language_stops_before_any_request(openai_api, picture):
    with pytest.raises(MemerError) as caught:
        generate_captions("apple pie", image=picture, engine="openai", language="Elvish")
    assert caught.value.code == "language.unknown"
    assert openai_api.server.requests == []


# --- the local engine ---------------------------------------------------------------------


def _spied(monkeypatch, folder) -> tuple[local_engine.LocalModel, list[dict]]:
    local = local_engine.load_model(str(folder), device="cpu")
    calls: list[dict] = []
    original = local.model.generate
    monkeypatch.setattr(local.model, "generate", lambda **kw: calls.append(kw) or original(**kw))
    return local, calls


def test_a_local_chat_model_is_asked_in_hindi_and_the_batch_says_the_check_is_english_only(monkeypatch, tiny_chat_lm):
    local, calls = _spied(monkeypatch, tiny_chat_lm)
    batch = generate_captions("apple pie", engine="local", model=str(tiny_chat_lm), n=2, language="Hindi")
    assert ASKED_HINDI in local.tokenizer.decode(calls[0]["input_ids"][0])
    assert batch.safety_check.endswith("it knows English words only, so Hindi captions go almost unchecked")


def test_a_local_base_model_sees_the_language_in_its_heading(monkeypatch, tiny_gpt_neo):
    local, calls = _spied(monkeypatch, tiny_gpt_neo)
    generate_captions("apple pie", engine="local", model=str(tiny_gpt_neo), n=2, language="ja")
    assert local.tokenizer.decode(calls[0]["input_ids"][0]).startswith("Meme captions in Japanese (日本語), funny")


def test_a_local_vision_model_captions_and_describes_in_the_language(monkeypatch, tiny_vlm, tmp_path):
    monkeypatch.setattr(settings, "LOCAL_PICTURE_CHECK", False)  # its own generate is tested elsewhere
    local, calls = _spied(monkeypatch, tiny_vlm)
    path = tmp_path / "upload.png"
    pixels = torch.randint(0, 256, (120, 160, 3), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    Image.fromarray(pixels.numpy()).save(path)
    candidate = ImageCandidate(source="upload", title="my photo", image_url=path.as_uri(), path=path)

    batch = pipeline.captions(candidate, theme="apple pie", engine="local", model=str(tiny_vlm), n=2, language="hi")
    described, captioned = (local.tokenizer.decode(call["input_ids"][0]) for call in calls)
    assert "Write the sentence in Hindi (हिन्दी)." in described
    assert ASKED_HINDI in captioned
    assert "Hindi captions go almost unchecked" in batch.safety_check

    pipeline.describe(candidate, engine="local", model=str(tiny_vlm), language="hi")  # remembered: no new call
    assert len(calls) == 2
    pipeline.describe(candidate, engine="local", model=str(tiny_vlm), language="ja")  # another language: asked
    assert len(calls) == 3 and "Japanese (日本語)" in local.tokenizer.decode(calls[2]["input_ids"][0])
