"""The language captions are written in: a BCP-47 code or a name, checked once, named in English for prompts.

Babel (CLDR's data, the reference for locale names) parses codes such as
``hi``, ``ja``, ``pt-BR`` or ``zh-Hant-TW`` and names them ("Portuguese
(Brazil)"); a name works too, in English ("Hindi", "Portuguese (Brazil)") or
in the language itself ("Deutsch", "日本語"). Anything else is a
:class:`~memer.errors.MemerError` with the code ``language.unknown``. Babel is
imported only when a language other than the default is asked for.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from memer import settings
from memer.errors import MemerError

# Scripts written without spaces between words: a word count means little there, characters do.
_UNSPACED_SCRIPTS = frozenset({"Hans", "Hant", "Hani", "Jpan", "Thai", "Laoo", "Khmr", "Mymr", "Tibt"})
_SINGLETON = re.compile(r"-[0-9a-wyz]-|-x-", re.IGNORECASE)  # where BCP-47 extensions and private use begin
_NOT_LANGUAGES = frozenset({"und", "mis", "mul", "zxx"})  # undetermined, uncoded, several, no linguistic content
_CODE = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")


@dataclass(frozen=True)
class Language:
    """One checked language: its BCP-47 code, its English name, and its own name for itself."""

    code: str  # e.g. "pt-BR"
    name: str  # in English, e.g. "Portuguese (Brazil)": what prompts ask for
    native: str = ""  # in the language, e.g. "português (Brasil)"; "" when CLDR has none
    script: str = ""  # its usual ISO 15924 script, e.g. "Deva"; "" when unknown

    @property
    def base(self) -> str:
        """The language subtag alone, e.g. "pt"."""
        return self.code.split("-", 1)[0].lower()

    @property
    def is_default(self) -> bool:
        """Plain English, what the prompts were written for: they ask for no language at all."""
        return self.code == "en"

    @property
    def is_english(self) -> bool:
        return self.base == "en"

    @property
    def unspaced(self) -> bool:
        """Written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese, Tibetan)."""
        return self.script in _UNSPACED_SCRIPTS

    @property
    def label(self) -> str:
        """How a person reads it: "Hindi (हिन्दी)", "Portuguese (Brazil), português (Brasil)", or just "English"."""
        if not self.native or self.native.casefold() == self.name.casefold():
            return self.name
        return f"{self.name}, {self.native}" if "(" in self.name else f"{self.name} ({self.native})"


ENGLISH = Language("en", "English", "English", "Latn")

# The app's list: the languages most memes are made in (any other can be typed).
COMMON = (
    "en", "es", "pt-BR", "fr", "de", "it", "nl", "pl", "tr", "ru", "uk", "ar", "fa", "he", "hi", "bn", "ur",
    "ta", "te", "mr", "id", "vi", "th", "ja", "ko", "zh-Hans", "zh-Hant", "sw", "el",
)  # fmt: skip


def _unknown(value: str, fix: str) -> MemerError:
    return MemerError(
        f"{value.strip()[:80]!r} is not a language memer knows.",
        "Give a language code such as hi, ja or pt-BR, or a name such as Hindi.",
        code="language.unknown",
        fix=fix,
    )


@functools.lru_cache(maxsize=256)
def _from_babel(value: str) -> Language | None:
    """The language ``value`` names (a code, an English or a native name), or None."""
    from babel import Locale, UnknownLocaleError

    text = " ".join(value.split())
    if _CODE.fullmatch(text):
        code = _SINGLETON.split(text.replace("_", "-") + "-", 1)[0].strip("-")  # extensions (-u-nu-deva) say no more
        if code.split("-", 1)[0].lower() in _NOT_LANGUAGES:
            return None
        try:
            return _described(Locale.parse(code, sep="-"))
        except (UnknownLocaleError, ValueError, TypeError):
            pass
        english = Locale("en")
        base = code.split("-", 1)[0].lower()
        if "-" not in code and base in english.languages:  # named by CLDR, without locale data
            return Language(base, english.languages[base])
    identifier = _by_name().get(text.casefold()) or _by_name_with_region(text) or _native_names().get(text.casefold())
    return _described(Locale.parse(identifier)) if identifier else None


def _described(locale: object) -> Language | None:
    from babel import Locale

    assert isinstance(locale, Locale)
    if locale.language == "und":
        return None
    native = locale.get_display_name() or ""
    script = locale.script or _likely_script(str(locale))
    return Language(str(locale).replace("_", "-"), locale.get_display_name("en") or str(locale), native, script)


def _likely_script(identifier: str) -> str:
    from babel.core import get_global

    likely = get_global("likely_subtags")
    for key in (identifier, identifier.split("_", 1)[0]):
        parts = str(likely.get(key, "")).split("_")
        if len(parts) >= 2 and len(parts[1]) == 4:
            return parts[1]
    return ""


@functools.lru_cache(maxsize=1)
def _by_name() -> dict[str, str]:
    """English language names ("hindi", "brazilian portuguese") -> CLDR identifiers that have locale data."""
    from babel import Locale, localedata

    return {name.casefold(): code for code, name in Locale("en").languages.items() if localedata.exists(code)}


def _by_name_with_region(text: str) -> str | None:
    """ "Portuguese (Brazil)", "Chinese (Traditional)" -> pt_BR, zh_Hant (when CLDR has that locale)."""
    from babel import Locale, localedata

    match = re.fullmatch(r"(.+?)\s*\((.+)\)", text)
    if not match:
        return None
    language = _by_name().get(match.group(1).strip().casefold())
    if not language:
        return None
    english = Locale("en")
    names = {name.casefold(): code for code, name in {**english.territories, **english.scripts}.items()}
    parts = [names.get(part.strip().casefold()) for part in match.group(2).split(",")]
    if not all(parts):
        return None
    identifier = "_".join([language, *[p for p in parts if p]])
    return identifier if localedata.exists(identifier) else None


@functools.lru_cache(maxsize=1)
def _native_names() -> dict[str, str]:
    """Each language's name for itself ("deutsch", "日本語", "हिन्दी") -> its identifier (read once, ~0.5 s)."""
    from babel import Locale, localedata

    names: dict[str, str] = {}
    for identifier in localedata.locale_identifiers():
        if "_" not in identifier:
            name = Locale.parse(identifier).get_display_name(identifier)
            if name:
                names.setdefault(name.casefold(), identifier)
    return names


def parse_language(value: str | None, *, fix: str = "language") -> Language:
    """The language ``value`` names; English when it is empty. ``fix`` is what to change when it names none."""
    text = (value or "").strip()
    if not text or text.casefold() in ("en", "english"):
        return ENGLISH
    if len(text) > 100:
        raise _unknown(text, fix)
    try:
        found = _from_babel(text)
    except ImportError:
        raise MemerError(
            "captions in another language need the babel package.",
            "pip install babel (memer lists it as a dependency: reinstall memer).",
            code="language.unknown",
            fix=fix,
        ) from None
    if found is None:
        raise _unknown(text, fix)
    return found


def resolve_language(value: str | Language | None = None) -> Language:
    """``value`` (a Language, code or name), else settings.LANGUAGE, else English."""
    if isinstance(value, Language):
        return value
    if value is not None and value.strip():
        return parse_language(value, fix="language")
    return parse_language(settings.LANGUAGE, fix="MEMER_LANGUAGE")
