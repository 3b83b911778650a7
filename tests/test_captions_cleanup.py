"""Caption cleanup and the offline word-list check: pure functions, table-driven."""

from __future__ import annotations

import pytest

from memer.captioning import SAFE, SENSITIVE, UNSAFE
from memer.captioning.cleanup import clean_caption, clean_captions, first_line, is_near_duplicate
from memer.captioning.safety import moderation_level, word_list_level


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("When the pie is a lie", "When the pie is a lie"),
        ('"When the pie is a lie."', "When the pie is a lie"),
        ("“Smart quotes, too”", "Smart quotes, too"),
        ("'Single quotes'", "Single quotes"),
        ('"Left open', "Left open"),
        ("1. Numbered", "Numbered"),
        ("10) Numbered with a bracket", "Numbered with a bracket"),
        ("(3) In brackets", "In brackets"),
        ("#4: Hash number", "Hash number"),
        ("- A bullet", "A bullet"),
        ("* Another bullet", "Another bullet"),
        ("• And another", "And another"),
        ("Caption: labelled", "labelled"),
        ("Caption 7: labelled and numbered.", "labelled and numbered"),
        ('2. "Numbered and quoted."', "Numbered and quoted"),
        ("Pie for breakfast #foodie #mood", "Pie for breakfast"),
        ("#Monday mood", "Monday mood"),
        ("Ends with a period.", "Ends with a period"),
        ("Wait for it...", "Wait for it..."),
        ("Really?!", "Really?!"),
        ("Made in the U.S.A.", "Made in the U.S.A."),
        ("   too    many\tspaces  ", "too many spaces"),
        ("KEEP The Case", "KEEP The Case"),
        ("10:30 meetings are a lie", "10:30 meetings are a lie"),
        ("3 cats, 1 couch", "3 cats, 1 couch"),
        ("don't stop me now", "don't stop me now"),
        ("Roses are red\nPie is too", "Roses are red / Pie is too"),
        ("Glass on the edge / a push / gravity wins /", "Glass on the edge / a push / gravity wins"),
        ("control\x00chars\x07 gone\ufffd", "controlchars gone"),
        ("Family time 👨‍👩‍👧", "Family time 👨‍👩‍👧"),
        ('""', ""),
        ("   ", ""),
        ("1.", ""),
    ],
)
def test_clean_caption(raw, clean):
    assert clean_caption(raw) == clean


@pytest.mark.parametrize(
    ("raw", "n", "expected", "note_part"),
    [
        (["a one", "b two", "c three"], 2, ["a one", "b two"], ""),
        (["a one", "b two"], 2, ["a one", "b two"], ""),
        (
            ["Same joke", "same joke!", '"Same joke."', "Other"],
            3,
            ["Same joke", "Other"],
            "only 2 of 3 captions came back usable (2 near-duplicate dropped)",
        ),
        (["", "  ", '""', "Real one"], 2, ["Real one"], "(3 empty dropped)"),
        (["Pie is life", "Pie is life!!", "", "x"], 4, ["Pie is life", "x"], "1 empty and 1 near-duplicate dropped"),
        ([], 3, [], "only 0 of 3"),
        (["The cake is a lie", "The cake is a lie, again"], 2, ["The cake is a lie", "The cake is a lie, again"], ""),
    ],
)
def test_clean_captions_keeps_n_distinct_or_says_why_not(raw, n, expected, note_part):
    captions, note = clean_captions(raw, n)
    assert captions == expected
    assert note_part in note
    assert (note == "") == (len(captions) == n)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Pie is life", "pie is life.", True),
        ("Monday again", "Monday again!!!", True),
        ("When the pie cools before you do", "When the pie cools before you do lol", False),  # "lol" is a word
        ("When the pie is hot", "when THE pie is... hot!", True),
        ("When the pie is hot", "When pie is hot", True),  # articles only
        ("When a pie is hot", "When an  pie is hot", True),
        ("When the pie is hot", "When the pie is burnt", False),  # one content word: another joke
        ("Pie_is life", "Pie is life", True),
        ("Pie is life", "Cake is life", False),
        ("Me at 3am", "Me at 4pm", False),
    ],
)
def test_near_duplicates(a, b, same):
    assert is_near_duplicate(a, b) is same


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        ("A caption\nTheme: next", "A caption"),
        ("\n\nAfter blank lines\nmore", "After blank lines"),
        ("no newline", "no newline"),
        ("", ""),
    ],
)
def test_first_line(raw, line):
    assert first_line(raw) == line


@pytest.mark.parametrize(
    ("text", "level", "categories"),
    [
        ("A lovely apple pie", SAFE, []),
        ("Hello darkness, my old friend", SAFE, []),  # "hell" only as a whole word
        ("What the hell, pie", SENSITIVE, ["mild profanity"]),
        ("Drunk on pie", SENSITIVE, ["substances"]),
        ("This pie could kill", SENSITIVE, ["violence"]),
        ("Holy shit, pie", UNSAFE, ["profanity"]),
        ("KILL MYSELF if the pie is gone", UNSAFE, ["self-harm"]),
        ("kill   yourself", UNSAFE, ["self-harm"]),
        ("Damn, this pie is porn", UNSAFE, ["sexual"]),
    ],
)
def test_word_list_level(text, level, categories):
    assert word_list_level(text) == (level, categories)


@pytest.mark.parametrize(
    ("flagged", "categories", "scores", "expected"),
    [
        (False, {"hate": False}, {"hate": 0.01, "violence": 0.2}, (SAFE, [])),
        (False, {"hate": False}, {"hate": 0.01, "violence": 0.3}, (SENSITIVE, ["violence"])),  # at the threshold
        (False, {}, {"sexual": 0.5, "hate": 0.4}, (SENSITIVE, ["hate", "sexual"])),
        (True, {"harassment": True, "hate": False}, {"harassment": 0.9}, (UNSAFE, ["harassment"])),
        (True, {}, {"violence": 0.8}, (UNSAFE, ["violence"])),  # flagged without a category named
        (False, {}, {"violence": None}, (SAFE, [])),
    ],
)
def test_moderation_level(flagged, categories, scores, expected):
    assert moderation_level(flagged, categories, scores, threshold=0.3) == expected


def test_ten_one_word_variants_are_ten_jokes():
    raw = [
        f"When the pie is {word} and nobody asked"
        for word in ("hot", "burnt", "cold", "raw", "gone", "mine", "huge", "tiny", "free", "late")
    ]
    captions, note = clean_captions(raw, 10)
    assert captions == raw and note == ""


def test_cleanup_stops_once_it_has_n(monkeypatch):
    from memer.captioning import cleanup

    cleaned = []
    real = cleanup.clean_caption
    monkeypatch.setattr(cleanup, "clean_caption", lambda text: cleaned.append(text) or real(text))
    raw = [f"Caption number {i} about pie" for i in range(1000)]
    captions, note = clean_captions(raw, 10)
    assert captions == raw[:10] and note == ""
    assert len(cleaned) == 10  # the other 990 are never looked at


def test_many_duplicates_cost_one_set_lookup_each():
    # 5,000 copies of one joke and 5,000 distinct ones: a pairwise comparison would do 10**7 matches.
    raw = ["Same joke"] * 5000 + [f"joke {i}" for i in range(5000)]
    captions, note = clean_captions(raw, 6000)
    assert len(captions) == 5001 and "4999 near-duplicate" in note


@pytest.mark.parametrize("item", [None, 42, ["a list"], {"a": 1}, "x" * 5000])
def test_a_non_string_or_run_on_item_is_dropped_not_raised(item):
    captions, note = clean_captions([item, "A real one"], 2)
    assert captions == ["A real one"] and "only 1 of 2" in note
