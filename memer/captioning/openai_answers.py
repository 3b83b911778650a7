"""What an OpenAI-compatible server answered, read and checked at the edge: pure functions, no SDK.

memer reads the raw body of each answer itself instead of trusting the SDK's
models (which are built without validation): a proxy's HTML page with status 200,
a truncated body, ``content`` that is a number, ``results: null``, scores given
as strings or ``flagged: "false"`` each become one clear :class:`CaptionError`
(or, for moderation, the word-list fallback), never a traceback.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from memer.errors import CaptionError
from memer.openai_client import redact
from memer.text import display_safe

MAX_ANSWER_BYTES = 5 * 1024 * 1024  # ten captions are a few KB; anything near this is not an answer
MAX_SERVER_TEXT = 200  # characters of a server's own words (refusal, error) memer repeats


def server_text(value: object, key: str, limit: int = MAX_SERVER_TEXT) -> str:
    """A server's own words, fit to repeat: the key redacted, escapes and controls gone, cut at a word."""
    return display_safe(redact(value if isinstance(value, str) else str(value), key), limit)


def _shape_error(what: str, problem: str) -> CaptionError:
    return CaptionError(
        f"OpenAI's {what} answer is not what the API documents ({problem}).",
        "Check OPENAI_BASE_URL (a proxy or login page in between?), try again, or use the free local engine.",
    )


def too_large(what: str, limit: int) -> CaptionError:
    """The error for an answer longer than ``limit`` bytes (reading stopped at the cap)."""
    return _shape_error(what, f"more than {limit} bytes, far more than any caption answer")


def read_json(body: bytes | bytearray, content_type: str, what: str) -> Any:
    """The JSON an answer carries, or a CaptionError that says what came instead."""
    if len(body) > MAX_ANSWER_BYTES:
        raise too_large(what, MAX_ANSWER_BYTES)
    text = body.decode("utf-8", "replace")
    if "html" in content_type.lower() or text.lstrip()[:1] == "<":
        raise _shape_error(what, "an HTML page instead of JSON")
    try:
        return json.loads(text, parse_constant=lambda name: None)  # NaN, Infinity: no number memer can use
    except RecursionError:
        raise _shape_error(what, "JSON nested too deep") from None
    except ValueError:
        problem = "an empty body" if not text.strip() else "JSON cut short or broken"
        raise _shape_error(what, problem) from None


# --- chat completions -----------------------------------------------------------------


@dataclass
class CompletionAnswer:
    content: str  # the text the model wrote ("" when none)
    refusal: str  # the model's refusal in its own words ("" when none)
    finish_reason: str
    model: str  # the model the server says answered ("" when it does not say)


def _content_text(content: Any) -> str:
    """``content`` as text: a string, or a list of text parts; anything else is not an answer."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(part, str) or (isinstance(part, dict) and isinstance(part.get("text", ""), str)) for part in content
    ):
        return "\n".join(part if isinstance(part, str) else part.get("text", "") for part in content)
    raise _shape_error("chat", f"the message content is {_kind(content)}, not text")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else type(value).__name__


def parse_completion(payload: Any) -> CompletionAnswer:
    """The first choice of a ChatCompletion, checked field by field."""
    if not isinstance(payload, dict):
        raise _shape_error("chat", f"{_kind(payload)} instead of an object")
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices:
        raise _shape_error("chat", "no choices")
    choice = choices[0]
    if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
        raise _shape_error("chat", "a choice without a message")
    message = choice["message"]
    refusal = message.get("refusal")
    model = payload.get("model")
    finish = choice.get("finish_reason")
    return CompletionAnswer(
        content=_content_text(message.get("content")),
        refusal=refusal if isinstance(refusal, str) else ("" if refusal is None else str(refusal)),
        finish_reason=finish if isinstance(finish, str) else "",
        model=model if isinstance(model, str) else "",
    )


# --- moderation -------------------------------------------------------------------------


@dataclass
class ModerationResult:
    flagged: bool
    categories: dict[str, bool] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)


def _flags(value: Any, where: str) -> dict[str, bool]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _shape_error("moderation", f"{where} is {_kind(value)}")
    flags = {}
    for name, hit in value.items():
        if hit is None:
            continue
        if not isinstance(hit, bool):
            raise _shape_error("moderation", f"{where}[{display_safe(name, 40)!r}] is {_kind(hit)}, not true/false")
        flags[str(name)] = hit
    return flags


def _scores(value: Any) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _shape_error("moderation", f"category_scores is {_kind(value)}")
    scores = {}
    for name, score in value.items():
        if score is None:
            continue
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            raise _shape_error("moderation", f"the score of {display_safe(name, 40)!r} is {_kind(score)}, not a number")
        scores[str(name)] = float(score)
    return scores


def parse_moderation(payload: Any, count: int) -> list[ModerationResult]:
    """One result per text sent, each checked: ``flagged`` a real true/false, scores real numbers."""
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list):
        raise _shape_error("moderation", f"results is {_kind(results)}, not a list")
    if len(results) != count:
        raise CaptionError(f"OpenAI moderation answered for {len(results)} of {count} captions.", "Try again.")
    parsed = []
    for result in results:
        if not isinstance(result, dict):
            raise _shape_error("moderation", f"a result is {_kind(result)}")
        flagged = result.get("flagged")
        if not isinstance(flagged, bool):
            raise _shape_error("moderation", f"flagged is {_kind(flagged)}, not true/false")
        parsed.append(
            ModerationResult(
                flagged, _flags(result.get("categories"), "categories"), _scores(result.get("category_scores"))
            )
        )
    return parsed
