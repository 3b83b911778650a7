"""The sockets under memer's session: one Guard per request (deadline, cancel switch, address check), capped bodies.

A read timeout bounds each read, not a request: a server trickling a byte a second never trips it. The
connections a request uses register with its :class:`Guard`; when the deadline passes (or Ctrl-C cancels
the batch) a timer shuts their sockets, which ends any blocked read at once. The connections also check
the address they actually reached against memer.addresses (DNS may change between check and connect).
Bodies are decoded here (gzip, deflate) in bounded steps and counted, so a compressed bomb stops at the cap.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from memer import addresses

CHUNK_SIZE = 64 * 1024


class FetchFailure(Exception):
    """A request that reached (or tried to reach) a server and is unusable; the message is the human reason."""


class DeadlineExceeded(FetchFailure):
    pass


class FetchCancelled(FetchFailure):
    """A request's batch was cancelled (not the app's Cancel button: that is memer.ui.jobs.Cancelled)."""


class TooLarge(FetchFailure):
    pass


_local = threading.local()
_active: set[Guard] = set()
_active_lock = threading.Lock()


class Guard:
    """One request's deadline, cancel switch and address rule, shared with the connections it opens."""

    def __init__(self, seconds: float, cancel: threading.Event | None = None) -> None:
        self.seconds = max(seconds, 0.0)
        self.give_up = time.monotonic() + self.seconds
        self.cancel = cancel
        self.allow_private = False  # set per hop: a seam or a link the user typed
        self.proxied = False  # the connection goes to a proxy, which resolves the name itself
        self.expired = False
        self.cancelled = False
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(self.seconds, self.cut)
        self._timer.daemon = True

    # --- life cycle ---
    def __enter__(self) -> Guard:
        with _active_lock:
            _active.add(self)
        _local.guard = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _local.guard = None
        with _active_lock:
            _active.discard(self)

    def remaining(self) -> float:
        return self.give_up - time.monotonic()

    def check(self) -> None:
        """Raise when the request's time is up or its batch was cancelled."""
        if self.cancelled or (self.cancel is not None and self.cancel.is_set()):
            raise FetchCancelled("cancelled")
        if self.expired or self.remaining() <= 0:
            raise DeadlineExceeded(f"took longer than {self.seconds:g} s")

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a retry pause) unless cancelled first; the caller made sure it fits the deadline."""
        if self.cancel is not None:
            self.cancel.wait(seconds)
        else:
            time.sleep(seconds)
        self.check()

    # --- used by the connections and the timer ---
    def watch(self, connection: Any) -> None:
        with self._lock:
            self._connections.append(connection)
        if self.expired or self.cancelled or (self.cancel is not None and self.cancel.is_set()):
            self.cut(cancelled=not self.expired)

    def forget_connections(self) -> None:
        """The last answer is read and its connection is back in the pool: another request may use it now."""
        with self._lock:
            self._connections.clear()

    def cut(self, *, cancelled: bool = False) -> None:
        """Shut every socket of this request, so a read blocked on a slow server ends now."""
        if cancelled:
            self.cancelled = True
        else:
            self.expired = True
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def check_peer(self, sock: socket.socket, host: str) -> None:
        """Refuse a connection that landed on a private address (DNS may change between check and connect)."""
        if self.allow_private or self.proxied:
            return
        try:
            peer = sock.getpeername()[0]
        except OSError:
            return
        addresses.check_addresses(host, [str(peer)])


def current_guard() -> Guard | None:
    return getattr(_local, "guard", None)


def cancel_all(event: threading.Event | None = None) -> None:
    """Cut every request in flight (or those of ``event``'s batch), e.g. on Ctrl-C: their threads fail at once."""
    if event is not None:
        event.set()
    with _active_lock:
        guards = [g for g in _active if event is None or g.cancel is event]
    for guard in guards:
        guard.cut(cancelled=True)


# --- connections that obey the guard ------------------------------------------------------


def _guarded(base: type) -> type:
    class Guarded(base):
        def _new_conn(self) -> socket.socket:
            guard = current_guard()
            if guard is not None:
                guard.check()
            sock = super()._new_conn()
            if guard is not None:
                try:
                    guard.check_peer(sock, self.host)
                except addresses.RefusedAddress:
                    sock.close()
                    raise
            return sock

        def request(self, *args: Any, **kwargs: Any) -> Any:
            guard = current_guard()
            if guard is not None:
                guard.watch(self)
            return super().request(*args, **kwargs)

    Guarded.__name__ = f"Guarded{base.__name__}"
    return Guarded


def adapter(pool_size: int, retries: Any = 0) -> Any:
    """A requests adapter whose connections obey the current thread's Guard (when there is one)."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = _guarded(HTTPConnection)

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = _guarded(HTTPSConnection)

    pools = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}

    class GuardedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = dict(pools)

        def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(*args, **kwargs)
            manager.pool_classes_by_scheme = dict(pools)
            return manager

    return GuardedAdapter(max_retries=retries, pool_connections=pool_size, pool_maxsize=pool_size)


# --- bodies ------------------------------------------------------------------------------------


class _Decoder:
    """gzip / deflate decoded in steps of at most CHUNK_SIZE bytes, so a bomb never expands at once."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._z: Any = None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.encoding in ("", "identity"):
            if data:
                yield data
            return
        if self._z is None:
            if self.encoding in ("gzip", "x-gzip"):
                wbits = 16 + zlib.MAX_WBITS
            elif len(data) >= 2 and (data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0:
                wbits = zlib.MAX_WBITS  # deflate as the standard says: zlib-wrapped
            else:
                wbits = -zlib.MAX_WBITS  # raw deflate, as some servers send it
            self._z = zlib.decompressobj(wbits)
        try:
            piece = self._z.decompress(data, CHUNK_SIZE)
            while piece:
                yield piece
                piece = self._z.decompress(self._z.unconsumed_tail, CHUNK_SIZE) if self._z.unconsumed_tail else b""
        except zlib.error as err:
            raise FetchFailure(f"broken {self.encoding} data") from err


def read_body(
    response: Any,
    guard: Guard,
    max_bytes: int,
    *,
    too_large: str,
    on_head: Callable[[bytes, Mapping[str, str]], None] | None = None,
) -> bytes:
    """The decoded body of a streaming ``requests`` response, at most ``max_bytes``, within the guard's deadline.

    ``on_head`` sees the first decoded bytes (at least 32 when the body has them) and may
    raise to stop a download that is plainly not what was asked for.
    """
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        raise FetchFailure(f"unsupported encoding {encoding[:20]!r}")
    declared = response.headers.get("Content-Length", "").strip()
    expected = int(declared) if declared.isdigit() and len(declared) < 19 else None
    if not encoding and expected is not None and expected > max_bytes:
        raise TooLarge(too_large)
    decoder = _Decoder(encoding)
    parts: list[bytes] = []
    received = raw_received = 0
    head_seen = on_head is None
    for raw in _raw_chunks(response):
        guard.check()
        raw_received += len(raw)
        for piece in decoder.feed(raw):
            received += len(piece)
            if received > max_bytes:
                raise TooLarge(too_large)
            parts.append(piece)
            if not head_seen and received >= 32:
                head_seen = True
                on_head(b"".join(parts), response.headers)  # type: ignore[misc]  # head_seen: on_head is set
    guard.check()
    if expected is not None and raw_received < expected:
        raise FetchFailure("truncated download")
    body = b"".join(parts)
    if not head_seen:
        on_head(body, response.headers)  # type: ignore[misc]  # head_seen: on_head is set
    return body


def _raw_chunks(response: Any) -> Iterable[bytes]:
    """The bytes as they came over the wire: memer decodes them itself, counting as it goes."""
    return response.raw.stream(CHUNK_SIZE, decode_content=False)
