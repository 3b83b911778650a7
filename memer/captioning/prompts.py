"""Prompt building: a zero-shot instruction for chat models, a few-shot page for base models.

Chat and instruction models (OpenAI, Qwen, SmolLM ...) follow a plain request.
Base models such as GPT-Neo only continue text, so they get a short page of
Theme / Image description / Caption examples that ends where the next caption
belongs. Every style asks for ONE line: poems and haikus keep their lines on
one line, separated by " / ", so every engine can stop at a newline.

Every prompt can ask for another language (memer.language): by its English name
and its own, e.g. "Write the caption in Hindi (हिन्दी)." Plain English asks
for nothing, so English prompts read as they always did.
"""

from __future__ import annotations

from dataclasses import dataclass

from memer.errors import CaptionError
from memer.language import Language
from memer.text import collapse_whitespace

STYLES = ("funny", "wholesome", "sarcastic", "poem", "haiku")

LINE_SEPARATOR = " / "  # between the lines of a poem or haiku

SYSTEM_PROMPT = (
    "You write short, original meme captions. A caption is one line of plain text: "
    "no quotes, no hashtags, no emojis, no numbering, no explanations."
)

# What each style asks for; {theme} is filled in.
_STYLE_REQUESTS = {
    "funny": "Create a funny caption for a new meme about {theme}.",
    "wholesome": "Create a wholesome, warm-hearted caption for a new meme about {theme}.",
    "sarcastic": "Create a sarcastic, deadpan caption for a new meme about {theme}.",
    "poem": (
        "Create a caption for a new meme about {theme} as a funny poem of two short rhyming lines. "
        "Write both lines on one line, separated by ' / '."
    ),
    "haiku": (
        "Create a caption for a new meme about {theme} as a haiku (three lines of 5, 7 and 5 syllables). "
        "Write the three lines on one line, separated by ' / '."
    ),
}

_LENGTH_HINT = {
    "funny": "Keep it short: at most 12 words.",
    "wholesome": "Keep it short: at most 12 words.",
    "sarcastic": "Keep it short: at most 12 words.",
    "poem": "Keep each line short: at most 8 words.",
    "haiku": "",
}
# Where words are not separated by spaces (Chinese, Japanese, Thai ...), a length in characters means something.
_UNSPACED_LENGTH_HINT = {
    "funny": "Keep it short: at most 30 characters.",
    "wholesome": "Keep it short: at most 30 characters.",
    "sarcastic": "Keep it short: at most 30 characters.",
    "poem": "Keep each line short: at most 20 characters.",
    "haiku": "",
}


@dataclass(frozen=True)
class Example:
    theme: str
    description: str
    caption: str


# Our own examples (written for memer), two per style, for few-shot prompts.
FEW_SHOT_EXAMPLES: dict[str, tuple[Example, ...]] = {
    "funny": (
        Example("Monday mornings", "a cat asleep face down on a laptop keyboard", "Loading motivation... 3% complete"),
        Example(
            "houseplants", "a wilted fern on a sunny windowsill", "I gave it water, light and love. It chose drama"
        ),
    ),
    "wholesome": (
        Example("grandparents", "an old man teaching a little girl to fish on a lake", "Best teacher, no homework"),
        Example("dogs", "a puppy asleep on a pile of clean laundry", "Home is wherever this little guy falls asleep"),
    ),
    "sarcastic": (
        Example("traffic", "a long line of cars on a highway at sunset", "Oh good, the scenic route. Again"),
        Example("diets", "a small salad next to a giant pizza", "A balanced meal: one of each"),
    ),
    "poem": (
        Example(
            "coffee",
            "a steaming mug on a messy desk",
            "Without my morning cup of brew / I'm not the person that you knew",
        ),
        Example(
            "rain",
            "an umbrella blown inside out on a street",
            "The forecast said a gentle breeze / My umbrella begs to disagree",
        ),
    ),
    "haiku": (
        Example(
            "cats",
            "a cat pushing a glass off a table",
            "Glass upon the edge / one small paw, a gentle push / gravity wins again",
        ),
        Example(
            "autumn",
            "a pile of leaves and a rake in a garden",
            "Raked the leaves at dawn / the wind had a different plan / begin once again",
        ),
    ),
}


def check_style(style: str | None, default: str = "funny") -> str:
    """The style to use; an unknown one is a CaptionError that lists the choices."""
    chosen = (style or default or "funny").strip().lower()
    if chosen not in STYLES:
        raise CaptionError(
            f"unknown caption style {style!r}.",
            f"Choose one of: {', '.join(STYLES)}.",
            code="caption.unknown_style",
            fix="style",
        )
    return chosen


def _picture_sentence(description: str, has_image: bool) -> str:
    description = collapse_whitespace(description).rstrip(".")
    if description and has_image:
        return f"The background picture (attached) is {description}."
    if description:
        return f"The background picture is {description}."
    if has_image:
        return "The background picture is attached."
    return ""


def language_sentence(language: Language | None, what: str = "the caption") -> str:
    """ "Write the caption in Hindi (हिन्दी)." for any language but plain English ("" then)."""
    if language is None or language.is_default:
        return ""
    return f"Write {what} in {language.label}."


def instruction(
    theme: str,
    description: str = "",
    style: str = "funny",
    *,
    has_image: bool = False,
    language: Language | None = None,
) -> str:
    """The zero-shot request for one caption, e.g. "Create a funny caption for a new meme about X. ..."."""
    style = check_style(style)
    parts = [_STYLE_REQUESTS[style].format(theme=collapse_whitespace(theme))]
    picture = _picture_sentence(description, has_image)
    if picture:
        parts.append(picture)
    length = (_UNSPACED_LENGTH_HINT if language is not None and language.unspaced else _LENGTH_HINT)[style]
    if length:
        parts.append(length)
    asked = language_sentence(language)
    if asked:
        parts.append(asked)
    return " ".join(parts)


def chat_messages(
    theme: str, description: str = "", style: str = "funny", language: Language | None = None
) -> list[dict[str, str]]:
    """Messages for a local chat model that writes one caption per sample."""
    user = instruction(theme, description, style, language=language) + " Reply with the caption only, on one line."
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def batch_instruction(
    theme: str,
    description: str = "",
    style: str = "funny",
    n: int = 10,
    *,
    has_image: bool = False,
    language: Language | None = None,
) -> str:
    """The request for N different captions in one answer (OpenAI structured output)."""
    return (
        instruction(theme, description, style, has_image=has_image, language=language)
        + f' Give {n} different captions, each one a new idea, as a JSON object {{"captions": [...]}}.'
    )


def few_shot_prompt(theme: str, description: str = "", style: str = "funny", language: Language | None = None) -> str:
    """A page of examples that a base model continues with one caption (it stops at the newline).

    Its examples are English; another language is named in the heading only, which a base model
    follows far less well than a chat model follows a request (docs/limits.md).
    """
    style = check_style(style)
    wanted = "" if language is None or language.is_default else f" in {language.label}"
    blocks = [f"Meme captions{wanted}, {style} style.\n"]
    for example in FEW_SHOT_EXAMPLES[style]:
        blocks.append(f"Theme: {example.theme}\nImage description: {example.description}\nCaption: {example.caption}\n")
    description = collapse_whitespace(description) or "a picture about " + collapse_whitespace(theme)
    blocks.append(f"Theme: {' '.join(theme.split())}\nImage description: {description}\nCaption:")
    return "\n".join(blocks)


DESCRIBE_REQUEST = (
    "Describe this picture in one plain sentence of at most 25 words: what it shows, nothing else. "
    "No opinions, no jokes, no quotes."
)


def describe_request(language: Language | None = None) -> str:
    """The request for a one-sentence description, in ``language`` when it is not plain English."""
    asked = language_sentence(language, "the sentence")
    return f"{DESCRIBE_REQUEST} {asked}" if asked else DESCRIBE_REQUEST


def vision_chat_messages(
    theme: str, description: str = "", style: str = "funny", language: Language | None = None
) -> list[dict[str, object]]:
    """Messages for a local vision-language model: the picture as an image part, then the request about it."""
    user = (
        instruction(theme, description, style, has_image=True, language=language)
        + f" Make the caption about what the picture shows, tied to {collapse_whitespace(theme)}."
        + " Reply with the caption only, on one line."
    )
    return [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": user}]},
    ]
