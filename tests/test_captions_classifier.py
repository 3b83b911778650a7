"""The trained offline classifier (alt-profanity-check's model, scored with numpy) sets the local levels; the word
list names the category."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from memer.captioning import SAFE, SENSITIVE, UNSAFE, classifier
from memer.captioning.classifier import (
    CLASSIFIER_CATEGORY,
    CLASSIFIER_CHECK,
    MODEL_PATH,
    classifier_probabilities,
    combine,
    load_model,
    local_levels,
)
from memer.captioning.safety import WORD_LIST_CHECK


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


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "damage",
    [
        lambda tmp: None,  # missing
        lambda tmp: (tmp / "m.npz").write_bytes(b"PK\x03\x04 not a zip"),
        lambda tmp: _npz(tmp / "m.npz", vocabulary=np.array([{"a": 1}], dtype=object)),  # a pickle: refused
        lambda tmp: _npz(tmp / "m.npz", **{k: v for k, v in np.load(MODEL_PATH).items() if k != "idf"}),
        lambda tmp: _npz(tmp / "m.npz", **{**np.load(MODEL_PATH), "coef": np.zeros((5, 3))}),  # shapes disagree
    ],
    ids=["missing", "not-a-zip", "pickled", "no-idf", "wrong-shape"],
)
def test_without_a_readable_model_it_is_the_word_list_and_says_so(monkeypatch, tmp_path, damage):
    damage(tmp_path)
    monkeypatch.setattr(classifier, "MODEL_PATH", tmp_path / "m.npz")
    levels, check = local_levels(["shut up you piece of garbage", "Fuck this pie"])
    assert levels == [(SAFE, []), (UNSAFE, ["profanity"])]
    assert check.startswith(WORD_LIST_CHECK) and "could not be read" in check and "reinstall memer" in check


def test_the_shipped_model_is_small_plain_numbers_and_needs_no_scikit_learn():
    assert MODEL_PATH.stat().st_size < 1_000_000
    with zipfile.ZipFile(MODEL_PATH) as archive:  # every member a plain .npy array: no pickles to load
        assert all(name.endswith(".npy") for name in archive.namelist())
    code = (
        "import sys; from memer.captioning.classifier import classifier_probabilities as p;"
        "print(p(['fuck this pie'])[0] > 0.9, sorted({'sklearn', 'joblib', 'profanity_check'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "[]"]


# Captions of the kinds the engine writes, hostile spellings, words outside the vocabulary, and nothing at all.
SAMPLES = [
    "A lovely pie on a sunny windowsill",
    "When the pie cools down before you do",
    "Fuck this pie",
    "You stupid idiot",
    "shut up you piece of garbage",
    "what a jerk",
    "I hate you all",
    "WHAT THE HELL, PIE?!",
    "f*ck this p!e",
    "Straße ÜBER café — naïve résumé",
    "the and of to",  # stop words only
    "",
    "pie pie pie pie pie idiot",
    "zzqx qqzx 1234 _ a b c",
    "kill me now, this Monday is killing me",
    "You people are disgusting animals",
]


def _package_probabilities(texts):
    from profanity_check import predict_prob

    return np.asarray(predict_prob(texts), dtype=np.float64)


needs_package = pytest.mark.skipif(
    importlib.util.find_spec("profanity_check") is None,
    reason="alt-profanity-check is not installed (the test extra installs it)",
)


def _sample_texts(model_terms: list[str]) -> list[str]:
    rng = np.random.default_rng(19)
    mixed = [" ".join(rng.choice(model_terms, size=rng.integers(1, 12))) for _ in range(300)]
    return SAMPLES + mixed


@needs_package
def test_numpy_scoring_gives_the_packages_own_probabilities(tmp_path):
    """The export tool run on the installed package, then scored with numpy: the same numbers as predict_prob."""
    out = tmp_path / "exported.npz"
    tool = Path(__file__).resolve().parents[1] / "tools" / "export_profanity_model.py"
    subprocess.run([sys.executable, str(tool), str(out)], check=True, capture_output=True, text=True)
    model = load_model(out)
    texts = _sample_texts(sorted(model.index))
    ours = np.array(model.probabilities(texts))
    np.testing.assert_allclose(ours, _package_probabilities(texts), rtol=0, atol=1e-9)


@needs_package
def test_the_shipped_model_is_the_installed_packages_when_versions_agree():
    shipped = str(np.load(MODEL_PATH)["source"])
    installed = f"alt-profanity-check {version('alt-profanity-check')} "
    if not shipped.startswith(installed):
        pytest.skip(f"the shipped model is {shipped}; installed is {installed.strip()}")
    texts = _sample_texts(sorted(load_model(MODEL_PATH).index))
    np.testing.assert_allclose(classifier_probabilities(texts), _package_probabilities(texts), rtol=0, atol=1e-9)


def test_thresholds_are_settings(monkeypatch):
    from tests.standins.settings import override

    override(monkeypatch, CLASSIFIER_UNSAFE=0.999, CLASSIFIER_SENSITIVE=0.99)
    ((level, _),), _ = local_levels(["I hate you all"])  # about 0.9
    assert level == SAFE
