"""How long downloading a search's pictures takes: memer's concurrent downloader vs one file after another.

30 candidates, 10 on a Wikimedia-like media host (at most 2 at a time, as
Wikimedia asks) and 20 on another host, each answer delayed 300 ms by the
stand-in server. The sequential run is the original notebook's way (one
``requests.get`` after another). Both run here, in the same process, against
the same files; memer starts from an empty download cache.

Run from the repository root: ``python -m bench.fetch``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import requests

from memer import http, settings
from memer.candidates import ImageCandidate
from tests.standins.mediawiki import make_image
from tests.standins.server import StandinServer

LATENCY = 0.3
UPLOAD_FILES = 10
OTHER_FILES = 20


def main() -> None:
    with (
        StandinServer(host="127.0.0.2") as upload,
        StandinServer(host="127.0.0.1") as other,
        tempfile.TemporaryDirectory() as tmp,
    ):
        settings.WIKIMEDIA_MEDIA_HOSTS = ["127.0.0.2"]
        settings.TRUSTED_HOSTS = [f"{s.host}:{s.port}" for s in (upload, other)]  # loopback stand-ins
        settings.DOWNLOAD_DIR = Path(tmp) / "cache"
        candidates = []
        for server, count, folder in ((upload, UPLOAD_FILES, "/wikipedia/commons/"), (other, OTHER_FILES, "/images/")):
            for i in range(count):
                url = server.add_file(f"{folder}{i}.jpg", make_image("jpeg", size=(320, 240), seed=i), "image/jpeg")
                candidates.append(ImageCandidate(source="commons", title=f"picture {i}", image_url=url))
            server.latency = LATENCY

        start = time.perf_counter()
        with requests.Session() as session:
            for candidate in candidates:
                response = session.get(candidate.image_url, timeout=30)
                response.raise_for_status()
                (Path(tmp) / f"seq-{len(response.content)}-{hash(candidate.image_url)}").write_bytes(response.content)
        sequential = time.perf_counter() - start

        upload.reset(), other.reset()
        upload.latency = other.latency = LATENCY
        start = time.perf_counter()
        report = http.download_images(candidates, Path(tmp) / "memer")
        concurrent = time.perf_counter() - start
        assert not report.failed, report.failed

        start = time.perf_counter()
        cached = http.download_images(
            [ImageCandidate(c.source, c.title, c.image_url) for c in candidates], Path(tmp) / "again", progress=False
        )
        repeat = time.perf_counter() - start
        assert len(cached.ok) == len(candidates)

        print(
            f"{len(candidates)} pictures ({UPLOAD_FILES} on a host limited to {settings.WIKIMEDIA_UPLOAD_LIMIT} at a time, "
            f"{OTHER_FILES} on another), {LATENCY * 1000:.0f} ms latency each"
        )
        print(f"  sequential (one after another): {sequential:6.2f} s")
        print(f"  memer download_images:          {concurrent:6.2f} s   (target <= 1.8 s)")
        print(
            f"  memer again, from the cache:    {repeat:6.2f} s   ({len(upload.requests) + len(other.requests) - len(candidates)} new requests)"
        )
        print(
            f"  speed-up: {sequential / concurrent:.1f}x   peak concurrency: media host {upload.peak_concurrency('/')}, other host {other.peak_concurrency('/')}"
        )


if __name__ == "__main__":
    main()
