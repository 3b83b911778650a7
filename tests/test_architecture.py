"""The house rules a reader relies on: every module in a layer, small modules, no import cycle.

The layers themselves are import-linter contracts in pyproject.toml, run by .ci/run; import-linter checks only
the modules a contract names, so the test below makes sure none is left out of them.
"""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import pytest
import tomllib

import memer

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "memer"
MAX_MODULE_LINES = 500


def _layered_modules() -> set[str]:
    """Every module the layers contract of pyproject.toml places ("a : b | c" lines split on ":" and "|")."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"][
        "contracts"
    ]
    (layers,) = [contract["layers"] for contract in contracts if contract["type"] == "layers"]
    return {name.strip() for layer in layers for name in re.split(r"[:|]", layer) if name.strip()}


def test_every_top_level_module_has_a_layer():
    top_level = {f"memer.{info.name}" for info in pkgutil.iter_modules(memer.__path__) if info.name != "__main__"}
    assert top_level - _layered_modules() == set()  # a new module: give it its layer in pyproject.toml
    assert _layered_modules() - top_level == set()  # a layer naming a module that is gone


def test_no_module_is_over_500_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each a cycle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_memer_modules():
    grimp = pytest.importorskip("grimp")  # installed with import-linter (the test extra)
    graph = grimp.build_graph("memer", cache_dir=None)
    imports = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    # A package's __init__ re-exporting its own modules is not a cycle a reader trips over.
    edges = {
        module: {other for other in targets if not (other.startswith(module + ".") or module.startswith(other + "."))}
        for module, targets in imports.items()
    }
    assert _cycles(edges) == []
