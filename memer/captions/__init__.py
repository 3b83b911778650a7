"""Caption generation: prompts, cleanup, engines (OpenAI, local transformers) and safety levels."""

from memer.captions.base import SAFE, SENSITIVE, UNSAFE, Caption, CaptionBatch

__all__ = ["Caption", "CaptionBatch", "SAFE", "SENSITIVE", "UNSAFE"]
