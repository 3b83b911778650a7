"""Upper-casing a caption the way its script and language do it (the classic meme look is ALL CAPS).

``str.upper`` is Unicode's own mapping: caseless scripts (Devanagari, Thai,
Arabic, Hebrew, CJK ...) come back as they were, Latin, Greek, Cyrillic and
Armenian get their capitals, "ß" becomes "SS". Three things it cannot know are
done here, each small: Turkish and Azerbaijani dotted "i" -> "İ" (only when the
language says so); Greek capitals drop their accents ("Καλημέρα" ->
"ΚΑΛΗΜΕΡΑ"; an accent that split a diphthong becomes a diaeresis, "άι" ->
"ΑΪ"); and Georgian stays as written: its capitals (Mtavruli) are a display
style most Georgian text never uses, not the caption's case.
"""

from __future__ import annotations

import unicodedata

from memer.language import resolve_language

_DOTTED_I_LANGUAGES = frozenset({"tr", "az"})  # whose capital "i" keeps its dot (Unicode SpecialCasing)
_GREEK_ACCENTS = frozenset(
    "\u0301\u0300\u0342\u0313\u0314\u0345"
)  # tonos/oxia, varia, perispomeni, breathings, ypogegrammeni
_GREEK_DIPHTHONG_SECOND = frozenset("ιυ")
_DIAERESIS = "\u0308"


def _is_georgian(char: str) -> bool:
    return "\u10d0" <= char <= "\u10ff" or "\u2d00" <= char <= "\u2d2f"  # Mkhedruli and Nuskhuri


def _is_greek(char: str) -> bool:
    return "\u0370" <= char <= "\u03ff" or "\u1f00" <= char <= "\u1fff"


def _greek_upper(word: str) -> str:
    """A run of Greek letters in capitals without accents; an accent on the first vowel of a pair gives a diaeresis."""
    letters = unicodedata.normalize("NFD", word)
    out: list[str] = []
    split_next = False
    for index, char in enumerate(letters):
        if char in _GREEK_ACCENTS:
            following = letters[index + 1 : index + 2]
            split_next = bool(out) and out[-1].lower() in "αεου" and following in _GREEK_DIPHTHONG_SECOND
            continue
        out.append(char.upper())
        if split_next and char in _GREEK_DIPHTHONG_SECOND:
            out.append(_DIAERESIS)
        split_next = False
    return unicodedata.normalize("NFC", "".join(out))


def upper_case(text: str, language: str | None = None) -> str:
    """``text`` in capitals where its script has them, by the rules of ``language`` (a code or a name; None:
    settings.LANGUAGE, else English). A value that names no language is memer's ``language.unknown`` error."""
    if resolve_language(language).base in _DOTTED_I_LANGUAGES:
        text = text.replace("i", "İ")
    out: list[str] = []
    greek: list[str] = []
    for char in text:
        if _is_greek(char) or (greek and unicodedata.category(char)[0] == "M"):
            greek.append(char)
            continue
        if greek:
            out.append(_greek_upper("".join(greek)))
            greek = []
        out.append(char if _is_georgian(char) else char.upper())
    if greek:
        out.append(_greek_upper("".join(greek)))
    return "".join(out)
