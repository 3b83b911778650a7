"""The app's widget tests (every tests/test_ui_*.py) once more under ipywidgets 7.7.1, the version Colab ships.

They run in the small ``.venv-w7`` that ``.ci/w7-env`` builds (Notebook 6.5 and ipywidgets 7.7.1 of
its own, everything heavy shared with the main venv); skipped, saying so, where it is missing. Run
from here so the README's one test command covers both ipywidgets versions.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
W7_VENV = Path(os.environ.get("MEMER_W7_VENV", ROOT / ".venv-w7"))


def test_the_widget_tests_pass_under_ipywidgets_7():
    python = W7_VENV / "bin" / "python"
    if not python.is_file():
        pytest.skip(f"no ipywidgets 7 environment at {W7_VENV}: build it with .ci/w7-env (or set MEMER_W7_VENV)")
    version = subprocess.run(
        [str(python), "-c", "import ipywidgets; print(ipywidgets.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == "7.7.1", f"{W7_VENV} has ipywidgets {version}, not Colab's 7.7.1"
    files = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "tests").glob("test_ui_*.py"))
    files.remove("tests/test_ui_w7.py")  # this file: not itself again
    assert len(files) >= 7, files  # the widget tests, one file per panel
    run = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            *files,
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore::DeprecationWarning",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout.splitlines()[-1]
