"""What of a caption cannot be drawn, said in words: no character vanishes without the user being told.

The font stack leaves out characters no bundled or configured font has (rather
than draw tofu boxes), and, where Pillow has no shaper (libraqm), right-to-left
and complex-script letters (rather than draw them broken). This module names
them, once per caption, for the CLI, the app and the API result alike.
"""

from __future__ import annotations

import unicodedata

from memer.rendering import bidi, fonts, scripts

_INVISIBLE = {"Cc", "Cf", "Zl", "Zp", "Zs", "Mn", "Me", "Mc"}  # controls, marks: they draw nothing alone
_SHOWN = 12  # characters quoted in one warning; the rest are counted


def _quoted(chars: list[str]) -> str:
    shown = " ".join(chars[:_SHOWN])
    more = len(chars) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def caption_warnings(text: str, keep_case: bool = False, stack: fonts.FontStack | None = None) -> list[str]:
    """One line per reason some characters of ``text`` are not drawn (none when all are): characters no
    font has, and letters that need libraqm where Pillow lacks it."""
    stack = stack or fonts.font_stack()
    drawn = unicodedata.normalize("NFC", text if keep_case else text.upper())
    missing: list[str] = []
    unshaped: list[str] = []
    shaper = fonts.has_shaper()
    for char in dict.fromkeys(drawn):  # each character once, in order
        if char.isspace() or unicodedata.category(char) in _INVISIBLE or 0xFE00 <= ord(char) <= 0xFE0F:
            continue
        if not shaper and scripts.needs_shaper(char):
            unshaped.append(char)
        elif stack.face_for(char) is None:
            missing.append(char)
    warnings = []
    if missing:
        codes = ", ".join(f"U+{ord(char):04X}" for char in missing[:3])
        warnings.append(f"No font can draw {_quoted(missing)} ({codes}): left out of the meme.")
    if unshaped:
        warnings.append(
            f"Right-to-left and complex scripts need Pillow with libraqm, which this system lacks: left out "
            f"{_quoted(unshaped)}. To draw them, {bidi.platform_hint()} and restart Python."
        )
    return warnings
