"""Export alt-profanity-check's trained model to plain numpy arrays: memer/captioning/data/profanity_model.npz.

Why: alt-profanity-check pins scikit-learn exactly, so installing it upgrades the scikit-learn (and joblib)
that Colab ships. The model is a TF-IDF vectorizer and five sigmoid-calibrated linear SVMs; their numbers are
all memer needs to score a caption (memer/captioning/classifier.py does it with numpy), so memer ships the
numbers and depends on neither package. The file holds no pickles: it loads with ``allow_pickle=False``.

Run it with the package installed (``pip install alt-profanity-check``), from the repository root:

    python tools/export_profanity_model.py            # writes memer/captioning/data/profanity_model.npz
    python tools/export_profanity_model.py OUT.npz    # somewhere else (tests compare against the package)

It refuses a model whose form differs from the one the numpy scorer reproduces, rather than export it wrong.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "memer" / "captions" / "data" / "profanity_model.npz"
# The vectorizer settings the numpy scorer reproduces: lower-case, this token pattern, single words, raw counts
# times idf, each text's vector scaled to unit length. Stop words are dropped when fitting, so none is in the
# vocabulary and dropping them again when scoring changes nothing (checked below).
EXPECTED_VECTORIZER = {
    "analyzer": "word",
    "lowercase": True,
    "preprocessor": None,
    "tokenizer": None,
    "strip_accents": None,
    "ngram_range": (1, 1),
    "binary": False,
    "use_idf": True,
    "sublinear_tf": False,
    "norm": "l2",
    "vocabulary": None,
}


def _check_form(vectorizer, model) -> None:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    if type(vectorizer) is not TfidfVectorizer:
        raise SystemExit(
            f"unexpected vectorizer {type(vectorizer).__name__}: the numpy scorer reproduces TfidfVectorizer"
        )
    params = vectorizer.get_params()
    for key, expected in EXPECTED_VECTORIZER.items():
        if params[key] != expected:
            raise SystemExit(f"vectorizer {key}={params[key]!r}, the numpy scorer assumes {expected!r}")
    stop_words = params["stop_words"]
    if stop_words not in (None, "english"):
        raise SystemExit(f"vectorizer stop_words={stop_words!r}: only none or 'english' is supported")
    if stop_words == "english" and ENGLISH_STOP_WORDS & set(vectorizer.vocabulary_):
        raise SystemExit("a stop word is in the vocabulary: the numpy scorer would count it")
    if any("\n" in term for term in vectorizer.vocabulary_):
        raise SystemExit("a term holds a line break: the vocabulary cannot be stored one term a line")
    if type(model).__name__ != "CalibratedClassifierCV" or list(model.classes_) != [0, 1]:
        raise SystemExit(f"unexpected model {type(model).__name__} with classes {model.classes_!r}")
    for calibrated in model.calibrated_classifiers_:
        estimator = calibrated.estimator
        if calibrated.method != "sigmoid" or len(calibrated.calibrators) != 1:
            raise SystemExit(f"calibration {calibrated.method!r}: the numpy scorer reproduces one sigmoid")
        if not hasattr(estimator, "coef_") or estimator.coef_.shape != (1, len(vectorizer.vocabulary_)):
            raise SystemExit(f"unexpected estimator {type(estimator).__name__}: a binary linear model is expected")


def export(out: Path) -> Path:
    """Write the model's numbers to ``out`` (an .npz) and return it."""
    from profanity_check import profanity_check as package

    vectorizer, model = package.vectorizer, package.model
    _check_form(vectorizer, model)
    terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    if [vectorizer.vocabulary_[t] for t in terms] != list(range(len(terms))):
        raise SystemExit("the vocabulary's indices are not 0..n-1")
    calibrated = model.calibrated_classifiers_
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        vocabulary=np.frombuffer("\n".join(terms).encode("utf-8"), dtype=np.uint8),
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),
        coef=np.stack([np.asarray(c.estimator.coef_[0], dtype=np.float64) for c in calibrated]),
        intercept=np.array([float(c.estimator.intercept_[0]) for c in calibrated]),
        sigmoid_a=np.array([float(c.calibrators[0].a_) for c in calibrated]),
        sigmoid_b=np.array([float(c.calibrators[0].b_) for c in calibrated]),
        token_pattern=np.array(vectorizer.token_pattern),
        source=np.array(
            f"alt-profanity-check {version('alt-profanity-check')} (scikit-learn {version('scikit-learn')})"
        ),
    )
    return out


if __name__ == "__main__":
    target = export(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
    print(f"{target}: {target.stat().st_size:,} bytes")
