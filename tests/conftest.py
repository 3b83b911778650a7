"""Shared test fixtures: the stand-in server and the per-area stand-in plugins.

Each area's stand-ins (routes on the server, tiny models) live in their own
module under tests/standins/ and are loaded here as pytest plugins.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings as hypothesis_settings

from tests.standins.server import StandinServer

# Property tests explore the same examples on every run (set HYPOTHESIS_PROFILE=explore for fresh ones),
# so CI never fails on a case nobody has seen; what exploring finds becomes a table row.
hypothesis_settings.register_profile("repeatable", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# Tests never reach the outside world, and the hub must never be asked for weights.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

pytest_plugins = [
    "tests.standins.mediawiki",  # Commons / Wikipedia API routes
    "tests.standins.openimages",  # Open Images bucket, metadata CSVs, Localized Narratives
    "tests.standins.cache_host",  # a published Open Images cache on a static host
    "tests.standins.openai_api",  # /v1/chat/completions, /v1/moderations
    "tests.standins.hostile",  # a server that breaks the protocol: trickles, bombs, redirects to private hosts
    "tests.standins.typed_link",  # a link the user types, on a host that redirects to another local service
    "tests.standins.tiny_clip",  # a tiny random open_clip model in local-dir form
    "tests.standins.tiny_lm",  # tiny random GPT-Neo and Llama-style chat models
    "tests.standins.tiny_diffusion",  # a tiny random text-to-image pipeline (UNet, VAE, CLIP text encoder)
    "tests.standins.tiny_vlm",  # a tiny random Qwen3-VL vision-language model
    "tests.standins.hostile_models",  # model folders that ask to run their own Python (and pickled weights)
    "tests.standins.world",  # all of the above at once, for whole-pass tests
    "tests.ui_helpers",  # the app's widget tests: a fake pipeline, the app on it (tests/test_ui_*.py)
]


@pytest.fixture(scope="session")
def standin_server() -> Iterator[StandinServer]:
    """One stand-in server for the whole session; use ``server`` in tests."""
    with StandinServer() as server:
        yield server


@pytest.fixture
def server(standin_server: StandinServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinServer]:
    """The session's stand-in server, with faults and request logs cleared for this test.

    It is on loopback, so memer's address policy fetches from it only as a seam the
    user configured: TRUSTED_HOSTS names it (a fixture pointing COMMONS_API at it would too).
    """
    from tests.standins.settings import override

    override(monkeypatch, TRUSTED_HOSTS=[f"{standin_server.host}:{standin_server.port}"])
    standin_server.reset()
    yield standin_server
    standin_server.reset()


@pytest.fixture(autouse=True)
def _isolated_user_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep downloads and caches of one test out of every other test and out of ~/.cache."""
    from tests.standins.settings import override

    # The download folder, the Open Images cache and the builder's downloads all follow USER_CACHE.
    override(monkeypatch, USER_CACHE=tmp_path_factory.mktemp("user-cache"))
