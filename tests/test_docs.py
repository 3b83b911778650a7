"""The docs stay true: configuration.md is what settings.py generates, every path they cite exists,
the README stays a five-minute read and lists every command and flag."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from memer import settings_doc
from memer.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "cache" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 250

_LINK = re.compile(r"\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")
_CITED_PATH = re.compile(r"`((?:memer|tests|docs|bench|tools|cache|\.ci)/[^`\s]*)`")
_FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def _cited(doc: Path) -> list[tuple[str, Path]]:
    """(as written, the path it names) for each relative link and each repository path in backticks."""
    text = _FENCE.sub("", doc.read_text(encoding="utf-8"))  # trees and code show names, not citations
    found = []
    for match in _LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # an outside address or an anchor on the same page
        found.append((target, doc.parent / target.split("#")[0]))
    found += [(path, ROOT / path) for path in _CITED_PATH.findall(text)]
    return found


def test_the_docs_exist():
    names = {doc.name for doc in DOCS}
    for name in ("architecture.md", "configuration.md", "limits.md", "troubleshooting.md", "benchmarks.md"):
        assert name in names
    assert (ROOT / "CHANGELOG.md").is_file()


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: doc.name)
def test_every_relative_link_and_path_cited_exists(doc):
    missing = [written for written, path in _cited(doc) if not path.exists()]
    assert missing == []


def test_the_link_check_sees_a_missing_file(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("See [the design](DESIGN.md), `memer/plan.py` and [a site](https://example.org).\n")
    assert [written for written, path in _cited(doc) if not path.exists()] == ["DESIGN.md", "memer/plan.py"]


def test_the_readme_is_a_five_minute_read():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_MAX_LINES
    assert "docs/app-1366.png" in readme and "docs/app-420.png" in readme
    assert "<<<<<<<" not in readme and ">>>>>>>" not in readme and "\n=======\n" not in readme
    first_screen = "\n".join(readme.splitlines()[:50])
    assert 'pip install -e ".[all]" && .venv/bin/memer make' in first_screen
    assert 'pip install -e ".[all,test]"' in first_screen


def test_the_readme_test_command_is_the_one_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = next(line.strip() for line in readme.splitlines() if '".[all,test]"' in line)
    for part in ("-m pytest", ".ci/w7-env", ".ci/colab-env", '-m "not slow and not browser"'):
        assert part in command and part in ci


def _commands_and_flags() -> list[str]:
    """Every subcommand and every option the parser knows, as a user types them."""
    import argparse

    found: list[str] = []

    def walk(parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:  # argparse has no public walk of a parser's options
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found.append(name)
                    walk(sub)
            else:
                found.extend(flag for flag in action.option_strings if flag.startswith("--") and flag != "--help")

    walk(build_parser())
    return sorted(set(found))


def test_every_command_and_flag_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    flags = _commands_and_flags()
    assert "config" in flags and "--json" in flags and "--allow-unsafe" in flags
    missing = [flag for flag in flags if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", readme)]
    assert missing == []


def test_the_configuration_page_is_generated_from_settings():
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == settings_doc.markdown(), "run: python -m memer.settings_doc > docs/configuration.md"
    for env in settings_doc.settings.SETTINGS:
        assert f"`{env}`" in page
