"""Right-to-left text: the whole Unicode Bidirectional Algorithm (UAX #9), from GNU FriBidi.

Why FriBidi through ctypes: it is the library Pillow's own text shaper (libraqm)
loads to lay out a right-to-left run, so wherever memer can shape Arabic or
Hindi at all, ``libfribidi.so.0`` is already there (Colab ships ``libfribidi0``;
Debian, Ubuntu, Fedora and Homebrew have it); it implements every rule of the
algorithm (explicit embeddings, overrides and isolates, paired brackets N0,
LRM/RLM/ALM) and passes Unicode's conformance files. python-bidi would need a
new package that Colab lacks, and its API gives display strings, not the levels
a renderer that mixes fonts needs. Where FriBidi cannot be loaded, Pillow has no
shaper either, every level is 0 and the font stack leaves right-to-left and
complex-script letters out, with a warning that says why (``coverage``).

A paragraph (a caption line the writer asked for) is resolved once, before
wrapping (``paragraph_levels``); each wrapped line is then put in display order
from those levels (``line_order``: rules L1 and L2).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Sequence

_PAR_LTR = 0x110  # FRIBIDI_PAR_LTR
_PAR_RTL = 0x111  # FRIBIDI_PAR_RTL
_PAR_ON = 0x40  # FRIBIDI_PAR_ON: direction from the first strong character (P2-P3)
_NAMES = ("libfribidi.so.0", "libfribidi.0.dylib", "libfribidi-0.dll", "fribidi-0.dll", "fribidi.dll")
_Types = ctypes.c_uint32
_Level = ctypes.c_int8


@functools.cache
def _library() -> ctypes.CDLL | None:
    """libfribidi, loaded once; None when this system has none."""
    found = ctypes.util.find_library("fribidi")
    for name in (*((found,) if found else ()), *_NAMES):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            lib.fribidi_get_bidi_types.restype = None
            lib.fribidi_get_bracket_types.restype = None
            lib.fribidi_get_par_embedding_levels_ex.restype = _Level
            lib.fribidi_reorder_line.restype = _Level
        except AttributeError:  # FriBidi before 1.0 has no brackets (N0): not good enough
            continue
        return lib
    return None


def available() -> bool:
    """Whether the full algorithm is here (libfribidi 1.0 or later could be loaded)."""
    return _library() is not None


def _codes(text: str) -> ctypes.Array[ctypes.c_uint32]:
    return (ctypes.c_uint32 * max(1, len(text)))(*map(ord, text))


def _types(lib: ctypes.CDLL, text: str) -> ctypes.Array[ctypes.c_uint32]:
    types = (_Types * max(1, len(text)))()
    lib.fribidi_get_bidi_types(_codes(text), len(text), types)
    return types


def paragraph_levels(text: str, rtl: bool | None = None) -> tuple[list[int], bool]:
    """The embedding level of each character of one paragraph (rules P2-I2, before line breaking), and
    whether the paragraph reads right to left; ``rtl`` forces its direction (None: from its text, P2-P3).

    Without FriBidi every level is 0 and the paragraph reads left to right.
    """
    lib = _library()
    if lib is None or not text:
        return [0] * len(text), bool(rtl)
    n = len(text)
    codes = _codes(text)
    types = (_Types * n)()
    lib.fribidi_get_bidi_types(codes, n, types)
    brackets = (_Types * n)()
    lib.fribidi_get_bracket_types(codes, n, types, brackets)
    base = ctypes.c_uint32(_PAR_ON if rtl is None else _PAR_RTL if rtl else _PAR_LTR)
    levels = (_Level * n)()
    if not lib.fribidi_get_par_embedding_levels_ex(types, brackets, n, ctypes.byref(base), levels):
        return [0] * n, bool(rtl)  # out of memory in FriBidi: draw left to right rather than fail
    return list(levels), bool(base.value & 1)


def is_rtl(text: str) -> bool:
    """P2-P3: whether a paragraph reads right to left (isolates skipped, as the algorithm says)."""
    return paragraph_levels(text)[1]


def line_order(units: Sequence[str], levels: Sequence[int], rtl: bool) -> tuple[list[int], list[int]]:
    """One line's units (clusters, each given by its text) in display order: rule L1 (trailing
    whitespace back to the paragraph's level) then L2 (reversal). Returns the logical indices from left
    to right and each unit's level after L1."""
    n = len(units)
    lib = _library()
    if lib is None or n == 0 or not any(levels):
        return list(range(n)), list(levels)
    firsts = "".join(unit[0] if unit else " " for unit in units)
    types = _types(lib, firsts)
    line_levels = (_Level * n)(*levels)
    order = (ctypes.c_int * n)(*range(n))
    lib.fribidi_reorder_line(0, types, n, 0, _PAR_RTL if rtl else _PAR_LTR, line_levels, None, order)
    return list(order), list(line_levels)


def platform_hint() -> str:
    """How to get FriBidi (and with it Pillow's shaper) on this system."""
    if sys.platform == "darwin":
        return "brew install fribidi"
    if sys.platform == "win32":
        return "put fribidi-0.dll (from MSYS2 or vcpkg) beside python.exe"
    return "install libfribidi0 (apt-get install libfribidi0)"
