"""The OpenAI engine: one Chat Completions request for all N captions, one moderation request for them all.

The only seam is the SDK's own: ``OPENAI_BASE_URL`` (read by the SDK; memer
never sets ``base_url``) and the key. The key is looked up, handed to the SDK
and nothing else: never printed, logged or put in a message.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from typing import Any

from memer import settings
from memer.captioning import openai_answers
from memer.captioning.base import Caption, CaptionBatch, CaptionRequest
from memer.captioning.cleanup import clean_captions
from memer.captioning.openai_answers import parse_completion, parse_moderation, read_json, server_text, too_large
from memer.captioning.prompts import SYSTEM_PROMPT, batch_instruction
from memer.captioning.safety import WORD_LIST_CHECK, language_note, moderation_level, word_list_level
from memer.errors import CaptionError
from memer.openai_client import (
    KEY_ENV,
    REFUSED_KEY,
    AnswerTooLarge,
    Budget,
    BudgetSpent,
    call_within_budget,
    find_openai_key,
    key_problem,
    new_client,
    no_connection,
    rate_limited,
    redact,
)
from memer.openai_client import colab_secret as _colab_secret  # noqa: F401 - tests and old callers name it here

log = logging.getLogger(__name__)

ENGINE = "openai"
MISSING_KEY = "no OpenAI key is set."
MISSING_KEY_HINT = (
    "Set one with: export OPENAI_API_KEY=sk-... (in Colab: the Secrets panel, name OPENAI_API_KEY), "
    "or use the free local engine (--engine local)."
)
REFUSED_KEY_HINT = (
    "Check OPENAI_API_KEY (or the key you passed), make a new key at https://platform.openai.com/api-keys, "
    "or use the free local engine (--engine local)."
)
# Optional request parameters a model may refuse (reasoning models refuse sampling ones,
# older models refuse reasoning_effort): dropped one by one when the API says so.
_REJECTION_CODES = {"unsupported_parameter", "unsupported_value"}


# --- the request --------------------------------------------------------------------


def image_data_url(image: Any, size: int) -> str:
    """A small JPEG of the picture as a data URL: enough for the model to see, cheap to send."""
    from memer.images import jpeg_bytes

    return "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(image, size)).decode("ascii")


def _captions_schema() -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "meme_captions",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"captions": {"type": "array", "items": {"type": "string"}}},
                "required": ["captions"],
                "additionalProperties": False,
            },
        },
    }


def build_messages(request: CaptionRequest, *, vision: bool) -> list[dict[str, Any]]:
    send_image = vision and request.image is not None
    text = batch_instruction(
        request.theme, request.description, request.style, request.n, has_image=send_image, language=request.language
    )
    if not send_image:
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": text}]
    picture = {
        "type": "image_url",
        "image_url": {"url": image_data_url(request.image, settings.VISION_SIZE), "detail": "low"},
    }
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": [{"type": "text", "text": text}, picture]},
    ]


def _optional_params() -> dict[str, Any]:
    params: dict[str, Any] = {"temperature": settings.TEMPERATURE, "top_p": settings.TOP_P}
    if settings.OPENAI_REASONING_EFFORT:
        params["reasoning_effort"] = settings.OPENAI_REASONING_EFFORT
    return params


def _rejected(err: Any, params: dict[str, Any]) -> list[str]:
    """The optional parameters a 400 says the model refuses (empty: the 400 is about something else)."""
    code = getattr(err, "code", None)
    message = str(getattr(err, "message", "") or "")
    named = getattr(err, "param", None)
    if code not in _REJECTION_CODES and "unsupported" not in message.lower() and "unrecognized" not in message.lower():
        return []
    if named in params:
        return [named]
    mentioned = [name for name in params if name in message]
    if mentioned:
        return mentioned
    return list(params) if code in _REJECTION_CODES else []


def _answer(budget: Budget, resource: Any, what: str, **params: Any) -> Any:
    """The checked JSON of one call (``resource.create``), read raw within the budget and the answer cap."""
    try:
        raw = call_within_budget(budget, resource, "create", max_bytes=openai_answers.MAX_ANSWER_BYTES, **params)
    except AnswerTooLarge as err:
        raise too_large(what, err.limit) from None
    return read_json(raw.body, raw.content_type, what)


def _create_completion(client: Any, model: str, messages: list[dict[str, Any]], budget: Budget) -> Any:
    import openai

    params = _optional_params()
    while True:
        try:
            # Optional parameters travel in extra_body: an older SDK (1.x) would refuse reasoning_effort as a keyword.
            return _answer(
                budget,
                client.chat.completions,
                "chat",
                model=model,
                messages=messages,
                response_format=_captions_schema(),
                extra_body=dict(params),
            )
        except openai.BadRequestError as err:
            refused = _rejected(err, params)
            if not refused:
                raise
            log.info("model %s refuses %s; asking again without", model, ", ".join(refused))
            for name in refused:
                params.pop(name, None)


def parse_captions(content: str | None) -> list[str]:
    """The caption strings in an answer: the JSON object asked for, or plain lines if the model ignored it."""
    if not content:
        return []
    # OpenAI-compatible servers that ignore response_format often fence their JSON.
    content = re.sub(r"^\s*```[\w-]*\s*|\s*```\s*$", "", content)
    try:
        payload = json.loads(content)
    except json.JSONDecodeError:
        return [line for line in content.splitlines() if line.strip() and line.strip() not in "{}[]"]
    if isinstance(payload, dict):
        payload = payload.get("captions", next((v for v in payload.values() if isinstance(v, list)), []))
    if isinstance(payload, list):
        return [item for item in payload if isinstance(item, str)]
    if isinstance(payload, str):
        return [payload]
    return []


# --- moderation ---------------------------------------------------------------------


def _moderate(client: Any, texts: list[str], budget: Budget) -> list[tuple[int, list[str]]]:
    payload = _answer(budget, client.moderations, "moderation", model=settings.MODERATION_MODEL, input=texts)
    results = parse_moderation(payload, len(texts))
    threshold = settings.SENSITIVE_THRESHOLD
    return [moderation_level(r.flagged, r.categories, r.scores, threshold) for r in results]


def _moderate_picture(client: Any, image: Any, budget: Budget) -> tuple[int, list[str]]:
    """The picture's level from ONE moderation request with it as an ``image_url`` input (its own request)."""
    url = image_data_url(image, settings.VISION_SIZE)
    payload = _answer(
        budget,
        client.moderations,
        "moderation",
        model=settings.MODERATION_MODEL,
        input=[{"type": "image_url", "image_url": {"url": url}}],
    )
    (result,) = parse_moderation(payload, 1)
    return moderation_level(result.flagged, result.categories, result.scores, settings.SENSITIVE_THRESHOLD)


def _with_picture_moderation(
    client: Any,
    request: CaptionRequest,
    levels: list[tuple[int, list[str]]],
    check: str,
    context: tuple[str, str, Budget],
) -> tuple[list[tuple[int, list[str]]], str]:
    """Each caption at least as high as its picture: a harmless caption on a harmful picture is not safe."""
    import openai

    if not settings.MODERATE_PICTURE or request.image is None:
        return levels, check
    key, model, budget = context
    try:
        picture_level, picture_categories = _moderate_picture(client, request.image, budget)
    except (openai.OpenAIError, BudgetSpent, CaptionError) as err:
        reason = str(err) if isinstance(err, CaptionError) else str(_caption_error(err, key, model, budget))
        log.warning("picture moderation failed: %s", reason)
        return levels, f"{check}; the picture was not checked: {reason}"
    named = [f"picture: {name}" for name in picture_categories]
    combined = [
        (max(level, picture_level), categories + [n for n in named if n not in categories])
        for level, categories in levels
    ]
    return combined, f"{check}; the picture: OpenAI moderation ({settings.MODERATION_MODEL})"


# --- errors -------------------------------------------------------------------------


def _caption_error(err: Exception, key: str, model: str, budget: Budget) -> CaptionError:
    """A CaptionError that says what to do; the server's words are redacted and made safe to show."""
    import openai

    after = budget.after()
    detail = server_text(getattr(err, "message", "") or "", key)
    if isinstance(err, openai.AuthenticationError):
        return CaptionError(REFUSED_KEY, REFUSED_KEY_HINT, code="openai.key_refused", fix=KEY_ENV)
    if isinstance(err, openai.PermissionDeniedError):
        return CaptionError(
            f"OpenAI refused this key access (HTTP 403): {detail}",
            "Check that the key's project may use MEMER_OPENAI_MODEL (and the region is supported), or use the free local engine.",
            code="openai.forbidden",
            fix="MEMER_OPENAI_MODEL",
        )
    if isinstance(err, openai.RateLimitError):
        return CaptionError(
            rate_limited(after),
            "Wait a minute and try again, check your OpenAI plan and billing, or use the free local engine (--engine local).",
            code="openai.rate_limited",
            fix="engine",
        )
    if isinstance(err, (openai.APITimeoutError, BudgetSpent)):
        return CaptionError(
            f"OpenAI did not answer within {budget.seconds:g} s in total{after}.",
            "Try again later, raise MEMER_OPENAI_TIMEOUT, or use the free local engine (--engine local).",
            code="openai.timeout",
            fix="MEMER_OPENAI_TIMEOUT",
        )
    if isinstance(err, openai.APIConnectionError):
        return CaptionError(
            no_connection(after),
            "Check the internet connection (and OPENAI_BASE_URL if you set it), or use the free local engine (--engine local).",
            code="openai.unavailable",
            fix="OPENAI_BASE_URL",
        )
    if isinstance(err, openai.NotFoundError):
        return CaptionError(
            f"OpenAI does not offer model {server_text(model, key, 80)!r} to this key.",
            "Set MEMER_OPENAI_MODEL to a chat model your account can use.",
            code="openai.unknown_model",
            fix="MEMER_OPENAI_MODEL",
        )
    if isinstance(err, openai.APIStatusError):
        if err.status_code >= 500:
            return CaptionError(
                f"OpenAI had a server error (HTTP {err.status_code}){after}.",
                "Try again in a few minutes, or use the free local engine (--engine local).",
                code="openai.unavailable",
                fix="engine",
            )
        return CaptionError(
            f"OpenAI rejected the request (HTTP {err.status_code}): {detail}",
            "Check MEMER_OPENAI_MODEL and the settings.",
            code="openai.rejected",
            fix="MEMER_OPENAI_MODEL",
        )
    return CaptionError(
        f"the OpenAI request failed: {server_text(str(err), key)}",
        "Try again, or use the free local engine.",
        code="openai.unavailable",
    )


# --- the engine ---------------------------------------------------------------------


def generate(request: CaptionRequest, *, model: str, api_key: str | None = None) -> CaptionBatch:
    """N captions from one completion request, levelled by one moderation request."""
    key = find_openai_key(api_key)
    if not key:
        raise CaptionError(MISSING_KEY, MISSING_KEY_HINT, code="openai.no_key", fix=KEY_ENV)
    problem = key_problem(key)
    if problem:
        raise CaptionError(*problem, code="openai.key_malformed", fix=_key_fix(api_key))
    try:
        client = new_client(key, max_retries=0)  # retries are memer's: one budget (openai_client.Budget)
    except ImportError:
        raise CaptionError(
            "the openai package is not installed.",
            "pip install 'memer[openai]', or use the free local engine.",
            code="openai.not_installed",
        ) from None
    try:
        return _generate(client, request, model, key)
    except CaptionError as err:
        if err.code == "openai.key_refused":
            err.fix = _key_fix(api_key)  # the app says "the key you pasted" only when it was pasted
        raise
    finally:
        client.close()  # its connection pool; a new client per request


def _key_fix(api_key: str | None) -> str:
    """Where the key in use came from: ``api_key`` (passed in, e.g. pasted in the app) or OPENAI_API_KEY."""
    return "api_key" if api_key and api_key.strip() else KEY_ENV


def _usable(texts: list[str], key: str) -> tuple[list[str], int]:
    """The captions that do not quote the key (or any secret), and how many did."""
    kept = [text for text in texts if key not in text and redact(text, key) == text]
    return kept, len(texts) - len(kept)


def _generate(client: Any, request: CaptionRequest, model: str, key: str) -> CaptionBatch:
    import openai

    budget = Budget(settings.OPENAI_TIMEOUT, settings.OPENAI_MAX_RETRIES)
    messages = build_messages(request, vision=settings.OPENAI_VISION)
    failure: CaptionError | None = None
    try:
        answer = parse_completion(_create_completion(client, model, messages, budget))
    except (openai.OpenAIError, BudgetSpent) as err:
        failure = _caption_error(err, key, model, budget)
    if failure is not None:  # raised outside the handler, so the SDK's error (it may quote the key) is not attached
        raise failure

    if answer.refusal:
        raise CaptionError(
            f"OpenAI declined to write these captions: {server_text(answer.refusal, key)}",
            "Try another theme or picture.",
            code="openai.rejected",
        )
    raw, secret = _usable(parse_captions(answer.content), key)
    texts, note = clean_captions(raw, request.n, request.language)
    if secret:
        note = (note + " " if note else "") + f"{secret} caption(s) quoting a key were dropped."
    if not texts:
        raise CaptionError(
            "OpenAI answered without any usable caption.",
            "Try again, or try another theme or style.",
            code="caption.none_usable",
        )
    if answer.finish_reason == "length" and note:
        note += " (the answer was cut short)"
    used_model = server_text(answer.model, key, 100) or model

    try:
        levels = _moderate(client, texts, budget)
        safety_check = language_note(
            f"OpenAI moderation ({settings.MODERATION_MODEL})", request.language, multilingual=True
        )
    except (openai.OpenAIError, BudgetSpent, CaptionError) as err:
        reason = str(err) if isinstance(err, CaptionError) else str(_caption_error(err, key, model, budget))
        log.warning("moderation failed, falling back to the word list: %s", reason)
        levels = [word_list_level(text) for text in texts]
        check = language_note(WORD_LIST_CHECK, request.language, multilingual=False)
        safety_check = f"{check}; OpenAI moderation failed: {reason}"
    levels, safety_check = _with_picture_moderation(client, request, levels, safety_check, (key, model, budget))
    captions = [
        Caption(text, ENGINE, used_model, level, categories) for text, (level, categories) in zip(texts, levels)
    ]
    return CaptionBatch(captions, ENGINE, used_model, safety_check, note)
