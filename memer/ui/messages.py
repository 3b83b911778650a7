"""memer's errors in the app's words.

The library's errors carry a stable ``code`` and ``fix`` (memer.errors); the
app words its advice from them here, naming its own controls ("Engine: local,
above", the key box, the seed box), as the CLI names its flags
(memer.cli_hints). A code without a row keeps the library's own words, which
name no face's controls. Nothing here matches message text.
"""

from __future__ import annotations

from collections.abc import Callable

from memer.errors import MemerError

LOCAL = "use the free local engine (Engine: local, above)"
PASTED = "api_key"  # an error's ``fix`` when the key in use is the one pasted in the key box

OPENIMAGES_NOT_SET_UP = (
    "not set up on this computer (optional): pictures come from Wikimedia Commons and Wikipedia. "
    "Set it up under “Open Images (optional)” below."
)


def _key_refused(err: MemerError) -> str:
    if err.fix == PASTED:
        return "OpenAI did not accept the key you pasted. Check it and paste it again, or choose Engine: local."
    return (
        "OpenAI did not accept the key found in your Colab secrets or environment (OPENAI_API_KEY). "
        "Fix it there, or choose Engine: local."
    )


def _key_malformed(err: MemerError) -> str:
    if err.fix == PASTED:
        return (
            "The key you pasted has characters no key has (a stray quote or space?). "
            "Copy the key again and paste only the key."
        )
    return (
        "The key found in your Colab secrets or environment (OPENAI_API_KEY) has characters no key has "
        "(a stray quote or space?). Fix it there, or choose Engine: local."
    )


def _with(advice: str) -> Callable[[MemerError], str]:
    """The library's message, then the app's advice instead of the library's hint."""
    return lambda err: f"{err.message} {advice}"


# code -> the whole line the app shows for an error with that code.
LINES: dict[str, Callable[[MemerError], str]] = {
    "openai.no_key": lambda err: "No usable OpenAI key. Paste one in the key box, or choose Engine: local.",
    "openai.key_refused": _key_refused,
    "openai.key_malformed": _key_malformed,
    "openai.rate_limited": _with(f"Wait a minute and try again, check your OpenAI plan and billing, or {LOCAL}."),
    "openai.timeout": _with(f"Try again later, or {LOCAL}."),
    "openai.unavailable": _with(f"Check the internet connection and try again in a few minutes, or {LOCAL}."),
    "caption.unknown_engine": _with("Choose one in the Engine menu above."),
    "language.unknown": lambda err: (
        f"{err.message} Choose one in the Language box above, or type a code such as hi or pt-BR, or a name."
        if err.fix == "language"
        else f"{err.message} MEMER_LANGUAGE names no language: fix or unset it, or choose one in the Language box."
    ),
    "caption.no_theme": _with("Type what the meme is about in the search box above."),
    "caption.bad_seed": lambda err: (
        f"{err.message} Type a whole number, e.g. 42, or leave the box empty." if err.fix == "seed" else str(err)
    ),
}


def sentence(text: str) -> str:
    """Starts with a capital letter, whatever the library wrote."""
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def error_for_app(err: BaseException) -> str:
    """A failure as the one line the app shows: memer's own errors in the app's words, anything else as a bug report."""
    if isinstance(err, MemerError):
        row = LINES.get(err.code)
        return sentence(row(err) if row is not None else str(err))
    return f"Something went wrong: {type(err).__name__}: {err}. Try again; if it keeps happening, please report it."


def source_note(name: str, ok: bool, code: str) -> str | None:
    """A calmer line for a source that is simply not set up (the Open Images cache on a fresh Colab)."""
    if name == "openimages" and not ok and code == "cache.missing":
        return OPENIMAGES_NOT_SET_UP
    return None
