"""AI_Memer.ipynb runs headless (nbclient), in a kernel of the test environment.

The kernel sees the stood-in world (tests/standins/world.py) through its
environment: MediaWiki, OpenAI and the tiny models, as a user's kernel would
see the real services.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "AI_Memer.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def notebook_env(world, tmp_path, monkeypatch) -> dict[str, str]:
    """The kernel's environment: memer importable, every service stood in, caches in a temp folder."""
    for name, value in world.env.items():
        monkeypatch.setenv(name, value)
    return world.env


def run_notebook(
    path: Path, cwd: Path, *, skip_tags: set[str] = frozenset(), timeout: int = 60
) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if not skip_tags & set(c.get("metadata", {}).get("tags", []))]
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
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


def test_setup_and_app_cells_run_headless(notebook_env, tmp_path):
    nb = run_notebook(NOTEBOOK, tmp_path, skip_tags={"walkthrough"})
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup, app = code
    text = "".join(o.get("text", "") for o in outputs(setup))
    assert "memer is running in a local Jupyter." in text
    assert "Downloads:" in text and "CLIP model" in text
    assert not any(o["output_type"] == "error" for c in code for o in outputs(c))
    views = [o for o in outputs(app) if o["output_type"] == "display_data" and WIDGET_VIEW in o["data"]]
    assert len(views) == 1, outputs(app)


def test_walkthrough_cells_run_headless(notebook_env, tmp_path):
    nb = run_notebook(NOTEBOOK, tmp_path, timeout=180)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not any(o["output_type"] == "error" for c in code for o in outputs(c))
    search, captions, render = ("".join(o.get("text", "") for o in outputs(c)) for c in code[2:5])
    assert "SourceStatus(name='commons', ok=True, count=3" in search
    assert search.count("Image: ") == 10  # the top ten, each with its credit
    assert "SourceStatus(name='openimages', ok=True, count=7" in search
    assert "Safety check: OpenAI moderation" in captions and captions.count("\n") >= 10
    meme = tmp_path / render.split("-> ")[1].strip()
    assert meme.is_file() and meme.name.endswith("-meme.png")
    assert any("image/png" in o.get("data", {}) for o in outputs(code[4]))
