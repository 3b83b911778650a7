"""A tiny random text-to-image model in diffusers' ``save_pretrained`` form, built offline once per session.

The folder is what a hub repo such as ``stabilityai/sd-turbo`` holds
(``model_index.json``, ``unet/``, ``vae/``, ``text_encoder/``, ``tokenizer/``,
``scheduler/``), so memer loads it through ``MEMER_IMAGE_MODEL_LOCAL`` with
diffusers' ``AutoPipelineForText2Image`` exactly like the real model: a UNet and
a VAE with a few channels, a 2-layer CLIP text encoder, a CLIP tokenizer whose
byte-level vocabulary is written here (no merges: one token per character), and
sd-turbo's scheduler (Euler, trailing timesteps). The pictures are noise, which
is fine for testing the code path: how many come back, saved how, credited how.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TINY_SIZE = 64  # pixels; the VAE halves it once, so the UNet sees 32 x 32 latents


def _byte_characters() -> list[str]:
    """The 256 printable stand-ins byte-level BPE uses for bytes (the GPT-2 / CLIP table)."""
    visible = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = visible[:]
    extra = 0
    for byte in range(256):
        if byte not in visible:
            visible.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def _write_tokenizer(folder: Path) -> None:
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    characters = _byte_characters()
    vocab = {token: index for index, token in enumerate(characters + [c + "</w>" for c in characters])}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)
    tokenizer.save_pretrained(str(folder))


def build_tiny_diffusion(folder: Path, seed: int = 0) -> Path:
    """Write the tiny pipeline to ``folder``; returns the folder."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    _write_tokenizer(folder / "tokenizer-source")
    tokenizer = CLIPTokenizer.from_pretrained(str(folder / "tokenizer-source"))
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=TINY_SIZE // 2,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=4,
        norm_num_groups=4,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=4,
        sample_size=TINY_SIZE,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=77,
            projection_dim=16,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    # sd-turbo's scheduler: Euler with trailing timesteps, so 1 to 4 steps make a picture.
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", timestep_spacing="trailing", steps_offset=1
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(str(folder / "tiny-sd-turbo"))
    return folder / "tiny-sd-turbo"


@pytest.fixture(scope="session")
def tiny_diffusion_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny text-to-image model's folder, built once per session (a second or two on a CPU)."""
    pytest.importorskip("diffusers")
    return build_tiny_diffusion(tmp_path_factory.mktemp("tiny-diffusion"))


def tiny_diffusion_values(folder: Path) -> dict[str, object]:
    """The settings that point the generated source's local path at the tiny model."""
    return {"IMAGE_MODEL_LOCAL": str(folder), "GENERATE_SIZE": TINY_SIZE, "GENERATE_STEPS": 2, "DEVICE": "cpu"}
