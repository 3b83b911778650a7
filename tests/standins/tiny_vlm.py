"""A tiny random vision-language model, built offline once per session, in the layout of a real Qwen3-VL.

The folder holds what ``Qwen/Qwen3-VL-2B-Instruct`` holds, saved with
``save_pretrained``: ``config.json`` (``Qwen3VLForConditionalGeneration``,
model_type ``qwen3_vl``), the weights, a byte-level BPE tokenizer trained here
with Qwen's special tokens (``<|im_start|>``, ``<|vision_start|>``,
``<|image_pad|>`` ...), its chat template with image parts, and the image and
video processors. memer loads it through ``AutoProcessor`` and
``AutoModelForImageTextToText`` exactly as it would load the real model.

The weights are random, so the text is gibberish; what matters is that the
picture's pixels flow through the vision tower into the text, so two different
pictures under the same seed give different samples.

``build_tiny_vlm(folder, size="realistic")`` makes a larger random model for
the benchmark (a real-sized vocabulary and wider layers, still CPU-friendly).
"""

from __future__ import annotations

from pathlib import Path

import pytest

EOS = "<|im_end|>"
PAD = "<|endoftext|>"
SPECIALS = [
    PAD,
    "<|im_start|>",
    EOS,
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
# Qwen's own template in spirit: system turn, user turn with image and text parts, assistant turn.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = [
    "Create a funny caption for a new meme about apple pie. The background picture is attached.",
    "Write one sentence that says what the picture shows. A cat sits on a pie on a windowsill.",
    "Keep it short: at most 12 words. Reply with the caption only, on one line.",
    "You write short, original meme captions. A caption is one line of plain text.",
    "When the pie cools down before you do. My diet starts tomorrow. This pie has seen things.",
    "wholesome sarcastic poem haiku funny dogs cats coffee rain traffic grandparents autumn leaves",
    "the quick brown fox jumps over the lazy dog 0123456789 !?.,;:'\"()-",
]

# name -> (vocabulary, text hidden, text layers, heads, vision hidden, vision depth)
SIZES = {
    "tiny": (400, 32, 2, 2, 32, 2),
    "realistic": (8000, 512, 8, 8, 384, 6),
}


def _train_tokenizer(vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS * 4, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, pad_token=PAD)
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def build_tiny_vlm(folder: Path, size: str = "tiny") -> Path:
    """Train the tokenizer, make a random Qwen3-VL around it, save model, tokenizer and processors in ``folder``."""
    import torch
    from transformers import (
        Qwen2VLImageProcessor,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    vocab, hidden, layers, heads, vision_hidden, depth = SIZES[size]
    tokenizer = _train_tokenizer(vocab)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIALS}
    head_dim = hidden // heads
    config = Qwen3VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=hidden,
            intermediate_size=hidden * 2,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=heads,
            head_dim=head_dim,
            max_position_embeddings=4096,
            rope_parameters={
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [head_dim // 4, head_dim // 8, head_dim // 8],
                "mrope_interleaved": True,
            },
            bos_token_id=ids[PAD],
            eos_token_id=ids[EOS],
            pad_token_id=ids[PAD],
        ),
        vision_config=dict(
            depth=depth,
            hidden_size=vision_hidden,
            intermediate_size=vision_hidden * 2,
            num_heads=max(1, vision_hidden // 16),
            patch_size=16,
            spatial_merge_size=2,
            temporal_patch_size=2,
            out_hidden_size=hidden,
            num_position_embeddings=256,
            deepstack_visual_indexes=[depth - 1],
        ),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(0)
    model = Qwen3VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids[EOS]
    model.generation_config.pad_token_id = ids[PAD]
    model.save_pretrained(folder)
    pixels = {"shortest_edge": 32 * 32, "longest_edge": 256 * 256}
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2, size=pixels),
        tokenizer=tokenizer,
        video_processor=Qwen3VLVideoProcessor(patch_size=16, merge_size=2, temporal_patch_size=2, size=pixels),
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a tiny random Qwen3-VL: config, weights, tokenizer, image and video processors."""
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny-vlm"))
