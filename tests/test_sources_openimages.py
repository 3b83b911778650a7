"""Open Images candidates from the cache, credited and downloadable from the (stand-in) bucket."""

from __future__ import annotations

import ast
import inspect
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest
import requests

from memer import settings
from memer.errors import CacheError
from memer.sources.openimages import row_candidate, search_openimages
from memer.sources.openimages.build import build_cache
from memer.sources.openimages.legacy import legacy_row
from memer.sources.openimages.store import EmbeddingCache
from memer.text import trim_words
from tests.standins.openimages import HashingEncoder


@pytest.fixture
def built(openimages_server):
    encoder = HashingEncoder()
    build_cache(encoder=encoder)
    return EmbeddingCache.open(settings.cache_dir()), encoder


def test_search_returns_credited_candidates(built, server):
    cache, encoder = built
    found = search_openimages("brown dog, green lawn and a ball", limit=3, cache=cache, clip=encoder)
    assert len(found) == 3
    best = found[0]
    assert best.source == "openimages" and best.source_name == "Open Images"
    assert best.image_url == f"{server.url}/train/0000a1b2c3d4e5f6.jpg"
    assert best.page_url == "https://www.flickr.com/photos/someone/0000a1b2c3d4e5f6"
    assert best.author == 'Jane "JD" Doe' and best.title == "Dog, ball, and grass"
    assert best.license == "CC BY 2.0" and best.license_url == "https://creativecommons.org/licenses/by/2.0/"
    assert best.license_assumed is False
    assert best.description.startswith("A brown dog")
    assert best.attribution() == 'Image: Jane "JD" Doe / Open Images, CC BY 2.0'
    assert best.extra["image_id"] == "0000a1b2c3d4e5f6" and best.extra["split"] == "train"
    scores = [c.extra["cache_score"] for c in found]
    assert scores == sorted(scores, reverse=True)
    # The picture is really where the candidate says.
    response = requests.get(best.image_url, timeout=5)
    assert response.status_code == 200 and response.content[:3] == b"\xff\xd8\xff"


def test_default_limit_and_empty_queries(built, monkeypatch):
    cache, encoder = built
    monkeypatch.setattr(settings, "OPENIMAGES_LIMIT", 2)
    assert len(search_openimages("dog", cache=cache, clip=encoder)) == 2
    assert search_openimages("   ", cache=cache, clip=encoder) == []
    assert search_openimages("dog", limit=0, cache=cache, clip=encoder) == []
    assert len(search_openimages("dog", limit=100, cache=cache, clip=encoder)) == len(cache)


def test_the_cache_is_opened_from_settings(built):
    _, encoder = built
    assert search_openimages("city skyline buildings", limit=1, clip=encoder)[0].extra["image_id"] == "2222b2c3d4e5f6a7"


def test_another_model_is_refused(built):
    cache, _ = built
    with pytest.raises(CacheError) as err:
        search_openimages("dog", cache=cache, clip=HashingEncoder(model_name="ViT-L-14", pretrained="openai"))
    assert "hashing-test" in str(err.value) and "ViT-L-14" in str(err.value)


def test_missing_cache_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "nothing")
    with pytest.raises(CacheError) as err:
        search_openimages("dog", clip=HashingEncoder())
    assert "memer cache build" in str(err.value) and "import-legacy" in str(err.value)


def test_legacy_rows_are_marked_as_assumed_licences(monkeypatch):
    monkeypatch.setattr(settings, "OPENIMAGES_URL", "http://bucket.example")
    candidate = row_candidate({**legacy_row("validation/abc123", "a dog " * 100, "Some One"), "row": 5})
    assert candidate.license == "CC BY 2.0" and candidate.license_assumed is True
    assert candidate.image_url == "http://bucket.example/validation/abc123.jpg"
    assert candidate.description.endswith("…") and len(candidate.description.split()) == 61
    assert candidate.title == "a dog a dog a dog a dog …"
    assert candidate.author == "Some One"


@pytest.mark.parametrize(
    ("text", "words", "expected"), [("a  b   c", 5, "a b c"), ("a b c d", 2, "a b …"), ("", 3, "")]
)
def test_trim_words(text, words, expected):
    assert trim_words(text, words) == expected


def test_embeddings_for_search_come_from_the_encoder(built):
    cache, encoder = built
    query = encoder.encode_query("two cats sleeping on a sofa")
    ids, _ = cache.search(query, 1)
    assert cache.row(int(ids[0]))["image_id"] == "0000c3d4e5f6a7b8"
    assert np.isclose(np.linalg.norm(query), 1, atol=1e-5)


@pytest.mark.parametrize(("query", "limit"), [("", None), ("   ", 5), ("apple", 0), ("apple", -1)])
def test_nothing_asked_for_needs_no_cache(tmp_path, monkeypatch, query, limit):
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "no-cache-here")
    assert search_openimages(query, limit, clip=HashingEncoder()) == []


def test_the_encoder_is_required_and_the_pipeline_passes_it(built):
    from memer import pipeline

    clip = inspect.signature(search_openimages).parameters["clip"]
    assert clip.kind is inspect.Parameter.KEYWORD_ONLY and clip.default is inspect.Parameter.empty
    with pytest.raises(TypeError, match="clip"):
        search_openimages("dog")
    # The pipeline's own call: the CLIP it loads for ranking is handed to the source.
    _, encoder = built
    loaded: Future = Future()
    loaded.set_result(encoder)
    status, candidates = pipeline._ask_source("openimages", "brown dog, green lawn and a ball", loaded)
    assert status.ok, status.message
    assert candidates and candidates[0].extra["image_id"] == "0000a1b2c3d4e5f6"


def test_the_source_imports_no_model():
    package = Path(__file__).resolve().parents[1] / "memer" / "sources" / "openimages"
    for module in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom):  # "from memer import clip" names memer.clip too
                names = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                assert not name.startswith(("memer.clip", "memer.captioning", "memer.rendering", "memer.pipeline")), (
                    f"{module.name} imports {name}"
                )


def test_outside_text_in_a_cache_row_is_capped_and_typed(monkeypatch):
    from memer.sources.openimages import row_candidate
    from tests.standins.settings import override

    override(monkeypatch, MAX_TITLE_CHARS=20, MAX_AUTHOR_CHARS=30, MAX_DESCRIPTION_CHARS=100)
    row = {"image_id": "abc", "split": "train", "title": "t" * 5000, "author": "A" * 12_600, "caption": 7}
    candidate = row_candidate(row)
    assert len(candidate.title) <= 20 and len(candidate.author) <= 30
    assert candidate.description == ""
