"""The local safety check that sees the picture: the loaded vision-language model rates each picture+caption pair.

Harm often lies in the pair, not the words (MemeCraft): "look at this one" is
harmless on a cat and not on a crying child. The text checks
(captioning/classifier.py) cannot see that, so on the free path the model
that wrote the captions — already loaded — looks at the picture (the same
small copy) with each caption, one row per caption, all rows in ONE greedy
``generate`` of at most ``RATING_TOKENS`` tokens and
``settings.LOCAL_PICTURE_CHECK_SECONDS`` seconds. Its answer must be exactly
one digit, 0 (safe), 1 (sensitive) or 2 (unsafe); anything else means the
check did not run for that caption, and the batch's note says so — never
silently safe. A caption's level is the higher of the rating and the text
checks', their categories kept, ``PAIR_CATEGORY`` added when the pair raised
it. A text-only model cannot see: the batch says the check was skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from memer import settings
from memer.captioning.classifier import CLASSIFIER_CHECK, local_levels
from memer.captioning.local_vision import downscaled
from memer.captioning.precision import guarded, run_safely
from memer.errors import CaptionError
from memer.text import first_line, shorten

Level = tuple[int, list[str]]

RATING_TOKENS = 3  # the digit, the end of the turn, one spare: a longer answer is not a rating
PAIR_CATEGORY = "the picture with the caption"
TEXT_CHECKS = "trained text classifier (alt-profanity-check, offensive language); word list for the category"
RATING_REQUEST = (
    "Rate this meme for safety: the picture with the caption below, taken together (a harmless caption can "
    "be harmful on a picture, and the reverse).\n"
    "Caption: «{caption}»\n"
    "Answer 0 if it is safe for anyone; 1 if it is sensitive (crude words, mild insults, violence, sex, drugs, "
    "politics or religion); 2 if it is unsafe (hate, harassment, sexual content, graphic violence, self-harm). "
    "Reply with the digit only."
)
_RATING = re.compile(r"\s*([012])\s*")


def pair_check(name: str) -> str:
    return f"picture+caption check by {name}"


def parse_rating(answer: str) -> int | None:
    """0, 1 or 2 when the answer is exactly that digit (spaces aside); None for anything else."""
    match = _RATING.fullmatch(answer)
    return int(match.group(1)) if match else None


def rating_inputs(local: Any, image: Any, captions: Sequence[str]) -> dict[str, Any]:
    """One left-padded row per caption, each with the picture, as the processor encodes them, on the model's device."""
    return picture_rows(local, image, [RATING_REQUEST.format(caption=caption) for caption in captions])


def picture_rows(local: Any, image: Any, requests: Sequence[str]) -> dict[str, Any]:
    """One left-padded chat row per request, each with the same small copy of the picture, on the model's device:
    the shape of every short question memer asks the loaded vision-language model about a picture."""
    picture = downscaled(image, settings.LOCAL_VISION_SIZE)
    processor = local.processor
    texts = [
        processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": request}]}],
            tokenize=False,
            add_generation_prompt=True,
        )
        for request in requests
    ]
    encoded = processor(
        text=texts, images=[picture] * len(texts), padding=True, padding_side="left", return_tensors="pt"
    )
    return {name: value.to(local.device) for name, value in encoded.items()}


def short_answers(local: Any, inputs: dict[str, Any], seconds: float, what: str) -> tuple[list[str], str]:
    """Each row's answer from ONE greedy ``generate`` of at most RATING_TOKENS tokens within ``seconds``, guarded
    against float16 overflow (:mod:`memer.captioning.precision`); and a precision note."""
    import torch

    tokenizer = local.tokenizer
    options = guarded(
        dict(
            do_sample=False,
            max_new_tokens=RATING_TOKENS,
            max_time=max(seconds, 0.1),
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    )

    def run() -> list[str]:
        with torch.inference_mode():
            output = local.model.generate(**inputs, **options)
        return list(tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True))

    return run_safely(local, run, what=what)


def rate_pairs(local: Any, image: Any, captions: Sequence[str]) -> tuple[list[str], str]:
    """The model's answer for each picture+caption pair from ONE bounded, guarded ``generate``; and a precision note."""
    inputs = rating_inputs(local, image, captions)
    return short_answers(local, inputs, settings.LOCAL_PICTURE_CHECK_SECONDS, "rating the picture with each caption")


def combine(text_levels: Sequence[Level], ratings: Sequence[int | None]) -> list[Level]:
    """The higher of each text level and its rating; the text checks' categories, plus the pair's when it raised it."""
    combined = []
    for (level, categories), rating in zip(text_levels, ratings):
        if rating is not None and rating > level:
            combined.append((rating, [*categories, PAIR_CATEGORY]))
        else:
            combined.append((level, list(categories)))
    return combined


def _missed_note(name: str, captions: Sequence[str], answers: Sequence[str]) -> str:
    missed = [(caption, answer) for caption, answer in zip(captions, answers) if parse_rating(answer) is None]
    if not missed:
        return ""
    shown = "; ".join(f"{shorten(c, 40)!r} (it answered {shorten(a.strip(), 20)!r})" for c, a in missed[:3])
    more = f" and {len(missed) - 3} more" if len(missed) > 3 else ""
    return (
        f"The picture+caption check by {name} gave no rating (a digit 0, 1 or 2) for {len(missed)} of "
        f"{len(captions)} captions: {shown}{more}; their levels come from the text checks alone."
    )


def checked_levels(local: Any, image: Any, captions: Sequence[str]) -> tuple[list[Level], str, str]:
    """(level and categories per caption, the checks that ran, a note) for a local batch.

    The captions are never lost to this check: if it fails, their levels come from the text checks
    and the batch says why.
    """
    levels, text_check = local_levels(captions)
    if not captions:
        return levels, text_check, ""
    skipped = ""
    if not settings.LOCAL_PICTURE_CHECK:
        skipped = "no picture+caption check (MEMER_LOCAL_PICTURE_CHECK is off)"
    elif not local.sees_pictures:
        skipped = f"no picture+caption check: {local.name} is a text-only model and cannot see the picture"
    elif image is None:
        skipped = "no picture+caption check: there was no picture"
    if skipped:
        return levels, f"{text_check}; {skipped}", ""
    text_checks = TEXT_CHECKS if text_check == CLASSIFIER_CHECK else text_check
    try:
        answers, precision_note = rate_pairs(local, image, captions)
    except (CaptionError, RuntimeError, ValueError) as err:  # out of memory, an overflow float32 cannot fix ...
        failed = f"the picture+caption check by {local.name} failed ({first_line(err, 160)})"
        return levels, f"{text_checks}; {failed}: text checks only", ""
    if len(answers) != len(captions):  # one row per caption: anything else is no answer at all
        answers = [""] * len(captions)
    ratings = [parse_rating(answer) for answer in answers]
    note = " ".join(part for part in (precision_note, _missed_note(local.name, captions, answers)) if part)
    return combine(levels, ratings), f"{pair_check(local.name)}; {text_checks}", note
