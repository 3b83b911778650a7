"""The trained offline classifier (alt-profanity-check) sets the local levels; the word list names the category."""

from __future__ import annotations

import sys

import pytest

from memer.captions import SAFE, SENSITIVE, UNSAFE
from memer.captions.classifier import (
    CLASSIFIER_CATEGORY,
    CLASSIFIER_CHECK,
    classifier_probabilities,
    combine,
    local_levels,
)
from memer.captions.safety import WORD_LIST_CHECK


@pytest.mark.parametrize(
    ("text", "level", "categories"),
    [
        ("A lovely pie on a sunny windowsill", SAFE, []),
        ("When the pie cools down before you do", SAFE, []),
        ("Fuck this pie", UNSAFE, ["profanity"]),
        ("You stupid idiot", UNSAFE, ["insult"]),  # the word list says sensitive; the classifier knows better
        ("shut up you piece of garbage", UNSAFE, [CLASSIFIER_CATEGORY]),  # no listed word at all
        ("what a jerk", UNSAFE, [CLASSIFIER_CATEGORY]),
    ],
)
def test_levels_from_the_trained_classifier(text, level, categories):
    (got,), check = local_levels([text])
    assert got == (level, categories)
    assert check == CLASSIFIER_CHECK


def test_it_runs_offline_from_the_package_and_scores_a_batch_at_once():
    probabilities = classifier_probabilities(["a lovely pie", "fuck this pie"])
    assert probabilities[0] < 0.2 < 0.9 < probabilities[1]
    assert classifier_probabilities([]) == []


@pytest.mark.parametrize(
    ("probability", "word_level", "expected"),
    [
        (0.1, (SAFE, []), (SAFE, [])),
        (0.6, (SAFE, []), (SENSITIVE, [CLASSIFIER_CATEGORY])),
        (0.9, (SENSITIVE, ["insult"]), (UNSAFE, ["insult"])),
        (0.1, (UNSAFE, ["hate"]), (UNSAFE, ["hate"])),  # the word list can raise the level too
        (None, (SENSITIVE, ["violence"]), (SENSITIVE, ["violence"])),
    ],
)
def test_combine_takes_the_higher_level(probability, word_level, expected):
    assert combine(probability, word_level) == expected


def test_without_the_package_it_is_the_word_list_and_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "profanity_check", None)  # import -> ImportError
    levels, check = local_levels(["shut up you piece of garbage", "Fuck this pie"])
    assert levels == [(SAFE, []), (UNSAFE, ["profanity"])]
    assert check.startswith(WORD_LIST_CHECK) and "not installed" in check


def test_thresholds_are_settings(monkeypatch):
    from tests.standins.settings import override

    override(monkeypatch, CLASSIFIER_UNSAFE=0.999, CLASSIFIER_SENSITIVE=0.99)
    ((level, _),), _ = local_levels(["I hate you all"])  # about 0.9
    assert level == SAFE
