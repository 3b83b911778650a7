"""The local safety check: a trained classifier that runs offline, and the word list to name the category.

The model is ``alt-profanity-check``'s (MIT): TF-IDF features over single
words, five linear SVMs, each calibrated by a sigmoid, their probabilities
averaged — trained on labelled offensive and clean text. memer ships its
numbers as a small numpy file (``data/profanity_model.npz``, exported by
``tools/export_profanity_model.py``) and scores with numpy, because the
package itself pins scikit-learn exactly and installing it would replace the
scikit-learn Colab ships. Nothing is downloaded, and ten captions take
milliseconds on a CPU. The probability of offensive language sets the level
(``settings.CLASSIFIER_UNSAFE`` / ``CLASSIFIER_SENSITIVE``); the word list can
raise the level too and names the category. The batch says which check ran;
if the model file cannot be read it is the word list alone, and the batch
says that.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from memer import settings
from memer.captioning.base import SAFE, SENSITIVE, UNSAFE
from memer.captioning.safety import WORD_LIST_CHECK, word_list_level

CLASSIFIER_CHECK = (
    "trained offline classifier (alt-profanity-check, offensive language), word list for the category "
    "(misses harm said politely and what the picture shows)"
)
CLASSIFIER_CATEGORY = "offensive language"
MODEL_PATH = Path(__file__).resolve().parent / "data" / "profanity_model.npz"
MISSING_NOTE = (
    " (the trained classifier's model file, memer/captioning/data/profanity_model.npz, could not be read: "
    "reinstall memer for the trained classifier)"
)


@dataclass(frozen=True)
class ProfanityModel:
    """alt-profanity-check's vectorizer and calibrated linear SVMs, as numpy arrays."""

    index: dict[str, int]  # term -> column
    idf: Any  # (terms,) float64
    coef: Any  # (models, terms) float64
    intercept: Any  # (models,)
    sigmoid_a: Any  # (models,)
    sigmoid_b: Any  # (models,)
    token: re.Pattern[str]

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        """The probability that each text is offensive, as the package's ``predict_prob`` gives it."""
        import numpy as np

        out = []
        for text in texts:
            # TF-IDF: raw counts of known words times their idf, scaled to unit length (no known word: zeros).
            counts = Counter(i for word in self.token.findall(text.lower()) if (i := self.index.get(word)) is not None)
            decision = np.array(self.intercept, dtype=np.float64)
            if counts:
                columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
                weights = np.fromiter(counts.values(), dtype=np.float64, count=len(counts)) * self.idf[columns]
                decision = decision + self.coef[:, columns] @ (weights / np.sqrt(weights @ weights))
            # Each SVM's score through its sigmoid, expit(-(a*score + b)) written so it cannot overflow; then the mean.
            calibrated = 0.5 * (1.0 - np.tanh(0.5 * (self.sigmoid_a * decision + self.sigmoid_b)))
            out.append(float(np.mean(calibrated)))
        return out


def load_model(path: Path) -> ProfanityModel:
    """Read an exported model; ValueError if it is not one (pickles are refused, shapes checked)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    try:
        terms = arrays["vocabulary"].tobytes().decode("utf-8").split("\n")
        idf, coef = arrays["idf"].astype(np.float64), arrays["coef"].astype(np.float64)
        calibration = [arrays[key].astype(np.float64) for key in ("intercept", "sigmoid_a", "sigmoid_b")]
        token = re.compile(str(arrays["token_pattern"]))
    except (KeyError, UnicodeDecodeError, re.error) as err:
        raise ValueError(f"not an exported profanity model: {err}") from err
    models = coef.shape[0] if coef.ndim == 2 else 0
    if not models or idf.shape != (len(terms),) or coef.shape[1] != len(terms) or len(set(terms)) != len(terms):
        raise ValueError("the model's vocabulary, idf and coefficients do not fit together")
    if any(part.shape != (models,) for part in calibration):
        raise ValueError("the model's intercepts or calibration do not fit its coefficients")
    intercept, sigmoid_a, sigmoid_b = calibration
    return ProfanityModel({t: i for i, t in enumerate(terms)}, idf, coef, intercept, sigmoid_a, sigmoid_b, token)


@lru_cache(maxsize=4)
def _cached_model(path: Path) -> ProfanityModel | None:
    try:
        return load_model(path)
    except (OSError, ValueError, zipfile.BadZipFile):
        return None


def classifier_probabilities(texts: Sequence[str]) -> list[float] | None:
    """The classifier's probability that each text is offensive; None when its model file cannot be read."""
    model = _cached_model(MODEL_PATH)
    if model is None:
        return None
    return model.probabilities(list(texts))


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
