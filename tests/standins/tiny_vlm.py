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


def build_overflowing_vlm(source: Path, folder: Path) -> Path:
    """A copy of the tiny VLM whose MLP activations pass float16's 65504 but stay finite in float32.

    What Qwen-family models do on a T4 (QwenLM/Qwen3-VL #44, transformers #33294), made certain: every
    layer's post-attention norm scales its input to ~300 and the MLP's gate and up projections grow 50-fold,
    so silu(gate) * up reaches ~1e6, inf in float16 (then NaN after the final norm), plain numbers in float32.
    """
    import shutil

    import torch
    from transformers import AutoModelForImageTextToText

    shutil.copytree(source, folder)
    model = AutoModelForImageTextToText.from_pretrained(source, dtype=torch.float32)
    with torch.no_grad():
        for layer in model.model.language_model.layers:
            layer.post_attention_layernorm.weight.fill_(300.0)
            layer.mlp.gate_proj.weight.mul_(50.0)
            layer.mlp.up_proj.weight.mul_(50.0)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def overflowing_vlm(tiny_vlm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny VLM made to overflow in float16 only (see :func:`build_overflowing_vlm`)."""
    return build_overflowing_vlm(tiny_vlm, tmp_path_factory.mktemp("overflowing") / "vlm")


class ForcedAnswers:
    """Makes a loaded tiny VLM answer given texts, one per batch row, by overriding its next-token scores.

    A forward hook on ``lm_head``: while armed, the k-th forward pass gives row i the k-th token of
    ``answers[i]`` (then the end of the turn), every other token far below. ``answers`` items are strings
    (tokenized) or lists of strings (one token each); rows past the list answer like the last item.
    ``delay`` seconds of sleep per forward pass make the model slow. The real generate still runs.
    """

    def __init__(self, local, answers, delay: float = 0.0) -> None:
        self.local, self.delay, self.armed, self.step = local, delay, False, 0
        tokenizer = local.tokenizer
        self.end = tokenizer.convert_tokens_to_ids(EOS)
        self.rows = [
            [tokenizer.convert_tokens_to_ids(tokenizer.tokenize(piece))[0] for piece in answer]
            if isinstance(answer, list)
            else tokenizer.encode(answer, add_special_tokens=False)
            for answer in answers
        ]
        self.handle = local.model.lm_head.register_forward_hook(self._hook)

    def arm(self) -> None:
        self.armed, self.step = True, 0

    def _hook(self, module, inputs, output):
        if not self.armed:
            return None
        import time

        time.sleep(self.delay)
        forced = output.clone()
        forced[:, -1, :] = -1e4
        for row in range(forced.shape[0]):
            tokens = self.rows[min(row, len(self.rows) - 1)]
            forced[row, -1, tokens[self.step] if self.step < len(tokens) else self.end] = 1e4
        self.step += 1
        return forced

    def remove(self) -> None:
        self.handle.remove()


def forced_at(monkeypatch, local, module, builder: str, answers, delay: float = 0.0) -> ForcedAnswers:
    """The model answers ``answers`` (one per row) only in the generate whose inputs ``module.builder`` builds: the
    forcing is armed when that function runs, so the captions before it stay the model's own."""
    forcing = ForcedAnswers(local, answers, delay)
    build = getattr(module, builder)

    def arming(*args, **kwargs):
        forcing.arm()
        return build(*args, **kwargs)

    monkeypatch.setattr(module, builder, arming)
    return forcing
