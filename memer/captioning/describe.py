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
from memer.progress import Progress
from memer.text import collapse_whitespace, display_safe
from memer.text import first_line as first_error_line

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

MAX_DESCRIPTION_CHARS = 300


def one_sentence(text: str | None) -> str:
    """The first sentence of a model's answer: one line, no quotes or list marks, at most MAX_DESCRIPTION_CHARS."""
    line = collapse_whitespace(text or "")
    line = re.sub(r"^(?:[-*•]\s+|\d+[.)]\s+|description:\s*)", "", line, flags=re.IGNORECASE).strip(" \"'“”")
    match = re.match(r"(.+?[.!?])(?:\s|$)", line)
    sentence = match.group(1) if match else line
    return display_safe(sentence, MAX_DESCRIPTION_CHARS)


def describe_picture(
    image: Any,
    *,
    engine: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    progress: Progress | None = None,
) -> PictureDescription:
    """A one-sentence description of ``image`` (a PIL image, path or bytes) by the chosen engine's model."""
    from memer.captioning import _as_picture, choose_engine

    picture = _as_picture(image)
    if picture is None:
        raise CaptionError("there is no picture to describe.", "Pick or upload a picture first.")
    if choose_engine(engine, api_key) == "openai":
        return _describe_openai(picture, model or settings.OPENAI_MODEL, api_key)
    return _describe_local(picture, model, progress)


def _describe_local(picture: Any, model: str | None, progress: Progress | None) -> PictureDescription:
    import torch

    from memer.captioning import local_engine, local_vision
    from memer.captioning.model_kind import default_caption_model

    local = local_engine.load_model(model or default_caption_model()[0], progress=progress)
    if not local.sees_pictures:
        return PictureDescription(
            "", "local", local.name, f"{local.name} is a text-only model: it cannot see the picture."
        )
    inputs = local_vision.description_inputs(local, picture, settings.LOCAL_VISION_SIZE)
    options = dict(
        do_sample=False,
        max_new_tokens=max(settings.DESCRIPTION_MAX_TOKENS, 1),
        pad_token_id=local.tokenizer.pad_token_id,
        eos_token_id=local.tokenizer.eos_token_id,
    )
    try:
        with torch.inference_mode():
            output = local.model.generate(**inputs, **options)
    except (RuntimeError, ValueError) as err:
        raise CaptionError(
            f"the local model failed while describing the picture: {first_error_line(err, 200)}",
            "Free GPU memory, or write the description yourself.",
        ) from err
    text = local.tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    return PictureDescription(one_sentence(text), "local", local.name)


def _describe_openai(picture: Any, model: str, api_key: str | None) -> PictureDescription:
    from memer.captioning import openai_engine
    from memer.captioning.prompts import DESCRIBE_REQUEST
    from memer.openai_client import Budget

    key = openai_engine.find_openai_key(api_key)
    if not key:
        raise CaptionError(openai_engine.MISSING_KEY)
    try:
        import openai
    except ImportError:
        raise CaptionError("the openai package is not installed.", "pip install 'memer[openai]'.") from None
    url = openai_engine.image_data_url(picture, settings.VISION_SIZE)
    messages: list[ChatCompletionMessageParam] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": DESCRIBE_REQUEST},
                {"type": "image_url", "image_url": {"url": url, "detail": "low"}},
            ],
        }
    ]
    client = openai.OpenAI(api_key=key, timeout=settings.OPENAI_TIMEOUT, max_retries=settings.OPENAI_MAX_RETRIES)
    failure: CaptionError | None = None
    try:
        completion = client.chat.completions.create(model=model, messages=messages)
    except openai.OpenAIError as err:
        # The SDK retries here itself, so the budget only words the error (it counts no retries of memer's own).
        failure = openai_engine._caption_error(err, key, model, Budget(settings.OPENAI_TIMEOUT, 0))
    finally:
        client.close()
    if failure is not None:  # raised outside the handler so the SDK's error (it may quote the key) is not attached
        raise failure
    content = completion.choices[0].message.content if completion.choices else ""
    return PictureDescription(one_sentence(content), "openai", getattr(completion, "model", None) or model)
