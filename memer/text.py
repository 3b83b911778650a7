"""Small text rules every part of memer shares, each written once.

Pure functions: whitespace, titles as words, secret redaction, the first line of
an error, and byte sizes in the one unit the README uses.
"""

from __future__ import annotations

import re

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
    return text.splitlines()[0][:limit] if text else ""


def human_size(n: float) -> str:
    """A byte count as people read it; 1 MB is 1024 × 1024 bytes, as in the README (``50 MB``)."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f}".rstrip("0").rstrip(".") + f" {unit}"
        n /= 1024
    return ""  # unreachable
