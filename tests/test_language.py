"""Which language the captions are asked in: codes and names checked with Babel, one-line errors in each face's words."""

from __future__ import annotations

import pytest

from memer import cli_hints, settings
from memer.errors import CODES, MemerError
from memer.language import COMMON, ENGLISH, parse_language, resolve_language
from memer.ui.messages import error_for_app


@pytest.mark.parametrize(
    ("value", "code", "name"),
    [
        ("hi", "hi", "Hindi"),
        ("ja", "ja", "Japanese"),
        ("pt-BR", "pt-BR", "Portuguese (Brazil)"),
        ("pt_br", "pt-BR", "Portuguese (Brazil)"),  # the underscore and the case of a POSIX locale
        ("zh-Hant", "zh-Hant", "Chinese (Traditional)"),
        ("hi-IN-u-nu-deva", "hi-IN", "Hindi (India)"),  # an extension says nothing about the language
        ("Hindi", "hi", "Hindi"),
        ("  hindi ", "hi", "Hindi"),
        ("Brazilian Portuguese", "pt-BR", "Portuguese (Brazil)"),
        ("Portuguese (Brazil)", "pt-BR", "Portuguese (Brazil)"),
        ("Deutsch", "de", "German"),  # its own name
        ("日本語", "ja", "Japanese"),
        ("हिन्दी", "hi", "Hindi"),
        ("English", "en", "English"),
        ("", "en", "English"),
    ],
)
def test_a_code_or_a_name_gives_the_language(value, code, name):
    language = parse_language(value)
    assert (language.code, language.name) == (code, name)


def test_the_language_knows_its_own_name_and_whether_it_spaces_words():
    hindi, thai, japanese = parse_language("hi"), parse_language("th"), parse_language("ja")
    assert hindi.label == "Hindi (हिन्दी)" and hindi.script == "Deva" and not hindi.unspaced
    assert thai.unspaced and japanese.unspaced and not parse_language("ar").unspaced
    assert ENGLISH.label == "English" and ENGLISH.is_default and parse_language("en-GB").is_english
    assert not parse_language("en-GB").is_default  # British English is asked for by name


@pytest.mark.parametrize("value", ["xx", "und", "banana", "12", "x", "Klingonese", "q" * 300, "hi; drop table"])
def test_what_is_not_a_language_is_a_one_line_error_with_its_code(value):
    with pytest.raises(MemerError) as caught:
        parse_language(value)
    err = caught.value
    assert err.code == "language.unknown" and err.code in CODES and err.fix == "language"
    assert "\n" not in str(err) and len(str(err)) < 300
    assert "pt-BR" in err.hint


def test_memer_language_is_the_default_and_a_bad_one_names_the_setting(monkeypatch):
    assert "LANGUAGE" in settings.__dict__ and settings.SETTINGS["MEMER_LANGUAGE"].help
    monkeypatch.setattr(settings, "LANGUAGE", "")
    assert resolve_language(None) == ENGLISH
    monkeypatch.setattr(settings, "LANGUAGE", "ja")
    assert resolve_language(None).code == "ja" and resolve_language("hi").code == "hi"
    assert resolve_language(parse_language("th")).code == "th"
    monkeypatch.setattr(settings, "LANGUAGE", "Elvish")
    with pytest.raises(MemerError) as caught:
        resolve_language(None)
    assert caught.value.fix == "MEMER_LANGUAGE"


def test_each_face_words_the_fix_its_own_way():
    flag = MemerError("'xx' is not a language memer knows.", "…", code="language.unknown", fix="language")
    setting = MemerError("'xx' is not a language memer knows.", "…", code="language.unknown", fix="MEMER_LANGUAGE")
    assert "--language" in cli_hints.line(flag) and "MEMER_LANGUAGE" not in cli_hints.line(flag)
    assert "Set MEMER_LANGUAGE" in cli_hints.line(setting)
    assert "Language box" in error_for_app(flag) and "--language" not in error_for_app(flag)
    assert "MEMER_LANGUAGE" in error_for_app(setting)


def test_the_common_languages_all_parse_to_themselves():
    assert [parse_language(code).code for code in COMMON] == list(COMMON)
