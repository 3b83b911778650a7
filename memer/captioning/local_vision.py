"""The local vision-language path: the picture, downscaled, and the request in ONE chat turn, N samples at once.

The processor's chat template places the image part; the processor turns the
picture into vision tokens once, and ``generate`` with ``num_return_sequences``
samples all N captions from that single encoding.
"""

from __future__ import annotations

from typing import Any

from memer.captioning.prompts import chat_messages, describe_request, vision_chat_messages


def downscaled(image: Any, size: int) -> Any:
    """An RGB copy of the picture whose longest side is at most ``size`` pixels (fewer vision tokens)."""
    picture = image.convert("RGB")
    if max(picture.size) > size > 0:
        picture.thumbnail((size, size))
    return picture


def vision_inputs(processor: Any, messages: list[dict[str, Any]], image: Any, device: str) -> dict[str, Any]:
    """The processor's tensors (token ids, pixel values, grid sizes ...) for one chat with one picture, on ``device``."""
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    encoded = processor(text=[text], images=[image], return_tensors="pt")
    return {name: value.to(device) for name, value in encoded.items()}


def caption_inputs(local: Any, request: Any, size: int) -> dict[str, Any]:
    """The caption request with the picture; without one, the text-only chat (the model then reads the description)."""
    if request.image is None:
        messages = chat_messages(request.theme, request.description, request.style, request.language)
        text = local.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        encoded = local.processor(text=[text], return_tensors="pt")
        return {name: value.to(local.device) for name, value in encoded.items()}
    vision_messages = vision_chat_messages(request.theme, request.description, request.style, request.language)
    return vision_inputs(local.processor, vision_messages, downscaled(request.image, size), local.device)


def description_inputs(local: Any, image: Any, size: int, language: Any = None) -> dict[str, Any]:
    request = describe_request(language)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": request}]}]
    return vision_inputs(local.processor, messages, downscaled(image, size), local.device)


def shared_prefix(model: Any, inputs: dict[str, Any], n: int) -> dict[str, Any] | None:
    """``generate`` inputs for N samples that share ONE pass over the prompt and the picture.

    The prompt but its last token goes through the model once (the vision tower
    sees the picture once, the text model the prompt once); the key/value cache
    is copied N times and ``generate`` continues all N rows from it. None when the
    model gives no cache that can be copied.
    """
    import inspect

    import torch

    ids = inputs["input_ids"]
    parameters = inspect.signature(model.forward).parameters
    cache_name = "cache" if "cache" in parameters else "past_key_values"
    per_token = [k for k, v in inputs.items() if torch.is_tensor(v) and v.dim() == 2 and v.shape == ids.shape]
    prefix = {k: (v[:, :-1] if k in per_token else v) for k, v in inputs.items()}
    if "logits_to_keep" in parameters:
        prefix["logits_to_keep"] = 1
    with torch.inference_mode():
        output = model(**prefix, use_cache=True)
    cache = getattr(output, "cache", None) or getattr(output, "past_key_values", None)
    if cache is None or not hasattr(cache, "batch_repeat_interleave"):
        return None
    cache.batch_repeat_interleave(n)
    rows = {k: inputs[k].repeat(n, 1) for k in per_token}
    rest = {k: v for k, v in inputs.items() if k not in per_token and not k.startswith("pixel_values")}
    return {**rows, **rest, cache_name: cache}
