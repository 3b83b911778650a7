"""The local vision-language path: the picture, downscaled, and the request in ONE chat turn, N samples at once.

The processor's chat template places the image part; the processor turns the
picture into vision tokens once, and ``generate`` with ``num_return_sequences``
samples all N captions from that single encoding.
"""

from __future__ import annotations

from typing import Any

from memer.captions.prompts import DESCRIBE_REQUEST, chat_messages, vision_chat_messages


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
        messages = chat_messages(request.theme, request.description, request.style)
        text = local.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        encoded = local.processor(text=[text], return_tensors="pt")
        return {name: value.to(local.device) for name, value in encoded.items()}
    messages = vision_chat_messages(request.theme, request.description, request.style)
    return vision_inputs(local.processor, messages, downscaled(request.image, size), local.device)


def description_inputs(local: Any, image: Any, size: int) -> dict[str, Any]:
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": DESCRIBE_REQUEST}]}]
    return vision_inputs(local.processor, messages, downscaled(image, size), local.device)
