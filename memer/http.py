"""The one HTTP layer every source shares: polite session, API calls, concurrent image downloads.

Wikimedia asks clients for a descriptive User-Agent, for ``Retry-After`` to be
honoured and for at most two concurrent requests to its media servers; other
hosts get a larger per-host limit. Downloads are capped in size, checked to be
images by their first bytes, written atomically and cached on disk by URL, so a
repeated search downloads nothing. One bad file never sinks the batch: each
failure is collected with a reason a person can read.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import tempfile
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from memer import __version__, settings
from memer.candidates import ImageCandidate
from memer.errors import SourceError
from memer.images import sniff_image_type
from memer.progress import Progress
from memer.text import human_size, strip_namespace

if TYPE_CHECKING:
    import requests

RETRY_STATUSES = (429, 500, 502, 503, 504)
API_ADDRESS_HINT = "Check the API address setting (MEMER_COMMONS_API / MEMER_WIKIPEDIA_API)."
CHUNK_SIZE = 64 * 1024
# A downloaded file's stem, before the URL hash and extension, is cut to this many characters
# and to this many UTF-8 bytes (filesystems count bytes, at most 255 a name; CJK is 3 a character).
MAX_NAME_CHARS = 80
MAX_NAME_BYTES = 150

_session: requests.Session | None = None
_session_key: tuple[Any, ...] | None = None
_session_lock = threading.Lock()
_host_slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_host_slots_lock = threading.Lock()


# --- the session -------------------------------------------------------------------


def user_agent() -> str:
    """The User-Agent Wikimedia's policy asks for: who we are and how to reach us."""
    if settings.USER_AGENT:
        return settings.USER_AGENT
    import requests

    return f"memer/{__version__} ({settings.PROJECT_URL}; {settings.CONTACT}) requests/{requests.__version__}"


def _retry_class() -> type:
    from urllib3.util.retry import Retry

    class CappedRetry(Retry):
        """urllib3's Retry, with any ``Retry-After`` cut to settings.RETRY_AFTER_MAX seconds."""

        def parse_retry_after(self, retry_after: str) -> float:
            return min(super().parse_retry_after(retry_after), max(settings.RETRY_AFTER_MAX, 0.0))

    return CappedRetry


def get_session() -> requests.Session:
    """The process's one session; rebuilt only when the settings it was made from change."""
    global _session, _session_key
    key = (
        user_agent(),
        settings.HTTP_RETRIES,
        settings.HTTP_BACKOFF,
        settings.DOWNLOAD_WORKERS,
        settings.PER_HOST_LIMIT,
    )
    with _session_lock:
        if _session is None or key != _session_key:
            _session = _build_session()
            _session_key = key
        return _session


def _build_session() -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter

    retry = _retry_class()(
        total=settings.HTTP_RETRIES,
        connect=settings.HTTP_RETRIES,
        read=0,  # a server that stopped answering rarely answers the retry; do not multiply the timeout
        status=settings.HTTP_RETRIES,
        backoff_factor=settings.HTTP_BACKOFF,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,  # the caller sees the last answer and reports "HTTP 503"
    )
    pool_size = max(settings.DOWNLOAD_WORKERS, settings.PER_HOST_LIMIT, 10)
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent()
    session.headers["Accept-Encoding"] = "gzip, deflate"
    return session


def timeout() -> tuple[float, float]:
    """The (connect, read) timeout every request of memer's session uses."""
    return (settings.CONNECT_TIMEOUT, settings.READ_TIMEOUT)


# --- API calls -------------------------------------------------------------------------


@dataclass
class JsonResponse:
    payload: Any
    headers: Mapping[str, str]
    status: int


def request_json(url: str, params: Mapping[str, Any] | None = None) -> JsonResponse:
    """GET a JSON API; transport failures and non-JSON answers become SourceError."""
    import requests

    host = host_of(url) or url
    try:
        response = get_session().get(url, params=params, timeout=timeout())
    except requests.RequestException as err:
        raise SourceError(
            f"{host} could not be reached: {describe_failure(err)}.", "Check the connection and try again."
        ) from err
    if response.status_code >= 400:
        # 404, 403, 400 ...: asking again will not help; a mistyped address is the usual cause.
        client_error = response.status_code < 500 and response.status_code != 429
        raise SourceError(
            f"{host} answered HTTP {response.status_code}.",
            API_ADDRESS_HINT if client_error else "Try again in a minute.",
        )
    try:
        payload = response.json()
    except ValueError as err:
        kind = response.headers.get("Content-Type", "unknown type").split(";")[0]
        raise SourceError(f"{host} did not answer with JSON ({kind}).", API_ADDRESS_HINT) from err
    return JsonResponse(payload, response.headers, response.status_code)


# --- failure reasons -------------------------------------------------------------------


class DownloadFailure(Exception):
    """A download that reached the server but is unusable; the message is the human reason."""


def describe_failure(err: BaseException) -> str:
    """A short reason a person can read, from whatever requests/urllib3 raised."""
    import requests

    if isinstance(err, DownloadFailure):
        return str(err)
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return f"HTTP {err.response.status_code}"
    if isinstance(
        err, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)
    ):
        return f"bad address ({err})"
    chain = list(_exception_chain(err))
    names = {type(e).__name__ for e in chain}
    if isinstance(err, requests.ConnectTimeout) or "ConnectTimeoutError" in names:
        return f"timed out after {settings.CONNECT_TIMEOUT:g} s (connecting)"
    if isinstance(err, requests.Timeout) or names & {"ReadTimeoutError", "TimeoutError", "timeout"}:
        return f"timed out after {settings.READ_TIMEOUT:g} s"
    if names & {"IncompleteRead"} or isinstance(err, requests.exceptions.ChunkedEncodingError):
        return "truncated download"
    if names & {"ConnectionResetError", "RemoteDisconnected", "BrokenPipeError", "ConnectionAbortedError"}:
        return "connection reset"
    if names & {"NameResolutionError", "gaierror"}:
        return "host not found"
    if names & {"ConnectionRefusedError", "NewConnectionError"}:
        return "connection refused"
    if isinstance(err, requests.exceptions.RetryError):
        return "too many retries"
    return f"{type(err).__name__}: {err}"


def _exception_chain(err: BaseException) -> Iterable[BaseException]:
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


# --- what a file is -----------------------------------------------------------------------

EXTENSIONS = {"jpeg": "jpg", "png": "png", "gif": "gif", "webp": "webp", "bmp": "bmp", "tiff": "tif", "ico": "ico"}


# --- where files go -----------------------------------------------------------------------


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def safe_filename(title: str, url: str, extension: str) -> str:
    """A file name made from ``title`` that cannot leave its folder, unique per URL."""
    name = title.replace("\x00", "")
    name = strip_namespace(name)
    name = re.split(r"[\\/]", name)[-1]  # only the last path part of a hostile title
    name = unicodedata.normalize("NFKC", name)
    name = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", name)  # the extension comes from the bytes
    name = re.sub(r"[^\w\-]+", "_", name).strip("._-")
    name = _cut_to_bytes(name[:MAX_NAME_CHARS], MAX_NAME_BYTES).strip("._-")
    digest = url_key(url)[:10]
    return f"{name}-{digest}.{extension}" if name else f"{digest}.{extension}"


def _cut_to_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def _inside(folder: Path, name: str) -> Path:
    target = (folder / name).resolve()
    if target.parent != folder.resolve():
        raise DownloadFailure(f"unsafe file name {name!r}")
    return target


def cached_path(url: str, cache_dir: Path | None = None) -> Path | None:
    """The cached download of ``url``, if there is one."""
    folder = Path(cache_dir or settings.download_dir())
    key = url_key(url)
    for ext in EXTENSIONS.values():
        path = folder / f"{key}.{ext}"
        if path.is_file() and path.stat().st_size > 0:
            return path
    return None


def _atomic_write_from(chunks: Iterable[bytes], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".memer-", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_copy(source: Path, target: Path) -> None:
    def chunks() -> Iterable[bytes]:
        with open(source, "rb") as src:
            yield from iter(lambda: src.read(CHUNK_SIZE), b"")

    _atomic_write_from(chunks(), target)


# --- downloads ----------------------------------------------------------------------------


@dataclass
class DownloadReport:
    ok: list[ImageCandidate] = field(default_factory=list)  # path set
    failed: list[tuple[ImageCandidate, str]] = field(default_factory=list)  # (candidate, reason)


def host_of(url: str) -> str:
    """The URL's host name; "" when there is none or the URL is malformed (``http://[::1/a.jpg``)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def host_limit(host: str) -> int:
    if host == settings.WIKIMEDIA_UPLOAD_HOST:
        return max(1, settings.WIKIMEDIA_UPLOAD_LIMIT)
    return max(1, settings.PER_HOST_LIMIT)


def _host_slot(host: str) -> threading.BoundedSemaphore:
    """One semaphore per host for the whole process, so parallel batches share the limit too."""
    key = (host, host_limit(host))
    with _host_slots_lock:
        if key not in _host_slots:
            _host_slots[key] = threading.BoundedSemaphore(key[1])
        return _host_slots[key]


def download_image(url: str) -> Path:
    """Fetch one image into the download cache (or find it there); raise on any failure."""
    found = cached_path(url)
    if found is not None:
        return found
    import requests

    host = host_of(url)
    cap = settings.MAX_DOWNLOAD_BYTES
    deadline = settings.DOWNLOAD_DEADLINE
    with _host_slot(host):
        # READ_TIMEOUT bounds each read; the deadline bounds the whole file, so a server that
        # trickles bytes cannot hold one of the host's few slots for long. It is checked
        # between chunks, and a watchdog shuts the socket if a chunk itself never ends.
        give_up = time.monotonic() + deadline
        too_slow = f"took longer than {deadline:g} s"
        watchdog: threading.Timer | None = None

        def check_deadline() -> None:
            if time.monotonic() > give_up:
                raise DownloadFailure(too_slow)

        try:
            with get_session().get(url, stream=True, timeout=timeout()) as response:
                watchdog = threading.Timer(max(give_up - time.monotonic(), 0.0), _cut_off, args=(response,))
                watchdog.daemon = True
                watchdog.start()
                response.raise_for_status()
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > cap:
                    raise DownloadFailure(f"larger than {human_size(cap)}")
                body = response.iter_content(CHUNK_SIZE)
                head = b""
                for chunk in body:
                    check_deadline()
                    head += chunk
                    if len(head) >= 32:
                        break
                check_deadline()
                kind = sniff_image_type(head)
                if kind is None:
                    content_type = response.headers.get("Content-Type", "").split(";")[0].strip() or "unknown type"
                    raise DownloadFailure(f"not an image ({content_type})" if head else "empty answer")
                expected = int(declared) if declared and declared.isdigit() else None

                def capped() -> Iterable[bytes]:
                    received = 0
                    for chunk in itertools.chain([head], body):
                        check_deadline()
                        received += len(chunk)
                        if received > cap:
                            raise DownloadFailure(f"larger than {human_size(cap)}")
                        yield chunk
                    check_deadline()
                    if expected is not None and received < expected:
                        raise DownloadFailure("truncated download")

                target = settings.download_dir() / f"{url_key(url)}.{EXTENSIONS[kind]}"
                _atomic_write_from(capped(), target)
                return target
        except requests.RequestException as err:
            if time.monotonic() > give_up:  # the watchdog cut the connection
                raise DownloadFailure(too_slow) from err
            raise DownloadFailure(describe_failure(err)) from err
        finally:
            if watchdog is not None:
                watchdog.cancel()


def _cut_off(response: requests.Response) -> None:
    """Shut the socket under a streaming response, so a read blocked on a slow server ends now."""
    import socket

    raw = response.raw
    connection = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if sock is None:
        return  # already finished or released; the checks between chunks still apply
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def download_images(
    candidates: Iterable[ImageCandidate],
    dest_dir: str | Path | None = None,
    *,
    progress: Progress | None = None,
) -> DownloadReport:
    """Download every candidate's ``image_url`` concurrently; set ``candidate.path`` on success.

    Files land in the URL-keyed cache (settings.download_dir()); with ``dest_dir``
    a copy named after the title is put there too. Each host is served by at
    most ``host_limit(host)`` lanes of a pool of settings.DOWNLOAD_WORKERS
    threads, so a slow, strictly limited host never blocks workers another
    host could use. ``progress(message, fraction)`` hears as each file finishes.
    """

    items = list(candidates)
    dest = Path(dest_dir) if dest_dir is not None else None
    if dest is not None:
        dest.mkdir(parents=True, exist_ok=True)
    outcome: dict[int, str | Path] = {}
    queues: dict[str, deque[int]] = {}
    for index, candidate in enumerate(items):
        queues.setdefault(host_of(candidate.image_url), deque()).append(index)

    done_lock = threading.Lock()
    finished = itertools.count(1)

    def fetch(index: int) -> None:
        candidate = items[index]
        try:
            if not candidate.image_url:
                raise DownloadFailure("no image address")
            cached = download_image(candidate.image_url)
            if dest is not None:
                target = _inside(dest, safe_filename(candidate.title, candidate.image_url, cached.suffix.lstrip(".")))
                if not target.exists():
                    _atomic_copy(cached, target)
                cached = target
            outcome[index] = cached
        except DownloadFailure as err:
            outcome[index] = str(err)
        except OSError as err:
            outcome[index] = f"could not save the file: {err.strerror or err}"
        except Exception as err:  # noqa: BLE001 - e.g. a malformed address: this file fails, the batch goes on
            outcome[index] = describe_failure(err)
        with done_lock:
            done = next(finished)
            if progress is not None:
                progress(f"Downloading pictures ({done}/{len(items)})", done / len(items))

    def lane(queue: deque[int]) -> None:
        while True:
            try:
                index = queue.popleft()
            except IndexError:
                return
            fetch(index)

    # Lanes interleaved across hosts, so each host starts early in the pool's queue.
    lanes_per_host = {host: min(host_limit(host), len(q)) for host, q in queues.items()}
    order = [
        host
        for round_ in range(max(lanes_per_host.values(), default=0))
        for host in queues
        if round_ < lanes_per_host[host]
    ]
    if order:
        with ThreadPoolExecutor(
            max_workers=max(1, min(settings.DOWNLOAD_WORKERS, len(order))), thread_name_prefix="memer-download"
        ) as pool:
            for future in [pool.submit(lane, queues[host]) for host in order]:
                future.result()

    report = DownloadReport()
    for index, candidate in enumerate(items):
        result = outcome.get(index, "not attempted")
        if isinstance(result, Path):
            candidate.path = result
            report.ok.append(candidate)
        else:
            report.failed.append((candidate, result))
    return report
