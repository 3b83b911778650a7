"""Small text rules every part of memer shares, each written once.

Pure functions: whitespace, titles as words, secret redaction, the one sanitizer
for text shown to people, the first line of an error, and byte sizes in the one
unit the README uses.
"""

from __future__ import annotations

import re
import unicodedata

DESCRIPTION_WORDS = 60  # a candidate's description is cut to this many words
# File endings that name a picture (a Commons title such as "File:Apple pie.jpg").
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp", ".svg")
_NAMESPACE = re.compile(r"^\s*(?:file|image)\s*:", re.IGNORECASE)
_IMAGE_SUFFIX = re.compile(r"\.(?:jpe?g|png|gif|webp|tiff?|bmp|svg)$", re.IGNORECASE)
_SECRET_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{12,}"),  # OpenAI
    re.compile(r"\bhf_[A-Za-z0-9]{20,}"),  # Hugging Face
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._\-]{12,}"),
    re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access_token|secret|password|sig|signature)=)[^&#\s]+"),
)


# Terminal control sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \\), other
# two-character escapes, and their 8-bit C1 forms.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, terminated or not
    r"|(?:\x1b[P^_X]|[\x90\x9e\x9f\x98])[^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, PM, APC, SOS
    r"|\x1b[@-Z\\-_]?"  # any other escape, or a lone ESC
)
# C0 and C1 controls but tab and newline, DEL, and the bidi embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069) that make text read other than it is stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def display_safe(text: object, limit: int | None = None, *, keep_newlines: bool = False) -> str:
    """Outside text made harmless to show in a terminal, a widget or a file.

    Escape sequences and control characters are removed, secrets redacted, whitespace
    collapsed (newlines kept when asked) and the result cut to ``limit`` characters with "…".
    Every text that came from outside (titles, authors, server errors, model names,
    captions) passes here before anyone sees it.
    """
    value = text if isinstance(text, str) else str(text)
    if limit is not None and len(value) > 8 * limit + 64:
        value = value[: 8 * limit + 64]  # bound the work before the regexes run
    value = _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", value))
    value = redact_secrets(value)
    if keep_newlines:
        value = "\n".join(collapse_whitespace(line) for line in value.splitlines()).strip("\n")
    else:
        value = collapse_whitespace(value)
    return shorten(value, limit) if limit is not None else value


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, marked with "…"; never mid-word.

    A single word longer than half the limit (a URL, a hash) is cut where the limit falls.
    """
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space > limit // 2 and not text[len(cut)].isspace():
        cut = cut[:space]
    return cut.rstrip() + "…"


def file_words(text: str, words: int = 8, letters: int | None = 24) -> str:
    """The one file-name rule: ``text`` as lower-case ASCII words joined by dashes (at most ``words`` of
    ``letters`` each), so any title or caption, of any script or length, gives a short name anyone can save."""
    ascii_text = unicodedata.normalize("NFKD", text[:1000]).encode("ascii", "ignore").decode()
    found = re.findall(r"[a-z0-9]+", ascii_text.lower())[:words]
    return "-".join(word[:letters] if letters else word for word in found)


def collapse_whitespace(text: str) -> str:
    """Runs of spaces, tabs and newlines become one space; ends trimmed."""
    return " ".join(text.split())


def trim_words(text: str, words: int = DESCRIPTION_WORDS) -> str:
    """``text`` with whitespace collapsed, cut to ``words`` words (marked with "…" when cut)."""
    parts = text.split()
    return " ".join(parts) if len(parts) <= words else " ".join(parts[:words]) + " …"


def strip_namespace(title: str) -> str:
    """``"File:Apple pie.jpg"`` -> ``"Apple pie.jpg"``: a file title without its wiki namespace."""
    return _NAMESPACE.sub("", title, count=1).strip()


def plain_title(title: str) -> str:
    """``"File:Apple_pie (2).jpg"`` -> ``"Apple pie (2)"``: a file title as words."""
    stem = _IMAGE_SUFFIX.sub("", strip_namespace(title))
    return collapse_whitespace(stem.replace("_", " "))


def redact_secrets(value: str) -> str:
    """The value with anything that looks like an API key or token replaced by ``[redacted]``."""
    for pattern in _SECRET_PATTERNS:
        value = pattern.sub(lambda m: (m.group(1) if m.re.groups else "") + "[redacted]", value)
    return value


def first_line(error: BaseException | str, limit: int = 300) -> str:
    """The first line of an error's message (its type's name when it has none), cut to ``limit`` characters."""
    text = str(error).strip()
    if not text and isinstance(error, BaseException):
        text = type(error).__name__
    return shorten(text.splitlines()[0], limit) if text else ""


def human_size(n: float) -> str:
    """A byte count as people read it; 1 MB is 1024 × 1024 bytes, as in the README (``50 MB``)."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f}".rstrip("0").rstrip(".") + f" {unit}"
        n /= 1024
    return ""  # unreachable
