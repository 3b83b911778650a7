"""AI_Memer.ipynb runs headless (nbclient), in a kernel of the test environment.

The set-up and app cells must run now: they only build widgets. The cells
tagged ``walkthrough`` call the real pipeline; they are run by the second test,
which counts as an expected failure only while the pipeline still raises
NotImplementedError (not wired yet). Once wired, ``notebook_env`` must point
every outside service at the stand-ins (see its docstring).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "AI_Memer.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def notebook_env(tmp_path, monkeypatch) -> dict[str, str]:
    """The kernel's environment: memer importable, caches in a temp folder, no real key.

    When the pipeline is wired, add the stand-ins here (from the ``server``
    fixture and the tiny-model fixtures): MEMER_COMMONS_API, MEMER_WIKIPEDIA_API,
    MEMER_OPENIMAGES_URL, OPENAI_BASE_URL (+ a fake OPENAI_API_KEY),
    MEMER_CLIP_MODEL / MEMER_CLIP_PRETRAINED, MEMER_CAPTION_MODEL.
    """
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        "MEMER_USER_CACHE": str(tmp_path / "user-cache"),
        "MEMER_CACHE_DIR": str(tmp_path / "openimages-cache"),
        "MEMER_MEME_DIR": str(tmp_path / "memes"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return env


def run_notebook(path: Path, *, skip_tags: set[str] = frozenset(), timeout: int = 60) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if not skip_tags & set(c.get("metadata", {}).get("tags", []))]
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    return nb


def outputs(cell) -> list[dict]:
    return list(cell.get("outputs", []))


def test_notebook_is_committed_with_outputs_cleared():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert "colab.research.google.com/github/" in nb.cells[0].source
    assert "widgets" not in nb.metadata  # no saved widget state (it could hold a typed key)


def test_setup_and_app_cells_run_headless(notebook_env):
    nb = run_notebook(NOTEBOOK, skip_tags={"walkthrough"})
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup, app = code
    text = "".join(o.get("text", "") for o in outputs(setup))
    assert "memer is running in a local Jupyter." in text
    assert "Downloads:" in text and "CLIP model" in text
    assert not any(o["output_type"] == "error" for c in code for o in outputs(c))
    views = [o for o in outputs(app) if o["output_type"] == "display_data" and WIDGET_VIEW in o["data"]]
    assert len(views) == 1, outputs(app)


def test_walkthrough_cells_run_headless(notebook_env):
    try:
        run_notebook(NOTEBOOK, timeout=120)
    except CellExecutionError as err:
        if "NotImplementedError" in str(err) and "wired up in the whole-pass issue" in str(err):
            pytest.xfail("pipeline not wired yet")
        raise
