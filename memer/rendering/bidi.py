"""Right-to-left text: the Unicode bidirectional algorithm (UAX #9) for one line of a caption.

A line can mix fonts (Anton for Latin, a fallback for Arabic or Hebrew), so it
cannot be handed to one shaping call as a whole; instead each line is cut into
runs of one font and one direction, and this module says in which order those
runs stand from left to right. Captions carry no explicit embeddings (the
sanitizer and the font stack drop bidi controls), so the rules needed are
P2-P3 (paragraph direction), W1-W7, N1-N2, I1-I2, L1 and L2. Pure: it reads
only ``unicodedata``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

_NUMBERS = ("EN", "AN")
_TRAILING = ("WS", "S", "B", "BN")


def char_class(text: str) -> str:
    """The bidi class of a cluster: that of its first character (marks follow their base)."""
    return unicodedata.bidirectional(text[0]) if text else "ON"


def is_rtl(text: str) -> bool:
    """P2-P3: a paragraph reads right to left when its first strong character does."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return False
        if kind in ("R", "AL"):
            return True
    return False


def _strong(kind: str) -> str | None:
    """How a resolved class counts for neutrals (N1): numbers count as right-to-left."""
    if kind == "L":
        return "L"
    if kind in ("R", *_NUMBERS):
        return "R"
    return None


def _resolve_weak(types: list[str], sos: str) -> None:
    """W1-W7, in place."""
    n = len(types)
    previous = sos
    for i, kind in enumerate(types):  # W1: a mark takes the class of what it sits on
        if kind == "NSM":
            types[i] = previous
        previous = types[i]
    last_strong = sos
    for i, kind in enumerate(types):  # W2: a European digit after Arabic letters is an Arabic number
        if kind in ("L", "R", "AL"):
            last_strong = kind
        elif kind == "EN" and last_strong == "AL":
            types[i] = "AN"
    types[:] = ["R" if kind == "AL" else kind for kind in types]  # W3
    for i in range(1, n - 1):  # W4: one separator between two numbers of a kind joins them
        before, kind, after = types[i - 1], types[i], types[i + 1]
        if kind == "ES" and before == after == "EN":
            types[i] = "EN"
        elif kind == "CS" and before == after and before in _NUMBERS:
            types[i] = before
    i = 0
    while i < n:  # W5: terminators (%, $, °) next to a European number join it
        if types[i] != "ET":
            i += 1
            continue
        j = i
        while j < n and types[j] == "ET":
            j += 1
        if (i > 0 and types[i - 1] == "EN") or (j < n and types[j] == "EN"):
            types[i:j] = ["EN"] * (j - i)
        i = j
    types[:] = ["ON" if kind in ("ES", "ET", "CS") else kind for kind in types]  # W6
    last_strong = sos
    for i, kind in enumerate(types):  # W7: European numbers in left-to-right text are left-to-right
        if kind in ("L", "R"):
            last_strong = kind
        elif kind == "EN" and last_strong == "L":
            types[i] = "L"


def _resolve_neutral(types: list[str], sos: str) -> None:
    """N1-N2, in place: neutrals between two of one direction take it, others the paragraph's."""
    n = len(types)
    i = 0
    while i < n:
        if _strong(types[i]) is not None:
            i += 1
            continue
        j = i
        while j < n and _strong(types[j]) is None:
            j += 1
        # The run is bounded by strong classes (or the paragraph's edge), so neither falls back in practice.
        before = (_strong(types[i - 1]) if i > 0 else None) or sos
        after = (_strong(types[j]) if j < n else None) or sos
        types[i:j] = [before if before == after else sos] * (j - i)
        i = j


def levels(classes: Sequence[str], rtl: bool) -> list[int]:
    """The embedding level of each unit of a line (even: left to right, odd: right to left)."""
    base = 1 if rtl else 0
    sos = "R" if rtl else "L"
    types = list(classes)
    _resolve_weak(types, sos)
    _resolve_neutral(types, sos)
    out = []
    for kind in types:  # I1-I2
        if base == 0:
            out.append(1 if kind == "R" else 2 if kind in _NUMBERS else 0)
        else:
            out.append(2 if kind in ("L", *_NUMBERS) else 1)
    for i in range(len(classes) - 1, -1, -1):  # L1: trailing spaces take the paragraph's level
        if classes[i] not in _TRAILING:
            break
        out[i] = base
    return out


def visual_order(line_levels: Sequence[int]) -> list[int]:
    """L2: the logical indices in left-to-right display order."""
    order = list(range(len(line_levels)))
    odd = [level for level in line_levels if level % 2]
    if not odd:
        return order
    for level in range(max(line_levels), min(odd) - 1, -1):
        i = 0
        while i < len(order):
            if line_levels[order[i]] < level:
                i += 1
                continue
            j = i
            while j < len(order) and line_levels[order[j]] >= level:
                j += 1
            order[i:j] = order[i:j][::-1]
            i = j
    return order
