"""Installing memer into Colab's package set changes none of Colab's packages.

pip resolves the notebook's install (``memer[all]``) and requirements.txt, with ``--dry-run --report``, in a
Python 3.13 venv that holds Colab's whole freeze as metadata only: one ``NAME-VERSION.dist-info`` per line of
tests/colab/pip-freeze.gpu.txt, so pip sees them installed without a byte of them downloaded. Any package the
report would install whose name Colab already ships is a change (an upgrade or a downgrade): on Colab a changed
package that was already imported forces a restart, and a changed torch or numpy can break the runtime.
Needs Python 3.13 (MEMER_PYTHON313, python3.13 on PATH, or pyenv's) and the package registry.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.colab_freeze import canonical, colab_packages

ROOT = Path(__file__).resolve().parents[1]


def _python313() -> str | None:
    """The first interpreter that really is 3.13 (a pyenv shim on PATH may point to nothing)."""
    candidates = [os.environ.get("MEMER_PYTHON313")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")), reverse=True)
    candidates += [shutil.which("python3.13")]
    for candidate in filter(None, candidates):
        try:
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except OSError:
            continue
        if probe.stdout.strip() == "True":
            return candidate
    return None


PYTHON313 = _python313()
pytestmark = pytest.mark.skipif(PYTHON313 is None, reason="no Python 3.13 (Colab's): set MEMER_PYTHON313")


@pytest.fixture(scope="module")
def colab_venv(tmp_path_factory) -> Path:
    """A 3.13 venv with real pip and Colab's packages as metadata only."""
    venv = tmp_path_factory.mktemp("colab") / "venv"
    subprocess.run([PYTHON313, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for key, (name, version) in colab_packages().items():
        if key == "pip":  # the venv's own pip runs the resolution
            continue
        info = Path(site) / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "INSTALLER").write_text("colab-freeze\n")
        (info / "RECORD").write_text("")
    return python


def _resolve(python: Path, report: Path, *args: str) -> list[tuple[str, str]]:
    """(name, version) of every package pip would install for ``args``, resolved against the venv's packages."""
    command = [str(python), "-m", "pip", "install", "--dry-run", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run(
        [*command, "--report", str(report), *args], capture_output=True, text=True, timeout=600, cwd=report.parent
    )
    errors = [ln for ln in done.stderr.splitlines() if "is ignored: it is neither a file nor a directory" not in ln]
    assert done.returncode == 0, "pip could not resolve the install:\n" + "\n".join(errors[-30:])
    installs = json.loads(report.read_text())["install"]
    return [(item["metadata"]["name"], item["metadata"]["version"]) for item in installs]


def _changed(installs: list[tuple[str, str]]) -> list[str]:
    colab = colab_packages()
    return [
        f"{name} {colab[canonical(name)][1]} -> {version}" for name, version in installs if canonical(name) in colab
    ]


@pytest.fixture
def memer_source(tmp_path) -> Path:
    """A copy of the project to build from (the build writes memer.egg-info beside the sources)."""
    source = tmp_path / "memer-src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "memer", source / "memer", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return source


def test_the_freeze_is_seen_as_installed_and_a_change_is_caught(colab_venv, tmp_path):
    """The check can fail: Colab's own scikit-learn resolves to nothing, a newer one is reported as a change."""
    assert _resolve(colab_venv, tmp_path / "same.json", "scikit-learn==1.6.1", "torch>=2.1") == []
    assert _changed(_resolve(colab_venv, tmp_path / "newer.json", "scikit-learn>1.6.1")) != []


def test_the_notebooks_install_changes_no_colab_package(colab_venv, memer_source, tmp_path):
    cell = "".join(json.loads((ROOT / "AI_Memer.ipynb").read_text())["cells"][2]["source"])
    assert '%pip install -q "memer[all] @ git+' in cell  # what is resolved below is what the notebook installs
    installs = _resolve(colab_venv, tmp_path / "all.json", f"memer[all] @ {memer_source.as_uri()}")
    assert "memer" in {canonical(name) for name, _ in installs}
    assert _changed(installs) == []


def test_requirements_txt_changes_no_colab_package(colab_venv, tmp_path):
    assert _changed(_resolve(colab_venv, tmp_path / "req.json", "-r", str(ROOT / "requirements.txt"))) == []
