"""Safety levels: 0 safe, 1 sensitive, 2 unsafe.

Two checks. OpenAI's moderation endpoint (the real one, ``moderation_levels``
turns its results into levels) and, for the free local engine, an offline word
list: a cheap hint that misses a great deal (irony, misspellings, context), so
the batch says it is the weaker check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from memer.captioning.base import SAFE, SENSITIVE, UNSAFE
from memer.language import Language

WORD_LIST_CHECK = "offline word list (weaker check: misses context, irony and misspellings)"

# Words that make a caption unsafe (level 2) or sensitive (level 1), by category.
# Deliberately short: a hint for a human, not a filter to rely on.
_UNSAFE_WORDS: dict[str, tuple[str, ...]] = {
    "profanity": (
        "fuck",
        "fucking",
        "fucker",
        "motherfucker",
        "cunt",
        "shit",
        "bullshit",
        "asshole",
        "bitch",
        "bastard",
    ),
    "sexual": ("porn", "porno", "nude", "nudes", "dick", "cock", "pussy", "blowjob", "orgasm", "rape", "rapist"),
    "hate": ("nazi", "nazis", "retard", "retarded", "faggot", "nigger", "tranny"),
    "violence": ("murder", "murdered", "shoot up", "behead", "massacre", "genocide", "terrorist"),
    "self-harm": ("suicide", "kill myself", "kill yourself", "kys", "self harm", "cut myself"),
}
_SENSITIVE_WORDS: dict[str, tuple[str, ...]] = {
    "mild profanity": ("damn", "hell", "crap", "piss", "pissed", "sucks", "screw", "wtf", "omfg", "bloody"),
    "violence": (
        "kill",
        "killed",
        "killing",
        "dead",
        "die",
        "dies",
        "death",
        "gun",
        "guns",
        "stab",
        "blood",
        "bomb",
        "war",
    ),
    "sexual": ("sex", "sexy", "naked", "boobs", "butt", "horny", "stripper"),
    "substances": ("drunk", "beer", "vodka", "wine", "weed", "stoned", "high af", "cocaine", "drugs"),
    "insult": ("stupid", "idiot", "moron", "dumb", "ugly", "fat", "loser"),
    "politics and religion": ("trump", "biden", "democrat", "republican", "jesus", "allah", "church"),
}


def _pattern(words: Iterable[str]) -> re.Pattern[str]:
    alternatives = sorted((re.escape(w).replace(r"\ ", r"\s+") for w in words), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


_UNSAFE_PATTERNS = {category: _pattern(words) for category, words in _UNSAFE_WORDS.items()}
_SENSITIVE_PATTERNS = {category: _pattern(words) for category, words in _SENSITIVE_WORDS.items()}


def word_list_level(text: str) -> tuple[int, list[str]]:
    """A level and the categories behind it, from the offline word list."""
    unsafe = [category for category, pattern in _UNSAFE_PATTERNS.items() if pattern.search(text)]
    if unsafe:
        return UNSAFE, unsafe
    sensitive = [category for category, pattern in _SENSITIVE_PATTERNS.items() if pattern.search(text)]
    if sensitive:
        return SENSITIVE, sensitive
    return SAFE, []


def language_note(check: str, language: Language, *, multilingual: bool) -> str:
    """``check`` with what it means for captions that are not in English (``check`` alone for English).

    OpenAI's moderation reads many languages; the offline classifier and word list learned English words
    only, so a caption in another language goes almost unchecked by them, and the batch says so.
    """
    if language.is_english:
        return check
    if multilingual:
        return f"{check}; multilingual, it reads {language.name} captions too"
    return f"{check}; it knows English words only, so {language.name} captions go almost unchecked"


def moderation_level(
    flagged: bool, categories: Mapping[str, bool], scores: Mapping[str, float], threshold: float
) -> tuple[int, list[str]]:
    """Level 2 if flagged, 1 if any category score reaches ``threshold``, else 0; with the categories why."""
    if flagged:
        named = sorted(name for name, hit in categories.items() if hit)
        return UNSAFE, named or sorted(name for name, score in scores.items() if (score or 0.0) >= threshold)
    high = sorted(name for name, score in scores.items() if (score or 0.0) >= threshold)
    if high:
        return SENSITIVE, high
    return SAFE, []
