"""The CLI's progress hook: one tqdm bar on a terminal, nothing at all when output is captured."""

from __future__ import annotations

import io
import sys

from memer import cli


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_hook_drives_one_bar_labelled_with_the_step(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with cli._progress() as progress:
        assert progress is not None
        progress("Downloading pictures (3/6)", 0.5)
        shown = terminal.getvalue()
        progress("Comparing pictures with the query", None)  # unknown fraction: the bar stays where it was
        progress("Found 6 pictures", 7.0)  # out of range is clamped
    assert "Downloading pictures (3/6)" in shown and "50%" in shown
    assert "Comparing pictures with the query" in terminal.getvalue() and "100%" in terminal.getvalue()


def test_captured_output_gets_no_hook_and_no_bar(monkeypatch):
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    with cli._progress() as progress:
        assert progress is None
    assert captured.getvalue() == ""
