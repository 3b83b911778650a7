"""Tiny random language models, built offline once per session, for the local caption engine.

Two folders in ``save_pretrained`` form, so memer loads them exactly as it
loads a real model from a local path (``MEMER_CAPTION_MODEL``):

* ``tiny_gpt_neo``: a 2-layer GPT-Neo (global + local attention) with no chat
  template, so memer gives it the few-shot prompt, as with GPT-Neo 2.7B;
* ``tiny_chat_lm``: a 2-layer Llama-style model whose tokenizer has a chat
  template, so memer uses the zero-shot chat request.

The tokenizer is a byte-level BPE trained here on a small in-memory corpus.
The weights are random: the text is gibberish, which is fine for testing how
many samples come back, from how many ``generate`` calls, cleaned how.
"""

from __future__ import annotations

from pathlib import Path

import pytest

EOS = "<|endoftext|>"
PAD = "<|pad|>"
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
CHAT_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]

_CORPUS = [
    "Theme: Monday mornings\nImage description: a cat asleep on a keyboard\nCaption: Loading motivation, please wait\n",
    "Create a funny caption for a new meme about apple pie. The background picture is a pie on a windowsill.",
    "Keep it short: at most 12 words. Reply with the caption only, on one line.",
    "You write short, original meme captions. A caption is one line of plain text.",
    "When the pie cools down before you do. My diet starts tomorrow. This pie has seen things.",
    "wholesome sarcastic poem haiku funny dogs cats coffee rain traffic grandparents autumn leaves",
    "Glass upon the edge / one small paw, a gentle push / gravity wins again\n",
    "the quick brown fox jumps over the lazy dog 0123456789 !?.,;:'\"()-",
]


def _train_tokenizer(chat: bool):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = [EOS, PAD] + (CHAT_TOKENS if chat else [])
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS * 4, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, pad_token=PAD)
    if chat:
        wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def _save(folder: Path, model_class_name: str, config_class_name: str, chat: bool, **shape: object) -> Path:
    """Train the tokenizer, make a random model of ``shape`` around it, save both in ``folder``."""
    import torch
    import transformers

    tokenizer = _train_tokenizer(chat=chat)
    ids = dict(
        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    config = getattr(transformers, config_class_name)(
        vocab_size=len(tokenizer), max_position_embeddings=1024, **ids, **shape
    )
    torch.manual_seed(0)
    getattr(transformers, model_class_name)(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_tiny_gpt_neo(folder: Path) -> Path:
    return _save(
        folder, "GPTNeoForCausalLM", "GPTNeoConfig", chat=False,
        hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
        attention_types=[[["global", "local"], 1]], window_size=256,
    )  # fmt: skip


def build_tiny_chat_lm(folder: Path) -> Path:
    return _save(
        folder, "LlamaForCausalLM", "LlamaConfig", chat=True,
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
    )  # fmt: skip


@pytest.fixture(scope="session")
def tiny_gpt_neo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a tiny random GPT-Neo and its tokenizer (no chat template)."""
    return build_tiny_gpt_neo(tmp_path_factory.mktemp("tiny-gpt-neo"))


@pytest.fixture(scope="session")
def tiny_chat_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a tiny random Llama-style chat model; its tokenizer has a chat template."""
    return build_tiny_chat_lm(tmp_path_factory.mktemp("tiny-chat-lm"))
