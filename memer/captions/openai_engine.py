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
from memer.captions.base import Caption, CaptionBatch, CaptionRequest
from memer.captions.cleanup import clean_captions
from memer.captions.prompts import SYSTEM_PROMPT, batch_instruction
from memer.captions.safety import WORD_LIST_CHECK, moderation_level, word_list_level
from memer.errors import CaptionError
from memer.openai_client import KEY_ENV, find_openai_key, key_problem, new_client  # noqa: F401 - KEY_ENV: named here before
from memer.openai_client import colab_secret as _colab_secret  # noqa: F401 - tests and old callers name it here
from memer.openai_client import redact as _redact

log = logging.getLogger(__name__)

ENGINE = "openai"
MISSING_KEY = "invalid or missing OpenAI key: set OPENAI_API_KEY or use the free local engine"
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
    text = batch_instruction(request.theme, request.description, request.style, request.n, has_image=send_image)
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


def _create_completion(client: Any, model: str, messages: list[dict[str, Any]]) -> Any:
    import openai

    params = _optional_params()
    while True:
        try:
            # Optional parameters travel in extra_body: an older SDK (1.x) would refuse reasoning_effort as a keyword.
            return client.chat.completions.create(
                model=model, messages=messages, response_format=_captions_schema(), extra_body=dict(params)
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


def _plain(obj: Any) -> dict[str, Any]:
    """A moderation sub-object as a dict keyed by the API's names ("harassment/threatening")."""
    if obj is None:
        return {}
    if isinstance(obj, dict):
        data = obj
    elif hasattr(obj, "model_dump"):
        data = obj.model_dump(by_alias=True)
    else:
        data = obj.dict(by_alias=True)
    return {str(k): v for k, v in data.items() if v is not None}


def _moderate(client: Any, texts: list[str]) -> list[tuple[int, list[str]]]:
    response = client.moderations.create(model=settings.MODERATION_MODEL, input=texts)
    results = list(response.results)
    if len(results) != len(texts):
        raise CaptionError(f"OpenAI moderation answered for {len(results)} of {len(texts)} captions.", "Try again.")
    threshold = settings.SENSITIVE_THRESHOLD
    return [
        moderation_level(bool(r.flagged), _plain(r.categories), _plain(getattr(r, "category_scores", None)), threshold)
        for r in results
    ]


# --- errors -------------------------------------------------------------------------


def _caption_error(err: Exception, key: str, model: str) -> CaptionError:
    """A CaptionError that says what to do; the SDK's message is redacted, the key never appears."""
    import openai

    retries = settings.OPENAI_MAX_RETRIES
    after = f" (after {retries} retries)" if retries else ""
    if isinstance(err, openai.AuthenticationError):
        return CaptionError(MISSING_KEY)
    if isinstance(err, openai.PermissionDeniedError):
        return CaptionError(
            f"OpenAI refused this key access (HTTP 403): {_redact(str(getattr(err, 'message', '') or ''), key)[:200]}",
            "Check that the key's project may use MEMER_OPENAI_MODEL (and the region is supported), or use the free local engine.",
        )
    if isinstance(err, openai.RateLimitError):
        return CaptionError(
            f"OpenAI says too many requests or the quota is used up{after}.",
            "Wait a minute and try again, check your OpenAI plan and billing, or use the free local engine (--engine local).",
        )
    if isinstance(err, openai.APITimeoutError):
        return CaptionError(
            f"OpenAI did not answer within {settings.OPENAI_TIMEOUT:g} s{after}.",
            "Try again later, raise MEMER_OPENAI_TIMEOUT, or use the free local engine (--engine local).",
        )
    if isinstance(err, openai.APIConnectionError):
        return CaptionError(
            f"could not connect to the OpenAI API{after}.",
            "Check the internet connection (and OPENAI_BASE_URL if you set it), or use the free local engine (--engine local).",
        )
    if isinstance(err, openai.NotFoundError):
        return CaptionError(
            f"OpenAI does not offer model {model!r} to this key.",
            "Set MEMER_OPENAI_MODEL to a chat model your account can use.",
        )
    if isinstance(err, openai.APIStatusError):
        detail = _redact(str(getattr(err, "message", "") or ""), key)[:300]
        if err.status_code >= 500:
            return CaptionError(
                f"OpenAI had a server error (HTTP {err.status_code}){after}.",
                "Try again in a few minutes, or use the free local engine (--engine local).",
            )
        return CaptionError(
            f"OpenAI rejected the request (HTTP {err.status_code}): {detail}",
            "Check MEMER_OPENAI_MODEL and the settings.",
        )
    return CaptionError(
        f"the OpenAI request failed: {_redact(str(err), key)[:300]}", "Try again, or use the free local engine."
    )


# --- the engine ---------------------------------------------------------------------


def generate(request: CaptionRequest, *, model: str, api_key: str | None = None) -> CaptionBatch:
    """N captions from one completion request, levelled by one moderation request."""
    key = find_openai_key(api_key)
    if not key:
        raise CaptionError(MISSING_KEY)
    problem = key_problem(key)
    if problem:
        raise CaptionError(*problem)
    try:
        client = new_client(key)
    except ImportError:
        raise CaptionError(
            "the openai package is not installed.", "pip install 'memer[openai]', or use the free local engine."
        ) from None
    try:
        return _generate(client, request, model, key)
    finally:
        client.close()  # its connection pool; a new client per request


def _generate(client: Any, request: CaptionRequest, model: str, key: str) -> CaptionBatch:
    import openai

    messages = build_messages(request, vision=settings.OPENAI_VISION)
    failure: CaptionError | None = None
    try:
        completion = _create_completion(client, model, messages)
    except openai.OpenAIError as err:
        failure = _caption_error(err, key, model)
    if (
        failure is not None
    ):  # raised here, outside the handler, so the SDK's error (it may quote the key) is not attached
        raise failure

    choice = completion.choices[0] if completion.choices else None
    message = choice.message if choice is not None else None
    refusal = getattr(message, "refusal", None) if message is not None else None
    if refusal:
        raise CaptionError(f"OpenAI declined to write these captions: {refusal[:200]}", "Try another theme or picture.")
    texts, note = clean_captions(parse_captions(message.content if message is not None else None), request.n)
    if not texts:
        raise CaptionError("OpenAI answered without any usable caption.", "Try again, or try another theme or style.")
    if choice is not None and choice.finish_reason == "length" and note:
        note += " (the answer was cut short)"
    used_model = getattr(completion, "model", None) or model

    try:
        levels = _moderate(client, texts)
        safety_check = f"OpenAI moderation ({settings.MODERATION_MODEL})"
    except (openai.OpenAIError, CaptionError) as err:
        reason = str(_caption_error(err, key, model)) if isinstance(err, openai.OpenAIError) else str(err)
        log.warning("moderation failed, falling back to the word list: %s", reason)
        levels = [word_list_level(text) for text in texts]
        safety_check = f"{WORD_LIST_CHECK}; OpenAI moderation failed: {reason}"
    captions = [
        Caption(text, ENGINE, used_model, level, categories) for text, (level, categories) in zip(texts, levels)
    ]
    return CaptionBatch(captions, ENGINE, used_model, safety_check, note)
