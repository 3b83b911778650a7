"""Turn what a model wrote into clean caption lines; the same rules for every engine and every script.

Pure functions. The case is kept (upper-casing is the renderer's job). Nothing
here assumes English or spaces: a word is letters, digits and the marks that
belong to them (a Hindi vowel sign, a Thai tone mark), quotes and full stops
are those of every script (「」, «», "।", "。"), and only English captions have
their English articles ignored when two are compared.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from memer.captioning.prompts import LINE_SEPARATOR
from memer.language import Language
from memer.text import collapse_whitespace

# Words that never make two English jokes different: "a pie" and "the pie" are the same caption.
ARTICLES = frozenset({"a", "an", "the"})
MAX_CAPTION_CHARS = 400  # a longer "caption" is a run-on answer, not a meme line: dropped, never cut


@functools.cache
def _hashtags() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(a hashtag anywhere, hashtags ending the caption), built on first use (the mark table takes ~0.1 s)."""
    word = rf"[\w{_mark_ranges()}]"  # a letter, digit, underscore or a mark on one
    return re.compile(rf"(?<![\w&])#({word}+)"), re.compile(rf"(?:\s*(?<![\w&])#{word}+)+\s*$")


def _mark_ranges() -> str:
    """Every combining mark (Mn, Mc, Me) as regex ranges: Python's ``\\w`` leaves out "ि" and "่"."""
    codes = [c for c in (*range(0x20000), *range(0xE0100, 0xE01F0)) if unicodedata.category(chr(c))[0] == "M"]
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in ranges)


# Opening quote -> its closing quote, in the world's styles: “…”, „…“, «…», »…«, ”…”, 「…」, 『…』, ‹…›.
_QUOTE_PAIRS = {
    '"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“", "`": "`",
    "»": "«", "”": "”", "‚": "‘", "‹": "›", "「": "」", "『": "』", "〝": "〟", "＂": "＂",
}  # fmt: skip
_QUOTE_CHARS = "".join(dict.fromkeys("".join(opening + closing for opening, closing in _QUOTE_PAIRS.items())))
# "1. ", "2) ", "#3:", "(4) ", "１．", "（５）", "- ", "* ", "• ", "・", "Caption 5:", "Caption:"
_LEADING_MARK = re.compile(
    r"^\s*(?:(?:caption|meme)\s*\d*\s*[:.)\-–—：]\s*"
    r"|[(（]?#?\d{1,2}\s*(?:[.):\-–—](?:\s+|$)|[．）：、]\s*)"
    r"|[(（]\d{1,2}[)）]\s*|[-*•–—·>]+\s+|・\s*)",
    re.IGNORECASE,
)
_ABBREVIATION_END = re.compile(r"(?:\b\w\.){2,}$")  # "U.S.A." keeps its last period
# One sentence's full stop, in any script: a caption drops it ("." Latin, "。" CJK, "।" Devanagari and its
# neighbours, "۔" Urdu, "።" Ethiopic, "։" Armenian, "။" Myanmar, "៕" Khmer).
_FULL_STOPS = ".。｡．।۔።։။៕"
# Format characters that are spelling, not noise: the zero-width non-joiner (Persian, Indic) and joiner
# (emoji, Indic), and the bidi marks LRM, RLM and ALM.
_KEPT_FORMAT = frozenset("\u200c\u200d\u200e\u200f\u061c")


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
    """Drop control characters and the replacement mark of a half-decoded byte; keep whitespace (tidied later),
    joiners and bidi marks."""
    return c.isspace() or c in _KEPT_FORMAT or (unicodedata.category(c)[0] != "C" and c != "\ufffd")


def _drop_full_stop(text: str) -> str:
    """A caption without its one closing full stop; an ellipsis ("..", "。。") and "U.S.A." keep theirs."""
    if not text or text[-1] not in _FULL_STOPS or text[-2:-1] in tuple(_FULL_STOPS):
        return text
    if text.endswith(".") and _ABBREVIATION_END.search(text):
        return text
    return text[:-1].rstrip()


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
    hashtag, trailing_hashtags = _hashtags()
    text = trailing_hashtags.sub("", text)
    text = hashtag.sub(r"\1", text)  # an inline hashtag keeps its word
    text = collapse_whitespace(text)
    text = text.rstrip(" /|")
    text = _drop_full_stop(text)
    text = _strip_quotes(text)
    return text


def first_line(text: str) -> str:
    """What a base model wrote before its first newline (it may run on to a new example)."""
    return text.lstrip("\n").split("\n", 1)[0]


def _word_char(c: str) -> bool:
    """A letter or digit of any script, or a mark on one (a vowel sign changes the word)."""
    return c.isalnum() or unicodedata.category(c)[0] == "M"


def _normalised(text: str) -> str:
    """Case, width and composition folded (NFKC, casefold); everything but letters, digits and marks a space."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return collapse_whitespace("".join(c if _word_char(c) else " " for c in folded))


def duplicate_key(text: str, language: Language | None = None) -> str:
    """What two captions share when they are the same joke: case, punctuation, spacing (and for English, articles)
    ignored.

    Nothing fuzzier: "When the pie is hot" and "When the pie is burnt" differ by one word,
    and that word is the joke; "कल" and "काल" differ by a vowel sign. Scripts written without
    spaces (Thai, Japanese) compare as whole lines.
    """
    words = _normalised(text).split()
    if language is None or language.is_english:
        words = [word for word in words if word not in ARTICLES]
    return " ".join(words)


def is_near_duplicate(a: str, b: str, language: Language | None = None) -> bool:
    return duplicate_key(a, language) == duplicate_key(b, language)


def clean_captions(raw: list[str], n: int, language: Language | None = None) -> tuple[list[str], str]:
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
        key = duplicate_key(caption, language)
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
