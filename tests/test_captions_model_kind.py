"""Which path a local model takes, from its config's model_type / architectures and transformers' mappings."""

from __future__ import annotations

import pytest

from memer.captioning.model_kind import TEXT, VISION, kind_from_config
from memer.errors import ModelError

VISION_MAP = {"qwen3_vl": "Qwen3VLForConditionalGeneration", "llava": ("LlavaForConditionalGeneration",)}
TEXT_MAP = {"gpt_neo": "GPTNeoForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3_vl": "ShouldNotWin"}


@pytest.mark.parametrize(
    ("model_type", "architectures", "kind"),
    [
        ("qwen3_vl", [], VISION),  # in both: the vision mapping wins
        ("gpt_neo", ["GPTNeoForCausalLM"], TEXT),
        ("renamed", ["LlavaForConditionalGeneration"], VISION),  # by the architecture when the type is unknown
        ("renamed", ["Qwen2ForCausalLM"], TEXT),
    ],
)
def test_kind_from_config(model_type, architectures, kind):
    assert kind_from_config(model_type, architectures, VISION_MAP, TEXT_MAP) == kind


def test_an_unknown_config_says_what_to_do():
    with pytest.raises(ModelError, match="MEMER_CAPTION_MODEL"):
        kind_from_config("bert", ["BertModel"], VISION_MAP, TEXT_MAP)


def test_the_real_mappings_know_the_default_models():
    from transformers.models.auto import modeling_auto

    vision = modeling_auto.MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES
    text = modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    assert kind_from_config("qwen3_vl", ["Qwen3VLForConditionalGeneration"], vision, text) == VISION
    assert kind_from_config("qwen2", ["Qwen2ForCausalLM"], vision, text) == TEXT
    assert kind_from_config("gpt_neo", ["GPTNeoForCausalLM"], vision, text) == TEXT
