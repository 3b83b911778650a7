"""The local safety check: a trained classifier that runs offline, and the word list to name the category.

``alt-profanity-check`` (MIT) ships a scikit-learn model (a linear SVM over
TF-IDF features, trained on labelled offensive and clean text) inside the
package: nothing is downloaded, it scores ten captions in milliseconds on a
CPU. Its probability of offensive language sets the level
(``settings.CLASSIFIER_UNSAFE`` / ``CLASSIFIER_SENSITIVE``); the word list can
raise the level too and names the category. The batch says which check ran;
without the package it is the word list alone, and the batch says that.
"""

from __future__ import annotations

from collections.abc import Sequence

from memer import settings
from memer.captions.base import SAFE, SENSITIVE, UNSAFE
from memer.captions.safety import WORD_LIST_CHECK, word_list_level

CLASSIFIER_CHECK = (
    "trained offline classifier (alt-profanity-check, offensive language), word list for the category "
    "(misses harm said politely and what the picture shows)"
)
CLASSIFIER_CATEGORY = "offensive language"
MISSING_NOTE = " (alt-profanity-check is not installed: pip install 'memer[local]' for the trained classifier)"


def classifier_probabilities(texts: Sequence[str]) -> list[float] | None:
    """The classifier's probability that each text is offensive; None when the package is not installed."""
    try:
        from profanity_check import predict_prob
    except ImportError:
        return None
    if not texts:
        return []
    return [float(p) for p in predict_prob(list(texts))]


def level_from_probability(probability: float) -> int:
    if probability >= settings.CLASSIFIER_UNSAFE:
        return UNSAFE
    if probability >= settings.CLASSIFIER_SENSITIVE:
        return SENSITIVE
    return SAFE


def combine(probability: float | None, word_level: tuple[int, list[str]]) -> tuple[int, list[str]]:
    """The higher of the classifier's level and the word list's, with the word list's categories (or the classifier's)."""
    level, categories = word_level
    if probability is None:
        return level, categories
    scored = level_from_probability(probability)
    if scored > level:
        return scored, categories or [CLASSIFIER_CATEGORY]
    return level, categories


def local_levels(texts: Sequence[str]) -> tuple[list[tuple[int, list[str]]], str]:
    """A level and categories for each text, and the name of the check that ran."""
    probabilities = classifier_probabilities(texts)
    words = [word_list_level(text) for text in texts]
    if probabilities is None:
        return words, WORD_LIST_CHECK + MISSING_NOTE
    return [combine(p, w) for p, w in zip(probabilities, words)], CLASSIFIER_CHECK
