"""Cleanup, de-duplication and the caption count hold for every script, with real captions in each.

No English-only rule reaches another language: a Hindi vowel sign is part of its word, Thai and
Japanese have no spaces to split on, each script's quotes and full stop are its own, and English
articles are ignored only in English.
"""

from __future__ import annotations

import pytest

from memer.captioning.cleanup import clean_caption, clean_captions, duplicate_key, is_near_duplicate
from memer.language import parse_language

HINDI, JAPANESE, THAI = parse_language("hi"), parse_language("ja"), parse_language("th")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        # Hindi: numbering, quotes, the danda as full stop, hashtags whose words carry vowel signs
        ('1. "जब माँ कहती है बस पाँच मिनट।"', "जब माँ कहती है बस पाँच मिनट"),
        ("सोमवार फिर आ गया। #सोमवार #मज़ेदार", "सोमवार फिर आ गया"),
        ("आज #छुट्टी है", "आज छुट्टी है"),  # an inline hashtag keeps its whole word, vowel signs and all
        # Japanese: corner brackets, full-width numbering, the ideographic full stop
        ("「猫は液体です。」", "猫は液体です"),
        ("１．月曜日の朝、やる気ゼロ。", "月曜日の朝、やる気ゼロ"),
        ("（2）ねこは今日も寝ている", "ねこは今日も寝ている"),
        ("・会議は踊る、されど進まず", "会議は踊る、されど進まず"),
        ("ねこ。。。", "ねこ。。。"),  # an ellipsis keeps its dots
        # Chinese and Korean
        ("“我太难了。”", "我太难了"),
        ("- 월요일이 또 왔다.", "월요일이 또 왔다"),
        # Thai: no spaces, tone marks and vowels above and below
        ("แมวไม่ชอบวันจันทร์ #แมว", "แมวไม่ชอบวันจันทร์"),
        ("“ชีวิตคือการกินและนอน”", "ชีวิตคือการกินและนอน"),
        # Arabic, Persian (the zero-width non-joiner is spelling), Urdu's full stop, Hebrew
        ("«عندما يبدأ يوم الاثنين»", "عندما يبدأ يوم الاثنين"),
        ("می\u200cخواهم فقط بخوابم.", "می\u200cخواهم فقط بخوابم"),
        ("جب پیر آتا ہے۔", "جب پیر آتا ہے"),
        ('"כשהקפה נגמר"', "כשהקפה נגמר"),
        # German and Danish quotes, Greek, Russian, Armenian's full stop, Tamil and Bengali
        ("„Montag schon wieder“", "Montag schon wieder"),
        ("»Mandag igen«", "Mandag igen"),
        ("Όταν τελειώνει ο καφές.", "Όταν τελειώνει ο καφές"),
        ("2) «Понедельник, опять ты»", "Понедельник, опять ты"),
        ("Երբ սուրճը վերջանում է։", "Երբ սուրճը վերջանում է"),
        ("திங்கள் மீண்டும் வந்தது.", "திங்கள் மீண்டும் வந்தது"),
        ("আবার সোমবার। #সোমবার", "আবার সোমবার"),
    ],
)
def test_each_script_is_cleaned_by_its_own_marks(raw, clean):
    assert clean_caption(raw) == clean


def test_a_vowel_sign_makes_a_different_hindi_caption():
    # कल (tomorrow) and काल (time), दिन and दीन: one vowel sign apart, two words; Python's \w would drop the signs.
    assert not is_near_duplicate("कल फिर आना", "काल फिर आना", HINDI)
    assert not is_near_duplicate("अच्छा दिन", "अच्छा दीन", HINDI)
    assert duplicate_key("कल फिर आना।", HINDI) == duplicate_key("कल  फिर आना", HINDI) == "कल फिर आना"


def test_thai_and_japanese_compare_as_whole_lines_with_their_marks():
    assert not is_near_duplicate("ไม่", "ไม้", THAI)  # "not" and "wood": only the tone mark differs
    assert is_near_duplicate("แมวไม่ชอบวันจันทร์!", "แมวไม่ชอบวันจันทร์", THAI)
    assert is_near_duplicate("猫は液体です。", "猫は液体です！", JAPANESE)
    assert not is_near_duplicate("猫は液体です", "犬は液体です", JAPANESE)
    assert is_near_duplicate("ＡＢＣの歌", "abcの歌", JAPANESE)  # full-width letters fold


def test_english_articles_are_ignored_only_in_english():
    assert is_near_duplicate("a cat on the roof", "the cat on a roof")  # English (the default)
    assert is_near_duplicate("a cat on the roof", "the cat on a roof", parse_language("en-GB"))
    spanish = parse_language("es")
    # In Spanish "a" is "to": "Voy a casa" and "Voy casa" are not the same caption.
    assert not is_near_duplicate("Voy a casa", "Voy casa", spanish)


@pytest.mark.parametrize(
    ("language", "answers"),
    [
        ("hi", ["कल फिर आना", "काल फिर आना", "कल फिर आना।", '"कल फिर आना"', "सोमवार!", "#सोमवार"]),
        ("ja", ["猫は液体です", "猫は液体です。", "「猫は液体です」", "犬は固体です", "ねこ", "ネコ"]),
        ("th", ["ไม่", "ไม้", "ไม่!", "แมว", "#แมว", "แมว แมว"]),
        ("ar", ["يوم الاثنين", "«يوم الاثنين»", "يوم الأحد", "يوم الاثنين.", "قهوة", "شاي"]),
    ],
)
def test_the_count_and_the_note_hold_in_every_script(language, answers):
    captions, note = clean_captions(answers, 10, parse_language(language))
    keys = [duplicate_key(caption, parse_language(language)) for caption in captions]
    assert len(keys) == len(set(keys)) and all(captions)
    assert note.startswith(f"only {len(captions)} of 10 captions came back usable")
    assert "near-duplicate dropped" in note
    enough, no_note = clean_captions(answers, 3, parse_language(language))
    assert len(enough) == 3 and no_note == ""


def test_invisible_spelling_is_kept_and_real_controls_dropped():
    # ZWNJ (Persian, Indic), ZWJ (emoji, Indic), RLM/LRM/ALM (bidi) are kept; a bidi override and a NUL are not.
    assert clean_caption("क्\u200dष \u200fשלום\u200e") == "क्\u200dष \u200fשלום\u200e"
    assert clean_caption("a\u202eb\x00c\u061c") == "abc\u061c"
