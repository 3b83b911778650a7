"""Colab's preinstalled packages (tests/colab/pip-freeze.gpu.txt), read once for the tests and .ci/colab-env.

``python -m tests.colab_freeze NAME ...`` prints ``NAME==VERSION`` for each, as Colab has it, so the CI twin
installs exactly Colab's versions without copying them by hand.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

FREEZE = Path(__file__).resolve().parent / "colab" / "pip-freeze.gpu.txt"


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def colab_packages(freeze: Path = FREEZE) -> dict[str, tuple[str, str]]:
    """canonical name -> (name as written, version) for every line of the freeze.

    ``name==version`` lines give their version; ``name @ URL`` lines give the version in the URL's file name
    (a wheel or sdist), or "0" when it has none (a git checkout).
    """
    packages = {}
    for raw in freeze.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pinned = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_.\-]*)\s*==\s*(\S+)", line)
        if pinned:
            packages[canonical(pinned[1])] = (pinned[1], pinned[2])
            continue
        direct = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_.\-]*)\s*@\s*(\S+)", line)
        if not direct:
            raise ValueError(f"{freeze.name}: cannot read {line!r}")
        filename = direct[2].split("#")[0].rsplit("/", 1)[-1]
        version = re.match(r"[^-]+-([0-9][^-]*?)(?:-|\.tar\.gz$|\.zip$)", filename)
        packages[canonical(direct[1])] = (direct[1], version[1] if version else "0")
    return packages


if __name__ == "__main__":
    known = colab_packages()
    for wanted in sys.argv[1:]:
        name, version = known[canonical(wanted)]
        print(f"{name}=={version.split('+')[0]}")
