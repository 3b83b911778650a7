"""Every outside service stood in at once: for `memer make`, the notebook and the browser test.

``world`` fills the MediaWiki stand-in with apple-pie pictures, builds an Open Images
cache from the stand-in files with the real builder, points CLIP at the tiny model,
OpenAI at its stand-in and the local engine at the tiny chat model,
and returns the environment variables a separate process (a CLI run, a notebook
kernel, a Voila server) needs to see the same world.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.standins.settings import override
from tests.standins.tiny_clip import tiny_clip_values


@dataclass
class World:
    env: dict[str, str]  # for subprocesses and kernels; this process already sees the same settings
    mediawiki: object
    openai: object


@pytest.fixture
def world(
    mediawiki, openimages_server, openai_api, tiny_clip_dir, tiny_chat_lm, tmp_path, monkeypatch
) -> Iterator[World]:
    pies = [
        mediawiki.add_file("Apple pie.jpg", description="A warm apple pie on a windowsill.", keywords="apple pie"),
        mediawiki.add_file(
            "Apple pie slice.jpg", description="A slice of apple pie with cream.", license="CC0", keywords="apple pie"
        ),
        mediawiki.add_file(
            "Dutch apple pie.jpg",
            description="A lattice-topped Dutch apple pie.",
            license="CC BY 4.0",
            keywords="apple pie",
        ),
    ]
    orchard = mediawiki.add_file("Orchard in autumn.jpg", description="Apple trees full of fruit.", license="CC BY 2.0")
    mediawiki.add_article("Apple pie", [pies[0], orchard])
    memer_env = override(
        monkeypatch,
        SOURCES=["commons", "wikipedia", "openimages"],
        COMMONS_API=mediawiki.commons_api,
        WIKIPEDIA_API=mediawiki.wikipedia_api,
        USER_CACHE=tmp_path / "user-cache",  # downloads follow it
        CACHE_DIR=tmp_path / "openimages-cache",
        OPENIMAGES_URL=openimages_server.server.url,
        MEME_DIR=tmp_path / "memes",
        READ_TIMEOUT=5.0,
        HTTP_RETRIES=0,
        # The tiny random CLIP sees synthetic pictures as very alike; only identical pixels are duplicates here.
        DEDUPE_THRESHOLD=0.999,
        CAPTION_MODEL=str(tiny_chat_lm),
        OPENAI_MAX_RETRIES=0,
        **tiny_clip_values(tiny_clip_dir),
    )
    env = {
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])
        ),
        "OPENAI_BASE_URL": os.environ["OPENAI_BASE_URL"],
        "OPENAI_API_KEY": os.environ["OPENAI_API_KEY"],
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        **memer_env,
    }
    world = World(env, mediawiki, openai_api)
    # The Open Images cache, built the way users build it: the real builder, stand-in files, (tiny) CLIP.
    from memer.clip import load_clip
    from memer.sources.openimages.build import build_cache

    build_cache(encoder=load_clip())
    yield world
