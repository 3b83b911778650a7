"""The library's messages in the app's words.

The library writes for every face (the CLI's users type ``--engine local``;
a developer sets OPENAI_API_KEY); in the app the same advice points at the
app's own controls, and someone who pasted a key is told about that key.
Each rewrite is one row of a table, so the wording lives in one place.
"""

from __future__ import annotations

import re

from memer.errors import MemerError

# (pattern, replacement) applied in order to every message the app shows.
APP_WORDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\s*\(--engine local\)"), " (Engine: local, above)"),
    (re.compile(r"--engine (\w+)"), r"Engine: \1"),
    (re.compile(r",? raise MEMER_OPENAI_TIMEOUT,?"), ","),
    (re.compile(r"Use e\.g\. --seed \d+ or MEMER_SEED=\d+\."), "Type a whole number, e.g. 42, or leave the box empty."),
]
BAD_KEY = re.compile(r"invalid or missing OpenAI key", re.IGNORECASE)
NO_CACHE = re.compile(r"No Open Images cache|Open Images cache.*not found|cache not found", re.IGNORECASE)

OPENIMAGES_NOT_SET_UP = (
    "not set up on this computer (optional): pictures come from Wikimedia Commons and Wikipedia. "
    "Set it up under “Open Images (optional)” below."
)


def sentence(text: str) -> str:
    """Starts with a capital letter, whatever the library wrote."""
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def for_app(text: str, *, typed_key: bool = False, key_found: bool = False) -> str:
    """``text`` rewritten for a person using the app."""
    if BAD_KEY.search(text):
        if typed_key:
            return "OpenAI did not accept the key you pasted. Check it and paste it again, or choose Engine: local."
        if key_found:
            return (
                "OpenAI did not accept the key found in your Colab secrets or environment (OPENAI_API_KEY). "
                "Fix it there, or choose Engine: local."
            )
        return "No usable OpenAI key. Paste one in the key box, or choose Engine: local."
    for pattern, replacement in APP_WORDS:
        text = pattern.sub(replacement, text)
    return sentence(text)


def error_for_app(err: BaseException, *, typed_key: bool = False, key_found: bool = False) -> str:
    """A failure as the one line the app shows: memer's own errors as written, anything else as a bug report."""
    if isinstance(err, MemerError):
        return for_app(str(err), typed_key=typed_key, key_found=key_found)
    return f"Something went wrong: {type(err).__name__}: {err}. Try again; if it keeps happening, please report it."


def source_note(name: str, ok: bool, message: str) -> str | None:
    """A calmer line for a source that is simply not set up (the Open Images cache on a fresh Colab)."""
    if name == "openimages" and not ok and NO_CACHE.search(message or ""):
        return OPENIMAGES_NOT_SET_UP
    return None
