"""The pipeline's contract (memer.contract.Pipeline) is what memer.pipeline and the test fake both are.

mypy checks :func:`implementations` (a drift is a type error there); the tests below check the same at
run time, name by name, so a drift also fails where mypy is not run.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import memer.pipeline
from memer.contract import Pipeline
from tests.fakes import FakePipeline

STEPS = sorted(name for name, value in vars(Pipeline).items() if inspect.isfunction(value) and not name.startswith("_"))


def implementations(folder: Path) -> list[Pipeline]:
    """Each assignment is checked by mypy: the module and the fake must both be a Pipeline."""
    real: Pipeline = memer.pipeline
    fake: Pipeline = FakePipeline(folder)
    return [real, fake]


def shape(function) -> list[tuple[str, object, object]]:
    """Parameters by name, kind and default (``self`` left out): what a caller relies on."""
    parameters = inspect.signature(function).parameters.values()
    return [(p.name, p.kind, p.default) for p in parameters if p.name != "self"]


def test_the_contract_names_every_step_the_faces_call():
    assert STEPS == ["captions", "describe", "own_picture", "render", "search", "uploaded_file"]


@pytest.mark.parametrize("step", STEPS)
def test_the_pipeline_and_the_fake_have_the_contracts_signatures(step, tmp_path):
    expected = shape(getattr(Pipeline, step))
    for implementation in implementations(tmp_path):
        assert shape(getattr(implementation, step)) == expected, (implementation, step)


def test_a_drifted_fake_is_caught(tmp_path):
    class Drifted(FakePipeline):
        def render(self, candidate, text, *, position="bottom"):  # lost the other options
            raise AssertionError("never called")

    assert shape(Drifted(tmp_path).render) != shape(Pipeline.render)
