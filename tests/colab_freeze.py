"""Colab's preinstalled packages (tests/colab/pip-freeze.gpu.txt), read once for the tests and .ci/colab-env.

``python -m tests.colab_freeze`` prints it as pip constraints (``NAME==VERSION``, without local tags such as
``+cu128``: PyPI has the same release) so that .ci/colab-env installs exactly Colab's versions; packages Colab
installs from a URL (not on PyPI) and torch's CUDA libraries are left out.
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


# torch's CUDA runtime (nvidia-*, cuda-*) belongs to its build: Colab's torch is PyTorch's CUDA 12.8 build,
# PyPI's same release pulls CUDA 13's libraries. The twin takes PyPI's; memer never imports them itself.
CUDA_RUNTIME = re.compile(r"(nvidia|cuda)-")


def constraints(freeze: Path = FREEZE) -> list[str]:
    """``NAME==VERSION`` for every ``name==version`` line of the freeze but CUDA's, local tags dropped."""
    lines = []
    for raw in freeze.read_text().splitlines():
        pinned = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_.\-]*)\s*==\s*([^+\s]+)(\+\S+)?", raw.strip())
        if pinned and not CUDA_RUNTIME.match(canonical(pinned[1])):
            lines.append(f"{pinned[1]}=={pinned[2]}")
    return lines


if __name__ == "__main__":
    sys.stdout.write("\n".join(constraints()) + "\n")
