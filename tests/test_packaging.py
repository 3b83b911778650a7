"""The package imports fast, and requirements.txt agrees with pyproject.toml."""

import re
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _names(requirements: list[str]) -> dict[str, str]:
    out = {}
    for req in requirements:
        match = re.match(r"\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)", req)
        if match and not match.group(1).startswith("memer"):
            out[match.group(1).lower().replace("_", "-")] = match.group(3).replace(" ", "")
    return out


def test_requirements_txt_matches_the_all_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    expected = _names(project["dependencies"])
    extras = re.search(r"memer\[([^\]]*)\]", project["optional-dependencies"]["all"][0]).group(1).split(",")
    assert "generate" in extras  # the app's "generate a picture" switch works after the notebook's install
    for extra in extras:
        expected.update(_names(project["optional-dependencies"][extra]))
    lines = [ln for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert _names(lines) == expected


def test_the_faces_extra_stays_out_of_all_so_colab_keeps_its_own_dlib():
    """Colab ships dlib; dlib-bin provides the same module and would replace it (tests/test_colab_install.py)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert set(_names(extras["faces"])) == {"dlib-bin"}
    assert "faces" not in extras["all"][0] and "dlib" not in (ROOT / "requirements.txt").read_text()


def test_import_memer_pulls_in_no_heavy_library():
    code = (
        "import sys, memer, memer.cli, memer.pipeline, memer.settings, memer.captioning, memer.rendering;"
        "heavy = {'torch', 'open_clip', 'transformers', 'openai', 'ipywidgets', 'numpy', 'PIL', 'requests', 'dlib'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_every_data_file_in_the_package_is_shipped():
    """Fonts, the safety model and their licences: each non-Python file under memer/ matches a package-data glob."""
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["memer"]
    package = ROOT / "memer"
    data = [
        f.relative_to(package)
        for f in package.rglob("*")
        if f.is_file() and f.suffix not in {".py", ".pyc"} and "__pycache__" not in f.parts
    ]
    assert any(str(f).startswith("captioning/data/") for f in data)
    assert [str(f) for f in data if not any(f.match(g) for g in globs)] == []
