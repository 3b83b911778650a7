"""The fetch policy under every request memer makes: one session, one deadline, the address policy, capped bodies.

A read timeout bounds each read, not a request: a server that trickles its
headers or body a byte a second never trips it. So :func:`fetch` runs every
request under a :class:`Guard` (a deadline and a cancel switch): the
connections it uses register with it, and when the deadline passes (or Ctrl-C
cancels the batch) a timer shuts their sockets, which ends any blocked read at
once. Retries and redirects are done here too, so a ``Retry-After`` wait is
started only when it fits the deadline and every redirect hop meets the
address policy (memer.addresses) again; the connections also check the address
they actually reached, so DNS that changes between check and connection cannot
reach a private host. Bodies are decoded here (gzip, deflate) in bounded steps
and counted, so a compressed bomb stops at the cap. The session sends no
credentials (no ``user:pass@``, no ~/.netrc) and still honours proxy variables.
"""

from __future__ import annotations

import contextlib
import email.utils
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from memer import __version__, addresses, settings
from memer.addresses import RefusedAddress, check_url
from memer.text import human_size

if TYPE_CHECKING:
    import requests

RETRY_STATUSES = (429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
CHUNK_SIZE = 64 * 1024


class FetchFailure(Exception):
    """A request that reached (or tried to reach) a server and is unusable; the message is the human reason."""


class DeadlineExceeded(FetchFailure):
    pass


class Cancelled(FetchFailure):
    pass


class TooLarge(FetchFailure):
    pass


_session: requests.Session | None = None
_session_key: tuple[Any, ...] | None = None
_session_lock = threading.Lock()
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
            raise Cancelled("cancelled")
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
    class Guarded(base):  # type: ignore[misc, valid-type]
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


def adapter(pool_size: int) -> Any:
    """A requests adapter whose connections obey the current thread's Guard; no retries of its own."""
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

    return GuardedAdapter(max_retries=0, pool_connections=pool_size, pool_maxsize=pool_size)


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
                on_head(b"".join(parts), response.headers)  # type: ignore[misc]
    guard.check()
    if expected is not None and raw_received < expected:
        raise FetchFailure("truncated download")
    body = b"".join(parts)
    if not head_seen:
        on_head(body, response.headers)  # type: ignore[misc]
    return body


def _raw_chunks(response: Any) -> Iterable[bytes]:
    """The bytes as they came over the wire: memer decodes them itself, counting as it goes."""
    return response.raw.stream(CHUNK_SIZE, decode_content=False)


# --- the session -------------------------------------------------------------------


def user_agent() -> str:
    """The User-Agent Wikimedia's policy asks for: who we are and how to reach us."""
    if settings.USER_AGENT:
        return settings.USER_AGENT
    import requests

    return f"memer/{__version__} ({settings.PROJECT_URL}; {settings.CONTACT}) requests/{requests.__version__}"


def get_session() -> requests.Session:
    """The process's one session; rebuilt only when the settings it was made from change."""
    global _session, _session_key
    key = (user_agent(), settings.DOWNLOAD_WORKERS, settings.PER_HOST_LIMIT)
    with _session_lock:
        if _session is None or key != _session_key:
            _session = _build_session()
            _session_key = key
        return _session


def _build_session() -> requests.Session:
    import requests
    from requests.auth import AuthBase

    class NoCredentials(AuthBase):
        """An auth that sends none: with it set, requests never reads ~/.netrc nor a URL's ``user:pass@``."""

        def __call__(self, request: Any) -> Any:
            request.headers.pop("Authorization", None)
            return request

    class Session(requests.Session):
        def rebuild_auth(self, prepared_request: Any, response: Any) -> None:
            # requests would look ~/.netrc up again for a redirect's host; memer sends no credentials anywhere.
            prepared_request.headers.pop("Authorization", None)

    pool_size = max(settings.DOWNLOAD_WORKERS, settings.PER_HOST_LIMIT, 10)
    session = Session()
    session.auth = NoCredentials()  # trust_env stays on: proxy variables and CA bundles still apply
    session.mount("http://", adapter(pool_size))
    session.mount("https://", adapter(pool_size))
    session.headers["User-Agent"] = user_agent()
    session.headers["Accept-Encoding"] = "gzip, deflate"
    return session


def timeout() -> tuple[float, float]:
    """The (connect, read) timeout of one read; :func:`fetch` also bounds the whole request."""
    return (settings.CONNECT_TIMEOUT, settings.READ_TIMEOUT)


def _proxies_for(url: str) -> dict[str, str]:
    """The proxy the environment (HTTPS_PROXY, NO_PROXY ...) names for ``url``, as requests would pick it."""
    from requests.utils import get_environ_proxies

    return {k: v for k, v in get_environ_proxies(url).items() if k in ("http", "https", "all")}


# --- the fetch policy -----------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    url: str  # after redirects
    body: bytes  # decoded; empty for an error status


def retry_wait(retry_after: str | None, attempt: int) -> float:
    """Seconds to wait before asking again: the server's ``Retry-After`` or exponential backoff, capped."""
    seconds = settings.HTTP_BACKOFF * (2**attempt)
    if retry_after:
        text = retry_after.strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(text)
                seconds = when.timestamp() - time.time()
            except (TypeError, ValueError, IndexError, OverflowError):
                pass
    if seconds != seconds:  # NaN
        seconds = 0.0
    return max(0.0, min(seconds, settings.RETRY_AFTER_MAX))


def fetch(
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    deadline: float,
    max_bytes: int,
    trusted: bool = False,
    cancel: threading.Event | None = None,
    on_head: Callable[[bytes, Mapping[str, str]], None] | None = None,
) -> Answer:
    """GET ``url`` under memer's one policy: deadline, address checks on every hop, capped decoded body.

    ``trusted`` is for a link the user typed himself: it may be on a private network.
    Raises FetchFailure (deadline, size, too many redirects), RefusedAddress, or a
    requests exception (describe_failure puts any of them in words).
    """
    import requests

    session = get_session()
    with Guard(deadline, cancel) as guard:
        current, query = url, params
        attempt = hops = 0
        while True:
            guard.check()
            clean, guard.allow_private = check_url(current, trusted=trusted)
            guard.proxied = bool(_proxies_for(clean))  # the proxy resolves the name; the DNS check above stands
            limits = (_fit(settings.CONNECT_TIMEOUT, guard), _fit(settings.READ_TIMEOUT, guard))
            try:
                response = session.get(
                    clean, params=query, stream=True, allow_redirects=False, timeout=limits
                )  # fmt: skip
            except requests.RequestException as err:
                _raise_policy(err, guard)
                if attempt < settings.HTTP_RETRIES and _connect_failure(err):
                    pause = retry_wait(None, attempt)
                    if pause < guard.remaining():
                        guard.sleep(pause)
                        attempt += 1
                        continue
                raise
            try:
                status = response.status_code
                if status in REDIRECT_STATUSES and response.headers.get("Location"):
                    hops += 1
                    if hops > settings.MAX_REDIRECTS:
                        raise FetchFailure(f"more than {settings.MAX_REDIRECTS} redirects")
                    current, query = urljoin(response.url, response.headers["Location"]), None
                    continue
                if status in RETRY_STATUSES and attempt < settings.HTTP_RETRIES:
                    pause = retry_wait(response.headers.get("Retry-After"), attempt)
                    if pause < guard.remaining():  # a wait past the deadline is not worth starting
                        response.close()
                        guard.sleep(pause)
                        attempt += 1
                        continue
                body = b""
                if status < 400:
                    too_large = f"larger than {human_size(max_bytes)}"
                    body = read_body(response, guard, max_bytes, too_large=too_large, on_head=on_head)
                return Answer(status, response.headers, response.url, body)
            except (requests.RequestException, OSError, urllib3_errors()) as err:
                _raise_policy(err, guard)
                raise
            finally:
                response.close()
                guard.forget_connections()


def _fit(seconds: float, guard: Guard) -> float:
    """A per-read timeout that never outlasts the request's deadline."""
    return max(0.01, min(seconds, guard.remaining()))


def urllib3_errors() -> type:
    from urllib3.exceptions import HTTPError

    return HTTPError


def _raise_policy(err: BaseException, guard: Guard) -> None:
    """A failure the guard caused (its timer or Ctrl-C shut the socket) says so, not "connection reset"."""
    guard_cancelled = guard.cancelled or (guard.cancel is not None and guard.cancel.is_set())
    if guard_cancelled:
        raise Cancelled("cancelled") from err
    if guard.expired or guard.remaining() <= 0.05:
        raise DeadlineExceeded(f"took longer than {guard.seconds:g} s") from err
    for cause in exception_chain(err):
        if isinstance(cause, RefusedAddress):
            raise RefusedAddress(str(cause)) from err


def _connect_failure(err: BaseException) -> bool:
    """A request that never reached the server, so asking again is safe."""
    import requests

    return isinstance(err, requests.ConnectionError) and not isinstance(err, requests.exceptions.SSLError)


def exception_chain(err: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    stack = [err]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        for nxt in (e.__cause__, e.__context__, getattr(e, "reason", None), *e.args):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
