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


def run_notebook(path: Path, cwd: Path, *, walkthrough: bool = False, timeout: int = 60) -> nbformat.NotebookNode:
    """Run all, as a user would; ``walkthrough`` flips the opt-in switch first, as the notebook asks."""
    nb = nbformat.read(path, as_version=4)
    if walkthrough:
        (switch,) = [c for c in nb.cells if "walkthrough-switch" in c.get("metadata", {}).get("tags", [])]
        assert "RUN_WALKTHROUGH = False" in switch.source
        switch.source = switch.source.replace("RUN_WALKTHROUGH = False", "RUN_WALKTHROUGH = True")
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


def test_run_all_sets_up_and_opens_the_app_and_leaves_the_walkthrough_off(notebook_env, tmp_path):
    nb = run_notebook(NOTEBOOK, tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup, app, _switch, *walkthrough = code
    text = "".join(o.get("text", "") for o in outputs(setup))
    assert "memer is running in a Jupyter notebook on this computer (not Colab)." in text
    assert "Downloads:" in text and "CLIP model" in text
    assert not any(o["output_type"] == "error" for c in code for o in outputs(c))
    views = [o for o in outputs(app) if o["output_type"] == "display_data" and WIDGET_VIEW in o["data"]]
    assert len(views) == 1, outputs(app)
    said = ["".join(o.get("text", "") for o in outputs(c)) for c in walkthrough]
    assert len(said) == 3 and all(line.startswith("Walkthrough off") for line in said), said
    assert not (tmp_path / "memes").exists() and not list(tmp_path.glob("*.png"))


def test_walkthrough_cells_run_headless(notebook_env, tmp_path):
    nb = run_notebook(NOTEBOOK, tmp_path, walkthrough=True, timeout=180)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not any(o["output_type"] == "error" for c in code for o in outputs(c))
    search, captions, render = ("".join(o.get("text", "") for o in outputs(c)) for c in code[3:6])
    assert "SourceStatus(name='commons', ok=True, count=3" in search
    assert search.count("Image: ") == 10  # the top ten, each with its credit
    assert "SourceStatus(name='openimages', ok=True, count=7" in search
    assert "Safety check: OpenAI moderation" in captions and captions.count("\n") >= 10
    meme = tmp_path / render.split("-> ")[1].strip()
    assert meme.is_file() and meme.name.endswith("-meme.png")
    assert any("image/png" in o.get("data", {}) for o in outputs(code[5]))
