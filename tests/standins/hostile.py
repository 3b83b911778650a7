"""A hostile web server: the answers an attacker or a broken host gives, on raw sockets.

Where ``server.py`` acts out faults on well-formed answers, this one breaks the
protocol itself, so the client's limits are what stops it. Each path is one
behaviour (query parameters tune it):

- ``/trickle-headers?pause=S``: the status line and headers one byte every S seconds.
- ``/trickle-body?pause=S``: proper headers, then a JSON body one byte every S seconds.
- ``/silence``: reads the request and says nothing.
- ``/gzip-bomb?mb=N``: ``Content-Encoding: gzip`` of N MB of zeros (a few KB on the wire).
- ``/huge-json?mb=N``: a valid JSON list of N MB, chunked, with no Content-Length.
- ``/deep-json?depth=N``: ``[[[[…]]]]`` nested N deep.
- ``/redirect?to=URL``: 302 to URL (another loopback port, the cloud metadata address …).
- ``/loop``: 302 to itself, for ever.
- ``/retry-after?seconds=N``: 503 with ``Retry-After: N`` every time.
- ``/short-image``: the first half of a JPEG, with a Content-Length that matches the half.
- ``/poisoned-image``: a JPEG signature followed by garbage.
- ``/image``: a small, valid JPEG.
- ``/echo``: the request's headers as JSON (to see what credentials a client sent).

Every behaviour gives up after ``LIMIT`` seconds, so a client that never hangs up
never holds a server thread for long.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.standins.server import QuietHTTPServer

LIMIT = 5.0  # seconds any one answer may take at most


def small_jpeg(seed: int = 3) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (seed * 40 % 256, 90, 160)).save(out, "JPEG")
    return out.getvalue()


@functools.lru_cache(maxsize=4)
def gzip_bomb(megabytes: int) -> bytes:
    """gzip of ``megabytes`` MB of zeros, compressed a megabyte at a time (the server never holds the whole)."""
    out = io.BytesIO()
    zeros = b"\0" * (1 << 20)
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as packer:
        for _ in range(megabytes):
            packer.write(zeros)
    return out.getvalue()


class HostileServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path with query, headers lower-cased)
        self.stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> HostileServer:
        server = self

        class _Handler(_HostileHandler):
            hostile = server

        self._httpd = QuietHTTPServer((self.host, 0), _Handler)
        threading.Thread(target=self._httpd.serve_forever, name="hostile-server", daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def where(self) -> str:
        """``host:port``, as settings.TRUSTED_HOSTS names it."""
        return f"{self.host}:{self.port}"


class _HostileHandler(BaseHTTPRequestHandler):
    hostile: HostileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.hostile.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        behaviour = getattr(self, "_" + parts.path.strip("/").replace("-", "_"), None)
        try:
            if behaviour is None:
                self._answer(404, b"no such behaviour", "text/plain")
            else:
                behaviour(query)
        except OSError:  # the client hung up: that is what a good client does here
            pass
        self.close_connection = True

    # --- helpers ---
    def _answer(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")  # every answer ends its connection: no client may reuse it
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _slowly(self, data: bytes, pause: float) -> None:
        give_up = time.monotonic() + LIMIT
        for i in range(len(data)):
            if time.monotonic() > give_up or self.hostile.stopping.is_set():
                return
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
            self.hostile.stopping.wait(pause)

    # --- behaviours ---
    def _trickle_headers(self, query: dict[str, str]) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nX-Padding: " + b"x" * 200
        self._slowly(head + b"\r\n\r\n{}", float(query.get("pause", 0.05)))

    def _trickle_body(self, query: dict[str, str]) -> None:
        body = json.dumps({"padding": "x" * 200}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        self._slowly(body, float(query.get("pause", 0.05)))

    def _silence(self, query: dict[str, str]) -> None:
        self.hostile.stopping.wait(LIMIT)

    def _gzip_bomb(self, query: dict[str, str]) -> None:
        body = gzip_bomb(int(query.get("mb", 50)))
        self._answer(200, body, "application/json", {"Content-Encoding": "gzip"})

    def _huge_json(self, query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        piece = b'"' + b"x" * (64 * 1024 - 4) + b'",'
        chunks = [b"["] + [piece] * (int(query.get("mb", 30)) * 16) + [b'""]']
        for chunk in chunks:
            if self.hostile.stopping.is_set():
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def _deep_json(self, query: dict[str, str]) -> None:
        depth = int(query.get("depth", 100_000))
        self._answer(200, b"[" * depth + b"]" * depth, "application/json")

    def _redirect(self, query: dict[str, str]) -> None:
        self._answer(302, b"", "text/plain", {"Location": query.get("to", "/")})

    def _loop(self, query: dict[str, str]) -> None:
        self._answer(302, b"", "text/plain", {"Location": "/loop"})

    def _retry_after(self, query: dict[str, str]) -> None:
        self._answer(503, b"busy", "text/plain", {"Retry-After": query.get("seconds", "10")})

    def _short_image(self, query: dict[str, str]) -> None:
        data = small_jpeg()
        self._answer(200, data[: len(data) // 2], "image/jpeg")

    def _poisoned_image(self, query: dict[str, str]) -> None:
        self._answer(200, b"\xff\xd8\xff\xe0" + b"\x13\x37" * 4000, "image/jpeg")

    def _image(self, query: dict[str, str]) -> None:
        self._answer(200, small_jpeg(), "image/jpeg")

    def _echo(self, query: dict[str, str]) -> None:
        self._answer(200, json.dumps(dict(self.headers.items())).encode(), "application/json")


@pytest.fixture(scope="session")
def hostile_session_server() -> Iterator[HostileServer]:
    server = HostileServer().start()
    yield server
    server.stop()


@pytest.fixture
def hostile(hostile_session_server: HostileServer) -> HostileServer:
    """The hostile server, NOT trusted: memer's address policy refuses it unless a test trusts it."""
    hostile_session_server.requests.clear()
    return hostile_session_server


@pytest.fixture
def trusted_hostile(hostile: HostileServer, monkeypatch: pytest.MonkeyPatch) -> HostileServer:
    """The hostile server, trusted as a seam the user configured (so the other limits are what stops it)."""
    from memer import settings
    from tests.standins.settings import override

    override(monkeypatch, TRUSTED_HOSTS=[*settings.TRUSTED_HOSTS, hostile.where])
    return hostile
