"""Turn what a model wrote into clean caption lines; the same rules for every engine.

Pure functions. The case is kept (upper-casing is the renderer's job).
"""

from __future__ import annotations

import re
import unicodedata

from memer.captioning.prompts import LINE_SEPARATOR
from memer.text import collapse_whitespace

# Words that never make two jokes different: "a pie" and "the pie" are the same caption.
ARTICLES = frozenset({"a", "an", "the"})
MAX_CAPTION_CHARS = 400  # a longer "caption" is a run-on answer, not a meme line: dropped, never cut

_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“", "`": "`"}
_QUOTE_CHARS = "\"'“”‘’«»„`"
# "1. ", "2) ", "#3:", "(4) ", "- ", "* ", "• ", "Caption 5:", "Caption:"
_LEADING_MARK = re.compile(
    r"^\s*(?:(?:caption|meme)\s*\d*\s*[:.)\-–—]\s*|\(?#?\d{1,2}\s*[.):\-–—](?:\s+|$)|\(\d{1,2}\)\s*|[-*•–—·>]+\s+)",
    re.IGNORECASE,
)
_HASHTAG = re.compile(r"(?<![\w&])#(\w+)")
_ABBREVIATION_END = re.compile(r"(?:\b\w\.){2,}$")  # "U.S.A." keeps its last period
_TRAILING_HASHTAGS = re.compile(r"(?:\s*(?<![\w&])#\w+)+\s*$")


def _strip_quotes(text: str) -> str:
    while len(text) >= 2 and text[0] in _QUOTE_PAIRS and text[-1] == _QUOTE_PAIRS[text[0]]:
        text = text[1:-1].strip()
    # A quote left open at one end only (a model cut short, or a lone closing quote).
    if text[:1] in _QUOTE_CHARS and not any(c in text[1:] for c in _QUOTE_CHARS if c != "'"):
        text = text[1:].strip()
    if text[-1:] in _QUOTE_CHARS and text[-1:] != "'" and not any(c in text[:-1] for c in _QUOTE_CHARS if c != "'"):
        text = text[:-1].strip()
    return text


def _keep_char(c: str) -> bool:
    """Drop control characters and the replacement mark of a half-decoded byte; keep whitespace (tidied later) and emoji joiners."""
    return c.isspace() or c == "\u200d" or (unicodedata.category(c)[0] != "C" and c != "\ufffd")


def clean_caption(text: str) -> str:
    """One caption, tidy: no quotes, numbering, bullets, hashtags, trailing period or extra spaces.

    Lines inside one caption (a poem from a chat model) are joined with " / ".
    """
    text = "".join(c for c in text.replace("\r", "\n") if _keep_char(c))
    lines = [collapse_whitespace(line) for line in text.split("\n")]
    text = LINE_SEPARATOR.join(line for line in lines if line)
    for _ in range(3):  # marks can nest: '1. "Caption: ..."'
        before = text
        text = _LEADING_MARK.sub("", text, count=1).strip()
        text = _strip_quotes(text)
        if text == before:
            break
    text = _TRAILING_HASHTAGS.sub("", text)
    text = _HASHTAG.sub(r"\1", text)  # an inline hashtag keeps its word
    text = collapse_whitespace(text)
    text = text.rstrip(" /|")
    if text.endswith(".") and not text.endswith("..") and not _ABBREVIATION_END.search(text):
        text = text[:-1].rstrip()
    text = _strip_quotes(text)
    return text


def first_line(text: str) -> str:
    """What a base model wrote before its first newline (it may run on to a new example)."""
    return text.lstrip("\n").split("\n", 1)[0]


def _normalised(text: str) -> str:
    return collapse_whitespace(re.sub(r"[^\w\s]|_", " ", text.casefold()))


def duplicate_key(text: str) -> str:
    """What two captions share when they are the same joke: case, punctuation, spacing and articles ignored.

    Nothing fuzzier: "When the pie is hot" and "When the pie is burnt" differ by one word,
    and that word is the joke.
    """
    return " ".join(word for word in _normalised(text).split() if word not in ARTICLES)


def is_near_duplicate(a: str, b: str) -> bool:
    return duplicate_key(a) == duplicate_key(b)


def clean_captions(raw: list[str], n: int) -> tuple[list[str], str]:
    """Up to ``n`` clean, distinct captions, and a note saying why there are fewer (empty if none).

    One pass with a set of keys, stopping at the ``n``-th caption: a 1,000-line answer costs
    no more than the first ``n`` good lines of it.
    """
    captions: list[str] = []
    seen: set[str] = set()
    empty = duplicates = too_long = 0
    for item in raw:
        if len(captions) >= n:
            return captions, ""
        if isinstance(item, str) and len(item) > 2 * MAX_CAPTION_CHARS:
            too_long += 1
            continue
        caption = clean_caption(item) if isinstance(item, str) else ""
        if len(caption) > MAX_CAPTION_CHARS:
            too_long += 1
            continue
        key = duplicate_key(caption)
        if not key:
            empty += 1
            continue
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        captions.append(caption)
    if len(captions) >= n:
        return captions, ""
    reasons = []
    if empty:
        reasons.append(f"{empty} empty")
    if duplicates:
        reasons.append(f"{duplicates} near-duplicate")
    if too_long:
        reasons.append(f"{too_long} too long")
    why = f" ({' and '.join(reasons)} dropped)" if reasons else ""
    note = f"only {len(captions)} of {n} captions came back usable{why}; ask again for more."
    return captions, note
