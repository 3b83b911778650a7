"""Downloading a published cache: checked part by part, resumed after a break, swapped in atomically."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from memer import settings
from memer.errors import CacheError
from memer.sources.openimages.download import download_cache, staging_dir
from memer.sources.openimages.store import EMBEDDINGS, MANIFEST, METADATA, PARTS, EmbeddingCache
from tests.standins.cache_host import CAPTIONS, build_published_cache
from tests.standins.openimages import HashingEncoder

ROOT = Path(__file__).resolve().parents[1]


def _old_cache() -> Path:
    """A different cache already in place (same model), which a failed download must leave alone."""
    return build_published_cache(settings.cache_dir(), HashingEncoder(), ["An old cache row.", "Another old one."])


def test_download_fetches_checks_and_opens(cache_host, capsys):
    seen = []
    done = download_cache(progress=lambda m, f: seen.append((m, f)))
    cache = EmbeddingCache.open(settings.cache_dir())
    published = EmbeddingCache.open(cache_host.folder)
    assert done.directory == settings.cache_dir() and done.rows == len(cache) == len(published) == len(CAPTIONS)
    np.testing.assert_array_equal(np.asarray(cache.embeddings), np.asarray(published.embeddings))
    assert cache.verify().ok and done.reused == []
    assert done.downloaded_bytes == sum(len(cache_host.files[name]) for name in PARTS)
    fractions = [f for _, f in seen if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(f"[part {len(PARTS)}/{len(PARTS)}]" in m for m, _ in seen)
    assert not staging_dir(settings.cache_dir()).exists()
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("part", [EMBEDDINGS, METADATA])
def test_a_broken_connection_resumes_with_range(cache_host, server, part):
    cache_host.break_part(part)
    download_cache()
    requests = server.requests_to(cache_host.path(part))
    assert len(requests) == 2 and "range" not in requests[0].headers
    resumed_at = int(requests[1].headers["range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at < len(cache_host.files[part])
    assert EmbeddingCache.open(settings.cache_dir()).verify().ok


def test_a_run_that_gave_up_is_resumed_by_the_next(cache_host, server, monkeypatch):
    monkeypatch.setattr(settings, "HTTP_RETRIES", 0)
    cache_host.break_part(METADATA, times=None)
    with pytest.raises(CacheError, match="partial file .* is kept"):
        download_cache()
    assert not settings.cache_dir().exists()
    server.clear_faults()
    done = download_cache()
    assert done.reused == [EMBEDDINGS]  # the parts before the break are not fetched again
    assert "range" in server.requests_to(cache_host.path(METADATA))[-1].headers
    assert EmbeddingCache.open(settings.cache_dir()).verify().ok


@pytest.mark.parametrize("part", PARTS)
def test_a_tampered_part_is_refused_and_the_old_cache_stays(cache_host, part):
    old = _old_cache()
    before = (old / MANIFEST).read_bytes()
    cache_host.tamper(part)
    with pytest.raises(
        CacheError, match=rf"{part} does not match the published manifest \(sha256 differs\).*not changed"
    ):
        download_cache()
    assert (old / MANIFEST).read_bytes() == before and len(EmbeddingCache.open(old)) == 2
    assert not (staging_dir(old) / part).exists()


def test_a_part_longer_than_the_manifest_says_is_cut_off(cache_host):
    cache_host.files[METADATA] += b"\0" * 70_000
    with pytest.raises(CacheError, match=f"{METADATA} sends more than"):
        download_cache()
    assert not settings.cache_dir().exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "ViT-L-14"}, "built with CLIP ViT-L-14 .*MEMER_CLIP_MODEL=ViT-L-14"),
        ({"pretrained": "openai"}, r"\(openai\), but memer uses hashing-test \(none\)"),
        ({"format_version": 99}, "v99; this memer reads"),
        ({"format": "something-else"}, "format 'something-else'"),
        ({"files": {"embeddings.npy": {"bytes": 1, "sha256": "0" * 64}}}, "exactly the parts"),
        ({"files": None}, "exactly the parts"),
        ({"rows": "many"}, "usable 'rows'"),
    ],
)
def test_a_manifest_that_does_not_fit_is_refused_before_any_part(cache_host, server, change, message):
    old = _old_cache()
    cache_host.set_manifest({**cache_host.manifest(), **change})
    with pytest.raises(CacheError, match=message):
        download_cache()
    assert not server.requests_to(cache_host.path(EMBEDDINGS))
    assert len(EmbeddingCache.open(old)) == 2


@pytest.mark.parametrize("name", PARTS)
def test_a_manifest_with_a_bad_checksum_entry_is_refused(cache_host, name):
    manifest = cache_host.manifest()
    manifest["files"][name]["sha256"] = "not-a-sha"
    cache_host.set_manifest(manifest)
    with pytest.raises(CacheError, match=f"no usable sha256 for {name}"):
        download_cache()


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"<html>login</html>", "not a JSON cache manifest"), (b"[1, 2]", "not a JSON object")],
)
def test_a_manifest_that_is_not_one(cache_host, body, message):
    cache_host.files[MANIFEST] = body
    with pytest.raises(CacheError, match=message):
        download_cache()


def test_no_url_says_none_is_published(cache_host, monkeypatch):
    monkeypatch.setattr(settings, "CACHE_URL", "")
    with pytest.raises(CacheError, match="none is published yet"):
        download_cache()
    with pytest.raises(CacheError, match="not an http"):
        download_cache("file:///etc/passwd")


def test_a_missing_manifest_is_a_clear_error(cache_host, server):
    with pytest.raises(CacheError, match=r"manifest .*/nowhere/manifest.json \(HTTP 404\)"):
        download_cache(server.url + "/nowhere")


def test_cli_download(cache_host, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    target = tmp_path / "cli-cache"
    done = subprocess.run(
        [sys.executable, "-m", "memer", "cache", "download", cache_host.url, "--dir", str(target)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"downloaded the Open Images cache into {target}: {len(CAPTIONS)} rows, CLIP hashing-test (none)"
    )
    assert len(EmbeddingCache.open(target)) == len(CAPTIONS)
    cache_host.tamper(EMBEDDINGS)
    bad = subprocess.run(
        [sys.executable, "-m", "memer", "cache", "download", "--dir", str(tmp_path / "other")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1 and bad.stderr.startswith("memer: error: The downloaded embeddings.npy does not match")
    assert len(bad.stderr.strip().splitlines()) == 1
