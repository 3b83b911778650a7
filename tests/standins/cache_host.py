"""A static host serving a published Open Images cache, as ``memer cache build`` writes it and a
maintainer uploads it (a Hugging Face dataset repo's ``resolve/main``, a release, a bucket).

Files honour ``Range`` like a storage bucket. Modes a test switches on: ``break_part(name)`` (the
connection drops halfway through that part, once), ``tamper(name)`` (the part's bytes differ from
the manifest's sha256, same size), ``publish(name, data)`` (a hostile part whose size and sha256
the manifest is rewritten to match: ``hostile_cache.py`` makes them), ``redirect(name, url)``
(the part answers 302 to ``url``, as a dataset host sends its files to a CDN), and ``manifest``
edits (another model, another format version).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.standins.openimages import HashingEncoder, ranged
from tests.standins.server import Request, Response, StandinServer

PREFIX = "/datasets/memer/openimages-cache/resolve/main"
_THINGS = ["dog", "car", "cat", "pasta", "beach", "bird", "skyline", "lake", "tractor", "pie"]
# Enough rows that each part spans several 64 KB chunks, so a broken transfer has whole chunks to resume from.
CAPTIONS = [f"A {_THINGS[i % 10]} next to a {_THINGS[i // 10 % 10]}, picture {i}" for i in range(3000)]


def build_published_cache(folder: Path, encoder: HashingEncoder, captions: list[str] = CAPTIONS) -> Path:
    """A real cache folder (the builder's writer), as a maintainer would upload it."""
    from memer.sources.openimages.store import EmbeddingCache

    rows = [
        {
            "image_id": f"{i:016x}",
            "split": "test",
            "caption": c,
            "author": "someone",
            "license": "CC BY 2.0",
            "image_url": f"https://open-images.example/test/{i:016x}.jpg",
        }
        for i, c in enumerate(captions)
    ]
    vectors = np.asarray(encoder.encode_text(captions), np.float32)
    return EmbeddingCache.write(folder, vectors, rows, model=encoder.model_name, pretrained=encoder.pretrained)


@dataclass
class CacheHost:
    server: StandinServer
    folder: Path
    files: dict[str, bytes] = field(default_factory=dict)
    tampered: set[str] = field(default_factory=set)
    redirects: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url + PREFIX

    def path(self, name: str) -> str:
        return f"{PREFIX}/{name}"

    def manifest(self) -> dict:
        return json.loads(self.files["manifest.json"])

    def set_manifest(self, manifest: dict) -> None:
        self.files["manifest.json"] = json.dumps(manifest).encode()

    def break_part(self, name: str, times: int = 1) -> None:
        """The connection breaks halfway through ``name`` (``times`` requests)."""
        self.server.fault(self.path(name), "truncate", times=times)

    def publish(self, name: str, data: bytes) -> None:
        """Serve ``data`` as part ``name``, with the manifest's size and sha256 rewritten to match it."""
        self.files[name] = data
        manifest = self.manifest()
        manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        self.set_manifest(manifest)

    def redirect(self, name: str, url: str) -> None:
        """``name`` answers 302 to ``url``."""
        self.redirects[name] = url

    def tamper(self, name: str) -> None:
        """Serve ``name`` with one byte changed: the same size, another sha256."""
        body = bytearray(self.files[name])
        body[len(body) // 2] ^= 0xFF
        self.files[name] = bytes(body)
        self.tampered.add(name)


def serve_cache(server: StandinServer, folder: Path) -> CacheHost:
    host = CacheHost(server, folder, {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()})

    def serve(request: Request) -> Response:
        name = request.path.removeprefix(PREFIX + "/")
        if name in host.redirects:
            return Response(302, b"", {"Location": host.redirects[name], "Content-Type": "text/plain"})
        data = host.files.get(name)
        if data is None:
            return Response(404, b"Entry not found", {"Content-Type": "text/plain"})
        return ranged(data, request)

    server.route(PREFIX + "/", serve)
    return host


@pytest.fixture(scope="session")
def published_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The published folder, built once per session (each test serves fresh copies of its bytes)."""
    return build_published_cache(tmp_path_factory.mktemp("published") / "openimages", HashingEncoder())


@pytest.fixture
def cache_host(
    server: StandinServer, published_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CacheHost]:
    """A published cache on the stand-in host; settings point at it, and CLIP at its model."""
    from tests.standins.settings import override

    encoder = HashingEncoder()
    host = serve_cache(server, published_cache)
    override(
        monkeypatch,
        CACHE_URL=host.url,
        CACHE_DIR=tmp_path / "cache" / "openimages",
        CLIP_MODEL=encoder.model_name,
        CLIP_PRETRAINED=encoder.pretrained,
    )
    yield host
