"""The fetch policy under every request memer makes: one session, one deadline, retries and redirects, capped bodies.

:func:`fetch` runs every request under a memer.sockets Guard (deadline, cancel switch). Retries and
redirects are done here, so a ``Retry-After`` wait starts only when it fits the deadline and every hop
meets the address policy (memer.addresses) again. The session sends no credentials (no ``user:pass@``,
no ~/.netrc) and still honours proxy variables. ``get_session()`` is for streaming callers with their
own loop (the cache builder): it keeps urllib3's retries of 429 and 5xx, ``Retry-After`` capped.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from memer import __version__, settings
from memer.addresses import RefusedAddress, SlowLookup, check_url, host_port
from memer.sockets import (  # noqa: F401 - part of this module's face
    CHUNK_SIZE,
    DeadlineExceeded,
    FetchCancelled,
    FetchFailure,
    Guard,
    TooLarge,
    adapter,
    cancel_all,
    read_body,
)
from memer.text import human_size

if TYPE_CHECKING:
    import requests

RETRY_STATUSES = (429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# A typed link's redirect that the address policy refuses: nothing of the target (address, type, body) is told.
REDIRECT_REFUSED = "the link redirected to an address memer does not fetch"

_sessions: dict[bool, tuple[tuple[Any, ...], requests.Session]] = {}
_session_lock = threading.Lock()


# --- the session -------------------------------------------------------------------


def user_agent() -> str:
    """The User-Agent Wikimedia's policy asks for: who we are and how to reach us."""
    if settings.USER_AGENT:
        return settings.USER_AGENT
    import requests

    return f"memer/{__version__} ({settings.PROJECT_URL}; {settings.CONTACT}) requests/{requests.__version__}"


def get_session() -> requests.Session:
    """The session for callers that stream with their own loop: urllib3 retries 429 and 5xx for them."""
    return _session(retrying=True)


def _session(*, retrying: bool) -> requests.Session:
    """One session per kind for the process; rebuilt only when the settings it was made from change."""
    key: tuple[Any, ...] = (user_agent(), settings.DOWNLOAD_WORKERS, settings.PER_HOST_LIMIT)
    if retrying:
        key += (settings.HTTP_RETRIES, settings.HTTP_BACKOFF)
    with _session_lock:
        known = _sessions.get(retrying)
        if known is None or known[0] != key:
            known = _sessions[retrying] = (key, _build_session(retrying))
        return known[1]


def _build_session(retrying: bool) -> requests.Session:
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
    retries = _capped_retry() if retrying else 0  # fetch() retries itself, inside its deadline
    session = Session()
    session.auth = NoCredentials()  # trust_env stays on: proxy variables and CA bundles still apply
    session.mount("http://", adapter(pool_size, retries))
    session.mount("https://", adapter(pool_size, retries))
    session.headers["User-Agent"] = user_agent()
    session.headers["Accept-Encoding"] = "gzip, deflate"
    return session


def _capped_retry() -> Any:
    from urllib3.util.retry import Retry

    class CappedRetry(Retry):
        """urllib3's Retry, with any ``Retry-After`` cut to settings.RETRY_AFTER_MAX seconds."""

        def parse_retry_after(self, retry_after: str) -> float:
            return min(super().parse_retry_after(retry_after), max(settings.RETRY_AFTER_MAX, 0.0))

    n = settings.HTTP_RETRIES
    return CappedRetry(
        total=n, connect=n, read=0, status=n, backoff_factor=settings.HTTP_BACKOFF, status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}), respect_retry_after_header=True, raise_on_status=False,
    )  # fmt: skip


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
    asked = retry_after_seconds(retry_after)
    seconds = settings.HTTP_BACKOFF * (2**attempt) if asked is None else asked
    return max(0.0, min(seconds, settings.RETRY_AFTER_MAX))


def retry_after_seconds(retry_after: str | None) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds, or an HTTP date), uncapped; None when there is none."""
    if not retry_after:
        return None
    text = retry_after.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(text).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return 0.0 if seconds != seconds else seconds  # NaN: no wait


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

    ``trusted`` is for a link the user typed himself: it may be on a private network. That
    host and port alone is trusted: a redirect elsewhere meets the address policy like any
    address from outside, and its refusal says REDIRECT_REFUSED. Raises FetchFailure (deadline, size, too many redirects), RefusedAddress, or a
    requests exception (describe_failure puts any of them in words).
    """
    import requests

    session = _session(retrying=False)
    typed = host_port(url) if trusted else None
    with Guard(deadline, cancel) as guard:
        current, query = url, params
        attempt = hops = 0
        while True:
            guard.check()
            hidden = REDIRECT_REFUSED if trusted and hops else None  # a typed link's redirect: not described
            try:
                clean, guard.allow_private = check_url(
                    current, trusted=trusted and host_port(current) == typed, timeout=_fit(settings.CONNECT_TIMEOUT, guard)
                )  # fmt: skip
            except RefusedAddress as err:
                if hidden is None or isinstance(err, SlowLookup):
                    raise
                raise RefusedAddress(hidden) from None
            guard.proxied = bool(_proxies_for(clean))  # the proxy resolves the name; the DNS check above stands
            limits = (_fit(settings.CONNECT_TIMEOUT, guard), _fit(settings.READ_TIMEOUT, guard))
            try:
                response = session.get(
                    clean, params=query, stream=True, allow_redirects=False, timeout=limits
                )  # fmt: skip
            except (requests.RequestException, RefusedAddress) as err:  # the socket's own check raises the latter
                _raise_policy(err, guard, hidden)
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
                _raise_policy(err, guard, hidden)
                raise
            finally:
                response.close()
                guard.forget_connections()


def _fit(seconds: float, guard: Guard) -> float:
    """A per-read timeout that never outlasts the request's deadline."""
    return max(0.01, min(seconds, guard.remaining()))


def urllib3_errors() -> type[Exception]:
    from urllib3.exceptions import HTTPError

    return HTTPError


def _raise_policy(err: BaseException, guard: Guard, hidden: str | None = None) -> None:
    """A failure the guard caused (its timer or Ctrl-C shut the socket) says so, not "connection reset".

    A refused address is told as it is, or as ``hidden`` where its target must not be described.
    """
    guard_cancelled = guard.cancelled or (guard.cancel is not None and guard.cancel.is_set())
    if guard_cancelled:
        raise FetchCancelled("cancelled") from err
    if guard.expired or guard.remaining() <= 0.05:
        raise DeadlineExceeded(f"took longer than {guard.seconds:g} s") from err
    for cause in exception_chain(err):
        if isinstance(cause, RefusedAddress):
            if hidden is not None:
                raise RefusedAddress(hidden) from None
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
