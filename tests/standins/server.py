"""A local HTTP server that stands in for the outside services, with fault injection.

One server, many routes: MediaWiki (``mediawiki.py``), the Open Images bucket and
Localized Narratives files (``openimages.py``) and OpenAI (``openai_api.py``)
register handlers on it. It listens on an ephemeral loopback port in a daemon
thread, records every request, counts concurrent requests, and can make any
path misbehave: delay, hang, an error status (with ``Retry-After``), a truncated
body, HTML instead of an image, an oversized body, a connection reset or a
body trickled out in small pieces.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # keys lower-cased
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        """A query or form parameter (MediaWiki accepts both)."""
        if name in self.query:
            return self.query[name][0]
        return self.form().get(name, [default])[0]

    def form(self) -> dict[str, list[str]]:
        if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {}

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})


Handler = Callable[[Request], Response]

FAULT_KINDS = {"delay", "hang", "status", "truncate", "html", "oversize", "reset", "trickle"}
TRICKLE_LIMIT = 10.0  # seconds a trickled answer may take at most, so a stuck client never holds the server


@dataclass
class Fault:
    """How a path misbehaves.

    delay: answer normally after ``seconds``; hang: say nothing for ``seconds``
    (default 30, longer than any client timeout), then close; status: answer
    ``status`` (503 by default) with an optional ``retry_after`` header;
    truncate: promise the full length, send half, close; html: a 200 HTML page
    instead of the real body; oversize: a body of ``size`` bytes; reset: close
    the connection with a TCP RST; trickle: the real body in pieces of ``size``
    bytes (default 1024) every ``seconds`` (default 0.1), closing after
    TRICKLE_LIMIT seconds if it is not done by then. ``times`` limits the fault to the first N
    matching requests (then the path behaves), None means every request.
    """

    kind: str
    seconds: float = 0.0
    status: int = 503
    retry_after: str | None = None
    size: int = 0
    times: int | None = None


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that keeps a handler's exceptions instead of printing them.

    socketserver prints 40 dashes and a traceback to stderr when a client hangs up mid-answer
    (what the hostile and fault tests do on purpose); in a test that reads stderr, that is noise
    from the stand-in, not from memer. ``errors`` keeps them for a test that wants to look.
    """

    daemon_threads = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.errors: list[BaseException] = []

    def handle_error(self, request, client_address) -> None:
        import sys

        error = sys.exc_info()[1]
        if error is not None:
            self.errors.append(error)


class StandinServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.latency = 0.0  # seconds added to every answer (benchmarks)
        self.requests: list[Request] = []
        self._routes: dict[str, Handler] = {}
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self._peak: dict[str, int] = {}
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---
    def start(self) -> StandinServer:
        server = self

        class _Handler(_RequestHandler):
            standin = server

        self._httpd = QuietHTTPServer((self.host, 0), _Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="standin-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start() the server first"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- content ---
    def route(self, prefix: str, handler: Handler) -> None:
        """Answer every path starting with ``prefix`` with ``handler`` (longest prefix wins)."""
        self._routes[prefix] = handler

    def add_file(self, path: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Serve ``data`` at exactly ``path`` and return its URL."""

        def serve(request: Request) -> Response:
            if request.path != path:
                return Response(404, b"not found", {"Content-Type": "text/plain"})
            return Response(200, data, {"Content-Type": content_type})

        self.route(path, serve)
        return self.url + path

    # --- faults and statistics ---
    def fault(self, prefix: str, kind: str, **params: Any) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose from {sorted(FAULT_KINDS)}")
        self._faults[prefix] = Fault(kind, **params)

    def clear_faults(self) -> None:
        self._faults.clear()

    def reset(self) -> None:
        """Forget faults, requests and peaks (between tests); routes stay."""
        with self._lock:
            self._faults.clear()
            self.requests.clear()
            self._peak.clear()
            self.latency = 0.0

    def peak_concurrency(self, prefix: str = "/") -> int:
        """The most requests under ``prefix`` (a folder ending in "/", or a whole path) in flight at once."""
        with self._lock:
            return self._peak.get(prefix, 0)

    def requests_to(self, prefix: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    # --- used by the handler ---
    def _match(self, table: dict[str, Any], path: str) -> tuple[str, Any] | None:
        best = max((p for p in table if path.startswith(p)), key=len, default=None)
        return (best, table[best]) if best is not None else None

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            found = self._match(self._faults, path)
            if not found:
                return None
            _prefix, fault = found
            if fault.times is not None:
                if fault.times <= 0:
                    return None
                fault.times -= 1
            return fault

    def _enter(self, path: str) -> None:
        with self._lock:
            self._in_flight[path] = self._in_flight.get(path, 0) + 1
            # Record the peak for the path and every folder above it ("/", "/upload/", ...).
            for prefix in _ancestors(path):
                now = sum(n for p, n in self._in_flight.items() if p.startswith(prefix))
                self._peak[prefix] = max(self._peak.get(prefix, 0), now)

    def _leave(self, path: str) -> None:
        with self._lock:
            self._in_flight[path] -= 1


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) + "/" for i in range(1, len(parts))] + [path]


class _RequestHandler(BaseHTTPRequestHandler):
    standin: StandinServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes; no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool = False) -> None:
        server = self.standin
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        with server._lock:
            server.requests.append(request)
        counted = parts.path
        server._enter(counted)
        try:
            if server.latency:
                server._stopping.wait(server.latency)
            fault = server._take_fault(parts.path)
            if fault is not None and self._misbehave(fault):
                return
            found = server._match(server._routes, parts.path)
            if not found:
                response = Response(404, b"no such stand-in route", {"Content-Type": "text/plain"})
            else:
                try:
                    response = found[1](request)
                except Exception as err:  # noqa: BLE001 - a bug in a stand-in shows up as a 500 the test can see
                    response = Response(500, f"stand-in error: {err!r}".encode(), {"Content-Type": "text/plain"})
            if fault is not None and fault.kind == "truncate":
                self._send(response, head, truncate=True)
            elif fault is not None and fault.kind == "trickle":
                self._send(response, head, trickle=fault)
            else:
                self._send(response, head)
        finally:
            server._leave(counted)

    def _misbehave(self, fault: Fault) -> bool:
        """Act out a fault; True when the answer is already given (or never will be)."""
        server = self.standin
        if fault.kind == "delay":
            server._stopping.wait(fault.seconds)
            return False
        if fault.kind == "hang":
            server._stopping.wait(fault.seconds or 30.0)
            self.close_connection = True
            return True
        if fault.kind == "status":
            headers = {"Content-Type": "text/plain"}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            self._send(Response(fault.status, f"stand-in fault {fault.status}".encode(), headers))
            return True
        if fault.kind == "html":
            page = b"<!DOCTYPE html><html><body><h1>Please log in</h1></body></html>"
            self._send(Response(200, page, {"Content-Type": "text/html; charset=utf-8"}))
            return True
        if fault.kind == "oversize":
            self._send(Response(200, b"\xff" * (fault.size or 64 * 1024 * 1024), {"Content-Type": "image/jpeg"}))
            return True
        if fault.kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return True
        return False  # "truncate" and "trickle" act after the handler ran

    def _send(
        self, response: Response, head: bool = False, truncate: bool = False, trickle: Fault | None = None
    ) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            # A handler that sets "Transfer-Encoding: chunked" streams its body without a length.
            chunked = response.headers.get("Transfer-Encoding", "").lower() == "chunked"
            if not chunked:
                self.send_header("Content-Length", str(len(response.body)))
            if truncate:
                self.send_header("Connection", "close")
            self.end_headers()
            if head:
                return
            if truncate:
                self.wfile.write(response.body[: len(response.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if trickle is not None:
                piece, pause = trickle.size or 1024, trickle.seconds or 0.1
                give_up = time.monotonic() + TRICKLE_LIMIT
                for start in range(0, len(response.body), piece):
                    if time.monotonic() > give_up or self.standin._stopping.is_set():
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self.wfile.write(response.body[start : start + piece])
                    self.wfile.flush()
                    self.standin._stopping.wait(pause)
                return
            if chunked:
                for start in range(0, len(response.body), 16 * 1024):
                    piece = response.body[start : start + 16 * 1024]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
                return
            self.wfile.write(response.body)
        except OSError:  # the client hung up (broken pipe, reset), e.g. after its own deadline
            self.close_connection = True
