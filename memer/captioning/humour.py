"""The optional humour judge: the loaded vision-language model compares the best-fitting captions pair by pair.

CLIP orders a batch by how well each caption fits the picture and the topic
(:mod:`memer.caption_rank`), which is not whether it is funny. On the free
path the model that wrote the captions is still loaded and sees the picture, so
it can be asked, for the top ``settings.HUMOUR_JUDGE_TOP`` captions, which of
two is funnier on this picture — every pair both ways, so a model that always
picks the first (or the second) decides nothing. All the questions go in ONE
greedy ``generate`` of a few tokens within ``settings.HUMOUR_JUDGE_SECONDS``.
The top captions are then ordered by wins, ties kept in CLIP's order. An answer
that is not exactly ``A`` or ``B`` counts for neither; when none counts, or the
call fails, the order stays CLIP's and the batch's note says why. The judgement
is a small model's opinion, and its quality was never measured (docs/limits.md).

Off on a CPU by default (``auto``: six extra model rows cost seconds there); ``1`` or ``0`` force it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from memer import settings
from memer.captioning.base import CaptionBatch
from memer.captioning.picture_safety import picture_rows, short_answers
from memer.errors import CaptionError
from memer.progress import Progress, silent
from memer.text import first_line

JUDGE_REQUEST = (
    "Here are two captions for this picture as a meme.\n"
    "A: «{a}»\n"
    "B: «{b}»\n"
    "Which one is funnier on this picture? Reply with the letter only: A or B."
)
_VERDICT = re.compile(r"\s*([AB])[\s.]*")


def parse_verdict(answer: str) -> int | None:
    """0 for A, 1 for B when the answer is that letter (spaces and a full stop aside); None for anything else."""
    match = _VERDICT.fullmatch(answer)
    return "AB".index(match.group(1)) if match else None


def _choice() -> bool | None:
    """settings.HUMOUR_JUDGE read once: None for ``auto`` (the device decides), True for a yes, else False."""
    choice = settings.HUMOUR_JUDGE.strip().lower()
    return None if choice in ("auto", "") else choice in ("1", "true", "yes", "on")


def judge_wanted(device: str) -> bool:
    """The setting for a model on ``device``: ``auto`` judges on a GPU only."""
    choice = _choice()
    return device.startswith("cuda") if choice is None else choice


def judge_top(local: Any, image: Any, captions: Sequence[str]) -> tuple[list[int], int, int, str]:
    """(the captions' order by wins, the verdicts counted, the questions asked, a precision note)."""
    pairs = [(i, j) for i in range(len(captions)) for j in range(len(captions)) if i != j]
    inputs = picture_rows(local, image, [JUDGE_REQUEST.format(a=captions[i], b=captions[j]) for i, j in pairs])
    answers, precision_note = short_answers(
        local, inputs, settings.HUMOUR_JUDGE_SECONDS, "judging the captions for humour"
    )
    wins, counted = [0] * len(captions), 0
    for (i, j), answer in zip(pairs, answers):
        verdict = parse_verdict(answer)
        if verdict is not None:
            counted += 1
            wins[(i, j)[verdict]] += 1
    order = sorted(range(len(captions)), key=lambda index: (-wins[index], index))  # ties: CLIP's order
    return order, counted, len(pairs), precision_note


def judge_humour(
    batch: CaptionBatch, image: Any, *, model: str | None = None, progress: Progress | None = None
) -> CaptionBatch:
    """``batch`` with its top captions reordered by the local model's pairwise humour judgement (in place; also
    returned). Only for a local batch of a model that sees pictures, when settings.HUMOUR_JUDGE wants it; the
    captions are never lost to it."""
    from memer.captioning.local_engine import ENGINE, load_model

    if batch.engine != ENGINE or image is None or _choice() is False:
        return batch
    top = 0
    while top < min(settings.HUMOUR_JUDGE_TOP, len(batch.captions)) and batch.captions[top].usable:
        top += 1  # the leading usable captions: unsafe ones and repeats were ranked below them
    if top < 2:
        return batch
    local = load_model(model)
    if not judge_wanted(str(local.device)) or not local.sees_pictures:
        return batch
    (progress or silent)(f"Asking {local.name} which of the top {top} captions is funniest …", None)
    try:
        order, counted, asked, precision_note = judge_top(local, image, batch.texts[:top])
    except (CaptionError, RuntimeError, ValueError) as err:  # out of memory, an overflow float32 cannot fix ...
        return _noted(batch, f"The humour judge failed ({first_line(err, 160)}): the order is CLIP's.")
    if counted == 0:
        return _noted(batch, f"The humour judge ({local.name}) gave no verdict (A or B): the order is CLIP's.")
    batch.captions[:top] = [batch.captions[index] for index in order]
    judged = f"{local.name}'s humour judgement for the top {top} ({counted} of {asked} comparisons)"
    batch.ranked_by = f"{batch.ranked_by}, then {judged}" if batch.ranked_by else judged
    return _noted(batch, precision_note)


def _noted(batch: CaptionBatch, said: str) -> CaptionBatch:
    batch.note = f"{batch.note} {said}".strip()
    return batch
