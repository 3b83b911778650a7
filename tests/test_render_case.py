"""Upper case where the script has case, by the language's rules: the word, then the drawn meme."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from memer import settings
from memer.errors import MemerError
from memer.rendering import RenderOptions, render_meme
from memer.rendering.case import upper_case


@pytest.mark.parametrize(
    ("text", "language", "upper"),
    [
        ("when monday comes", None, "WHEN MONDAY COMES"),
        ("नमस्ते दुनिया", "hi", "नमस्ते दुनिया"),  # Devanagari has no case
        ("猫は液体です", "ja", "猫は液体です"),
        ("แมวไม่ชอบวันจันทร์", "th", "แมวไม่ชอบวันจันทร์"),
        ("عندما يبدأ الاثنين", "ar", "عندما يبدأ الاثنين"),
        ("כשהקפה נגמר", "he", "כשהקפה נגמר"),
        ("월요일 morning", "ko", "월요일 MORNING"),  # only the Latin part has case
        ("Понедельник опять", "ru", "ПОНЕДЕЛЬНИК ОПЯТЬ"),
        ("Երբ սուրճը", "hy", "ԵՐԲ ՍՈՒՐՃԸ"),
        ("istanbul ılık", "tr", "İSTANBUL ILIK"),  # Turkish dotted and dotless i
        ("bizim işimiz", "az", "BİZİM İŞİMİZ"),
        ("istanbul", "en", "ISTANBUL"),  # the same letters in English
        ("Die Straße", "de", "DIE STRASSE"),
        ("Καλημέρα, τσάι και άυλος καφές", "el", "ΚΑΛΗΜΕΡΑ, ΤΣΑΪ ΚΑΙ ΑΫΛΟΣ ΚΑΦΕΣ"),  # Greek capitals lose accents
        ("ταΐζω είναι", None, "ΤΑΪΖΩ ΕΙΝΑΙ"),  # by script, whatever the language
        ("გამარჯობა hello", "ka", "გამარჯობა HELLO"),  # Georgian stays as written
    ],
)
def test_upper_case_by_script_and_language(text, language, upper):
    assert upper_case(text, language) == upper


def test_a_language_name_works_and_a_bad_one_is_the_language_error(monkeypatch):
    assert upper_case("istanbul", "Turkish") == "İSTANBUL"
    monkeypatch.setattr(settings, "LANGUAGE", "tr")
    assert upper_case("istanbul") == "İSTANBUL"  # MEMER_LANGUAGE is the default
    with pytest.raises(MemerError) as caught:
        upper_case("x", "Elvish")
    assert caught.value.code == "language.unknown"


def _drawn(text: str, **options) -> Image.Image:
    picture = Image.new("RGB", (480, 320), (40, 90, 160))
    return render_meme(picture, text, RenderOptions(output_size=480, **options))


def _same(a: Image.Image, b: Image.Image) -> bool:
    return ImageChops.difference(a, b).getbbox() is None


def test_the_meme_draws_caseless_scripts_as_written():
    for text in ("猫は液体です", "عندما يبدأ الاثنين", "כשהקפה נגמר"):
        assert _same(_drawn(text), _drawn(text, keep_case=True)), text


def test_the_meme_draws_greek_and_turkish_capitals_by_their_rules():
    assert _same(_drawn("Καλημέρα"), _drawn("ΚΑΛΗΜΕΡΑ", keep_case=True))
    assert not _same(_drawn("Καλημέρα"), _drawn("ΚΑΛΗΜΈΡΑ", keep_case=True))  # what str.upper gives
    turkish = _drawn("istanbul", language="tr")
    assert _same(turkish, _drawn("İSTANBUL", keep_case=True))
    assert not _same(turkish, _drawn("istanbul", language="en"))
