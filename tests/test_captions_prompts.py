"""Prompt building for chat models (zero-shot) and base models (few-shot), per style."""

from __future__ import annotations

import sys

import pytest

from memer import settings
from memer.captioning import ENGINES, STYLES, choose_engine, generate_captions
from memer.captioning.prompts import (
    FEW_SHOT_EXAMPLES,
    batch_instruction,
    chat_messages,
    check_style,
    few_shot_prompt,
    instruction,
)
from memer.errors import CaptionError


def test_styles_and_engines():
    assert STYLES == ("funny", "wholesome", "sarcastic", "poem", "haiku")
    assert ENGINES == ("openai", "local")
    assert set(FEW_SHOT_EXAMPLES) == set(STYLES)
    assert all(len(examples) >= 2 for examples in FEW_SHOT_EXAMPLES.values())


def test_the_funny_zero_shot_prompt():
    text = instruction("apple pie", "a pie on a windowsill.")
    assert text.startswith(
        "Create a funny caption for a new meme about apple pie. The background picture is a pie on a windowsill."
    )


@pytest.mark.parametrize(
    ("style", "phrase"),
    [
        ("funny", "Create a funny caption"),
        ("wholesome", "wholesome"),
        ("sarcastic", "sarcastic"),
        ("poem", "two short rhyming lines"),
        ("haiku", "5, 7 and 5 syllables"),
    ],
)
def test_each_style_asks_for_its_kind(style, phrase):
    text = instruction("cats", "a cat on a table", style)
    assert phrase in text and "about cats" in text


@pytest.mark.parametrize("style", ["poem", "haiku"])
def test_multi_line_styles_ask_for_one_line_with_separators(style):
    assert "separated by ' / '" in instruction("cats", style=style)
    assert all(" / " in example.caption for example in FEW_SHOT_EXAMPLES[style])


@pytest.mark.parametrize(
    ("description", "has_image", "sentence"),
    [
        ("a red barn", False, "The background picture is a red barn."),
        ("a red barn", True, "The background picture (attached) is a red barn."),
        ("", True, "The background picture is attached."),
        ("", False, None),
    ],
)
def test_picture_sentence(description, has_image, sentence):
    text = instruction("farms", description, has_image=has_image)
    if sentence:
        assert sentence in text
    else:
        assert "background picture" not in text


def test_batch_instruction_asks_for_n_in_json():
    text = batch_instruction("pie", n=7)
    assert "Give 7 different captions" in text and '{"captions": [...]}' in text


def test_chat_messages():
    system, user = chat_messages("pie", "a pie", "wholesome")
    assert system["role"] == "system" and user["role"] == "user"
    assert "wholesome" in user["content"] and user["content"].endswith("on one line.")


@pytest.mark.parametrize("style", STYLES)
def test_few_shot_prompt_ends_where_the_caption_goes(style):
    page = few_shot_prompt("apple pie", "a pie on a windowsill", style)
    assert page.endswith("Theme: apple pie\nImage description: a pie on a windowsill\nCaption:")
    for example in FEW_SHOT_EXAMPLES[style]:
        assert f"Theme: {example.theme}\nImage description: {example.description}\nCaption: {example.caption}\n" in page
    assert style in page.splitlines()[0]


def test_few_shot_without_a_description_still_describes():
    assert few_shot_prompt("pie").endswith("Image description: a picture about pie\nCaption:")


def test_whitespace_in_theme_is_tidied():
    assert "about apple pie." in instruction("  apple \n pie ")


@pytest.mark.parametrize(("given", "chosen"), [(None, "funny"), ("", "funny"), ("Haiku", "haiku"), (" poem ", "poem")])
def test_check_style(given, chosen):
    assert check_style(given) == chosen


def test_an_unknown_style_lists_the_choices():
    with pytest.raises(CaptionError, match="funny, wholesome, sarcastic, poem, haiku"):
        check_style("limerick")
    with pytest.raises(CaptionError, match="unknown caption style"):
        generate_captions("pie", style="limerick", engine="local")


@pytest.mark.parametrize(
    ("theme", "n", "match"), [("", 10, "needs a theme"), ("  ", 10, "needs a theme"), ("pie", 0, "at least one")]
)
def test_bad_requests_fail_before_any_engine(theme, n, match):
    with pytest.raises(CaptionError, match=match):
        generate_captions(theme, n=n, engine="local", model="/nonexistent")


@pytest.mark.parametrize(
    ("engine", "setting", "key", "expected"),
    [
        ("local", "", "sk-x", "local"),
        ("openai", "", None, "openai"),
        (None, "local", "sk-x", "local"),
        (None, "", "sk-x", "openai"),
        (None, "", None, "local"),
        ("OpenAI", "", None, "openai"),
    ],
)
def test_choose_engine(monkeypatch, engine, setting, key, expected):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setitem(sys.modules, "google.colab", None)
    monkeypatch.setattr(settings, "CAPTION_ENGINE", setting)
    assert choose_engine(engine, key) == expected


def test_an_unknown_engine_is_an_error(monkeypatch):
    monkeypatch.setattr(settings, "CAPTION_ENGINE", "gpt3")
    with pytest.raises(CaptionError, match="openai, local"):
        choose_engine()
