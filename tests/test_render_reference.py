"""Reference renders: each case drawn again matches its PNG in tests/reference/ within a tolerance.

A meant change of look: `python -m tests.reference --update`, look at every PNG, commit them with the change.
"""

from __future__ import annotations

import pytest
from PIL import Image

from tests import reference
from tests.reference import CASES, Case, difference, path_of, render, within_tolerance


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_meme_looks_as_its_reference(case: Case, tmp_path):
    with Image.open(path_of(case)) as expected:
        actual = render(case)
        if not within_tolerance(expected, actual):
            actual.save(tmp_path / f"{case.name}.png")
        mean, fraction = difference(expected, actual)
    assert mean <= reference.MAX_MEAN_DIFFERENCE and fraction <= reference.MAX_DIFFERING_FRACTION, (
        f"{case.name} differs from tests/reference/{case.name}.png (mean {mean:.2f}, {fraction:.2%} of pixels);"
        f" this render: {tmp_path / (case.name + '.png')}. If the change of look is meant: python -m tests.reference --update"
    )


def test_the_comparison_catches_a_moved_caption():
    case = CASES[0]
    with Image.open(path_of(case)) as expected:
        moved = Image.new("RGB", expected.size)
        moved.paste(expected.convert("RGB"), (0, 12))  # the caption 12 px lower
        assert not within_tolerance(expected, moved)
        assert within_tolerance(expected, expected.copy())


def test_a_different_size_never_matches():
    case = CASES[0]
    with Image.open(path_of(case)) as expected:
        assert not within_tolerance(expected, expected.resize((expected.width - 1, expected.height)))


def test_every_case_has_its_reference():
    assert sorted(path.name for path in reference.FOLDER.glob("*.png")) == sorted(path_of(c).name for c in CASES)
