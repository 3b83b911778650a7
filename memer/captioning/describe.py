"""One sentence that says what a picture shows, written by the model that captions it.

Used as the caption prompt's description when the source gave none (an
uploaded or generated picture), shown in the app, and stored in the PNG as its
``Description`` alt text. A local vision-language model writes it greedily
(the same picture gives the same sentence); OpenAI's chat model writes it from
the same small copy of the picture it sees for captions. A text-only local
model cannot see, so it gives an empty description and says why.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from memer import settings
from memer.captioning.base import PictureDescription
from memer.errors import CaptionError
from memer.language import Language, resolve_language
from memer.progress import Progress
from memer.text import collapse_whitespace, display_safe
from memer.text import first_line as first_error_line

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

    from memer.captioning import Engine

MAX_DESCRIPTION_CHARS = 300


def one_sentence(text: str | None) -> str:
    """The first sentence of a model's answer: one line, no quotes or list marks, at most MAX_DESCRIPTION_CHARS."""
    line = collapse_whitespace(text or "")
    line = re.sub(r"^(?:[-*•]\s+|\d+[.)]\s+|description:\s*)", "", line, flags=re.IGNORECASE).strip(" \"'“”")
    # A sentence ends at ". ! ?" (and "।" "؟" "۔" "።") before a space, or at "。" "！" "？", which need none.
    match = re.match(r"(.+?(?:[.!?।؟۔።](?=\s|$)|[。！？｡]))", line)
    sentence = match.group(1) if match else line
    return display_safe(sentence, MAX_DESCRIPTION_CHARS)


def describe_picture(
    image: Any,
    *,
    engine: str | Engine | None = None,
    model: str | None = None,
    api_key: str | None = None,
    progress: Progress | None = None,
    language: str | Language | None = None,
) -> PictureDescription:
    """A one-sentence description of ``image`` (a PIL image, path or bytes) by the chosen engine's model.

    ``engine`` is a name (None: :func:`memer.captioning.choose_engine` decides) or the engine already chosen.
    ``language`` (default settings.LANGUAGE, else English) is what the sentence is written in.
    """
    from memer.captioning import _as_picture, resolve_engine

    picture = _as_picture(image)
    chosen_language = resolve_language(language)
    if picture is None:
        raise CaptionError(
            "there is no picture to describe.", "Pick or upload a picture first.", code="caption.no_picture"
        )
    return resolve_engine(engine, api_key).describe(
        picture, model=model, api_key=api_key, progress=progress, language=chosen_language
    )


def describe_locally(
    picture: Any, model: str | None, progress: Progress | None, language: Language | None = None
) -> PictureDescription:
    import torch

    from memer.captioning import local_engine, local_vision
    from memer.captioning.model_kind import default_caption_model
    from memer.captioning.precision import guarded, run_safely

    local = local_engine.load_model(model or default_caption_model()[0], progress=progress)
    if not local.sees_pictures:
        return PictureDescription(
            "", "local", local.name, f"{local.name} is a text-only model: it cannot see the picture."
        )
    inputs = local_vision.description_inputs(local, picture, settings.LOCAL_VISION_SIZE, language)
    options = dict(
        do_sample=False,
        max_new_tokens=max(settings.DESCRIPTION_MAX_TOKENS, 1),
        pad_token_id=local.tokenizer.pad_token_id,
        eos_token_id=local.tokenizer.eos_token_id,
    )

    def run() -> Any:
        with torch.inference_mode():
            return local.model.generate(**inputs, **guarded(options))

    try:
        output, precision_note = run_safely(local, run, what="describing the picture")
    except (RuntimeError, ValueError) as err:
        raise CaptionError(
            f"the local model failed while describing the picture: {first_error_line(err, 200)}",
            "Free GPU memory, or write the description yourself.",
        ) from err
    text = local.tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    return PictureDescription(one_sentence(text), "local", local.name, precision_note)


def describe_with_openai(
    picture: Any, model: str, api_key: str | None, language: Language | None = None
) -> PictureDescription:
    from memer.captioning import openai_engine
    from memer.captioning.openai_answers import parse_completion, server_text
    from memer.captioning.prompts import describe_request
    from memer.openai_client import Budget, BudgetSpent, new_client

    key = openai_engine.find_openai_key(api_key)
    if not key:
        raise CaptionError(openai_engine.MISSING_KEY, code="openai.no_key", fix=openai_engine.KEY_ENV)
    try:
        import openai
    except ImportError:
        raise CaptionError(
            "the openai package is not installed.", "pip install 'memer[openai]'.", code="openai.not_installed"
        ) from None
    url = openai_engine.image_data_url(picture, settings.VISION_SIZE)
    messages: list[ChatCompletionMessageParam] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": describe_request(language)},
                {"type": "image_url", "image_url": {"url": url, "detail": "low"}},
            ],
        }
    ]
    # One wall-clock budget and the answer cap, as for captions: the SDK's own timeout is per read.
    client = new_client(key, max_retries=0)
    budget = Budget(settings.OPENAI_TIMEOUT, settings.OPENAI_MAX_RETRIES)
    failure: CaptionError | None = None
    try:
        answer = parse_completion(
            openai_engine._answer(budget, client.chat.completions, "chat", model=model, messages=messages)
        )
    except (openai.OpenAIError, BudgetSpent) as err:
        failure = openai_engine._caption_error(err, key, model, budget)
    finally:
        client.close()
    if failure is not None:  # raised outside the handler so the SDK's error (it may quote the key) is not attached
        if failure.code == "openai.key_refused":
            failure.fix = "api_key" if api_key and api_key.strip() else openai_engine.KEY_ENV
        raise failure
    content = answer.content or ""
    used_model = server_text(answer.model, key, 100) or model
    return PictureDescription(one_sentence(content), "openai", used_model)
