"""Which characters need a text shaper: right-to-left letters and the complex scripts.

Arabic letters join, Devanagari consonants fuse into conjuncts and put some vowel
signs before the consonant they follow, Thai and Khmer stack marks: drawn one
glyph after another without libraqm, such text is wrong, not merely plain. The
font stack leaves these characters out when Pillow has no shaper, and
``coverage`` says so once instead of drawing them broken. Pure: reads only
``unicodedata``.
"""

from __future__ import annotations

import unicodedata

# Blocks whose letters are shaped: Indic (Devanagari to Malayalam), Sinhala, Thai, Lao, Tibetan, Myanmar,
# Khmer and their extensions; and the right-to-left blocks (Hebrew, Arabic, Syriac, Thaana, NKo ...).
_SHAPED_RANGES = (
    (0x0590, 0x08FF),  # Hebrew, Arabic, Syriac, Arabic Supplement, Thaana, NKo, Samaritan, Mandaic, Arabic Ext
    (0x0900, 0x0DFF),  # Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam, Sinhala
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x109F),  # Tibetan, Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer Symbols
    (0x1CD0, 0x1CFF),  # Vedic Extensions
    (0xA8E0, 0xA8FF),  # Devanagari Extended
    (0xA9E0, 0xA9FF),  # Myanmar Extended-B
    (0xAA60, 0xAA7F),  # Myanmar Extended-A
    (0xFB1D, 0xFDFF),  # Hebrew and Arabic presentation forms A
    (0xFE70, 0xFEFF),  # Arabic presentation forms B
    (0x10800, 0x10FFF),  # historic right-to-left scripts
    (0x1E800, 0x1EFFF),  # Mende Kikakui, Adlam, Arabic mathematical letters
)


def needs_shaper(char: str) -> bool:
    """Whether ``char`` is drawn wrong without a shaper: a right-to-left letter or one of a complex script."""
    code = ord(char)
    if any(low <= code <= high for low, high in _SHAPED_RANGES):
        return unicodedata.category(char)[0] in "LMN"  # letters, marks, digits; not a shared punctuation
    return unicodedata.bidirectional(char) in ("R", "AL")
