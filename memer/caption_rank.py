"""Captions best first: a batch put in order by how well each caption fits the picture and the topic.

The caption step (:mod:`memer.captioning`) and CLIP (:mod:`memer.clip`) know nothing of each other; this pass
module joins them. It embeds the picture, the topic and each caption with the CLIP model the search already
loaded (loaded here when the caption step runs alone) and orders them with :func:`memer.rank.rank_captions`.
The score measures image-text similarity, not humour (docs/limits.md). Ranking never costs the user the
captions: when CLIP cannot be had, the batch stays in the order written and its note says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from memer import settings
from memer.errors import MemerError
from memer.progress import Progress, silent
from memer.text import first_line

if TYPE_CHECKING:
    from PIL import Image

    from memer.captioning.base import CaptionBatch
    from memer.clip import ClipModel


def rank_batch(
    batch: CaptionBatch,
    picture: Image.Image,
    theme: str,
    *,
    clip: ClipModel | None = None,
    progress: Progress | None = None,
) -> CaptionBatch:
    """``batch`` with its captions best first and each one's ``score`` set (in place; also returned).

    Off with settings.RANK_CAPTIONS; ``clip`` defaults to the settings' model (:func:`memer.clip.load_clip`,
    loaded once per process). Unsafe captions go last, near-duplicates below every caption that is not one.
    """
    if not batch.captions or not settings.RANK_CAPTIONS:
        return batch
    say = progress or silent
    try:
        from memer.clip import query_prompt

        if clip is None:
            from memer.clip import load_clip

            clip = load_clip(progress=say)
        say("Ranking captions by how well they fit the picture …", None)
        image = clip.encode_images([picture])[0]
        texts = clip.encode_text([query_prompt(theme), *batch.texts])  # one pass: the topic as the search sees it
        topic, vectors = texts[0], texts[1:]
    except MemerError as err:  # no CLIP to be had: the captions as written, and why
        return _unranked(batch, err.message)
    except Exception as err:  # noqa: BLE001 - a model failing mid-way must not cost the user the captions
        return _unranked(batch, f"{type(err).__name__}: {first_line(err)}")
    from memer.rank import rank_captions

    order, scores, _repeats = rank_captions(
        image, topic, vectors, batch.texts, last=[not caption.usable for caption in batch.captions]
    )
    for caption, score in zip(batch.captions, scores):
        caption.score = score
    batch.captions = [batch.captions[i] for i in order]
    batch.ranked_by = f"CLIP {clip_name(clip.model_name)} fit with the picture and topic"
    return batch


def clip_name(model_name: str) -> str:
    """A model's short name as a person reads it: a local folder's own name, a hub repo without the prefix."""
    from memer.clip import HF_HUB_PREFIX, LOCAL_DIR_PREFIX

    if model_name.startswith(LOCAL_DIR_PREFIX):
        return Path(model_name[len(LOCAL_DIR_PREFIX) :]).name or model_name
    return model_name.removeprefix(HF_HUB_PREFIX)


def _unranked(batch: CaptionBatch, reason: str) -> CaptionBatch:
    said = f"Not ranked (shown as written): {reason.rstrip('.')}."
    batch.note = f"{batch.note} {said}".strip()
    return batch
