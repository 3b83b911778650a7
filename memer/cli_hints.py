"""What to do about an error, in the command line's words (its flags and environment variables).

The library's errors carry a stable ``code`` and ``fix`` (memer.errors); the
CLI words its advice from them here, as the app does with its controls
(memer.ui.messages). A code without a row keeps the library's own hint, which
already names settings (MEMER_*) rather than any face's controls.
"""

from __future__ import annotations

from collections.abc import Callable

from memer.errors import MemerError

_LOCAL = "use the free local engine (--engine local)"


def _seed(err: MemerError) -> str:
    if err.fix == "MEMER_SEED":
        return "Set MEMER_SEED to a whole number from 0 to 2**63 - 1 (e.g. MEMER_SEED=42), or unset it."
    return "Use a whole number from 0 to 2**63 - 1, e.g. --seed 42."


def _language(err: MemerError) -> str:
    if err.fix == "MEMER_LANGUAGE":
        return "Set MEMER_LANGUAGE to a language code such as hi, ja or pt-BR, or a name such as Hindi, or unset it."
    return "Give --language a code such as hi, ja or pt-BR, or a name such as Hindi."


# code -> the hint the CLI prints after the message (a function when it depends on ``fix``).
HINTS: dict[str, str | Callable[[MemerError], str]] = {
    "openai.no_key": (
        f"Set one with: export OPENAI_API_KEY=sk-... (in Colab: the Secrets panel, name OPENAI_API_KEY), or {_LOCAL}."
    ),
    "openai.key_refused": (
        f"Check OPENAI_API_KEY, make a new key at https://platform.openai.com/api-keys, or {_LOCAL}."
    ),
    "openai.key_malformed": "Copy the key again and set OPENAI_API_KEY to only the key.",
    "openai.rate_limited": f"Wait a minute and try again, check your OpenAI plan and billing, or {_LOCAL}.",
    "openai.timeout": f"Try again later, raise MEMER_OPENAI_TIMEOUT, or {_LOCAL}.",
    "caption.bad_seed": _seed,
    "caption.no_theme": "Say what the meme is about, e.g. --theme 'apple pie'.",
    "caption.bad_count": "Ask for at least one (--n 1 or more).",
    "language.unknown": _language,
    "caption.unknown_style": lambda err: f"{err.hint.rstrip('.')} (--style).",
    "caption.unknown_engine": lambda err: (
        f"{err.hint.rstrip('.')} (--engine)." if err.fix == "engine" else f"Set MEMER_CAPTION_ENGINE: {err.hint}"
    ),
    "source.unknown": lambda err: f"{err.hint.rstrip('.')} (--sources).",
}


def hint(err: MemerError) -> str:
    """The advice for ``err`` in the CLI's words: its row in HINTS, else the library's own hint."""
    row = HINTS.get(err.code)
    if row is None:
        return err.hint
    return row(err) if callable(row) else row


def line(err: MemerError) -> str:
    """The one line ``memer: error: ...`` says: what went wrong, then what to do."""
    advice = hint(err)
    return f"{err.message} {advice}".strip() if advice else err.message
