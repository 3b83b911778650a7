"""The one HTTP layer every source shares: one fetch policy, API calls, concurrent image downloads.

Every request goes through :func:`fetch`: one overall deadline (connecting,
headers, body and any retry pause), the address policy of memer.addresses on
every hop (redirects are followed here, a few at most), no credentials from URLs
or ~/.netrc, and a cap on the decoded bytes. Wikimedia asks clients for a
descriptive User-Agent, for ``Retry-After`` to be honoured and for at most two
concurrent requests to its media servers; other hosts get a larger per-host
limit. A download is cached by URL only once it decodes as a picture, and a
cached file that no longer decodes is fetched again. One bad file never sinks
the batch: each failure is collected with a reason a person can read.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from memer import settings, transport
from memer.addresses import RefusedAddress
from memer.candidates import ImageCandidate
from memer.errors import ImageError, SourceError
from memer.files import write_atomic
from memer.images import open_image, sniff_image_type
from memer.progress import Progress
from memer.text import file_words, human_size, plain_title
from memer.transport import (  # noqa: F401 - the session and the policy are part of this module's face
    Answer,
    DeadlineExceeded,
    FetchFailure,
    TooLarge,
    exception_chain,
    fetch,
    get_session,
    timeout,
    urllib3_errors,
    user_agent,
)

API_ADDRESS_HINT = "Check the API address setting (MEMER_COMMONS_API / MEMER_WIKIPEDIA_API)."
CHUNK_SIZE = transport.CHUNK_SIZE
WIKIMEDIA_MEDIA = "wikimedia media hosts"  # the one lane group every Wikimedia media host shares

_host_slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_host_slots_lock = threading.Lock()


# --- API calls -------------------------------------------------------------------------


@dataclass
class JsonResponse:
    payload: Any
    headers: Mapping[str, str]
    status: int


def request_json(url: str, params: Mapping[str, Any] | None = None, *, trusted: bool = False) -> JsonResponse:
    """GET a JSON API under the fetch policy; every failure becomes a one-line SourceError."""
    import requests

    host = host_of(url) or url
    try:
        answer = fetch(
            url, params=params, deadline=settings.API_DEADLINE, max_bytes=settings.MAX_API_BYTES, trusted=trusted
        )
    except DeadlineExceeded as err:
        raise SourceError(
            f"{host} did not answer within {settings.API_DEADLINE:g} s.",
            "Check the connection and try again.",
            code="source.unavailable",
        ) from err
    except TooLarge as err:
        raise SourceError(
            f"{host} sent an answer larger than {human_size(settings.MAX_API_BYTES)}.",
            API_ADDRESS_HINT,
            code="source.unavailable",
        ) from err
    except (FetchFailure, RefusedAddress, requests.RequestException, OSError, urllib3_errors()) as err:
        raise SourceError(
            f"{host} could not be reached: {describe_failure(err)}.",
            "Check the connection and try again.",
            code="source.unavailable",
        ) from err
    if answer.status == 429:
        raise SourceError(
            f"{host} is rate limiting memer (too many requests).",
            f"Try again {_when(answer)}.",
            code="source.rate_limited",
        )
    if answer.status >= 400:
        # 404, 403, 400 ...: asking again will not help; a mistyped address is the usual cause.
        client_error = answer.status < 500
        raise SourceError(
            f"{host} answered HTTP {answer.status}.",
            API_ADDRESS_HINT if client_error else "Try again in a minute.",
            code="source.unavailable",
        )
    try:
        payload = parse_json(answer.body)
    except ValueError as err:
        kind = answer.headers.get("Content-Type", "unknown type").split(";")[0][:60]
        what = str(err) if isinstance(err, _TooDeep) else f"did not answer with JSON ({kind})"
        raise SourceError(f"{host} {what}.", API_ADDRESS_HINT, code="source.unavailable") from err
    return JsonResponse(payload, answer.headers, answer.status)


class _TooDeep(ValueError):
    pass


def parse_json(body: bytes | bytearray) -> Any:
    """JSON from an outside answer, refusing nesting deeper than settings.MAX_JSON_DEPTH (never a RecursionError)."""
    too_deep = _TooDeep(f"sent JSON nested deeper than {settings.MAX_JSON_DEPTH} levels")
    try:
        payload = json.loads(body)
    except RecursionError:
        raise too_deep from None
    stack = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > settings.MAX_JSON_DEPTH:
            raise too_deep
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return payload


# --- failure reasons -------------------------------------------------------------------


class DownloadFailure(FetchFailure):
    """A download that reached the server but is unusable; the message is the human reason."""


def describe_failure(err: BaseException) -> str:
    """A short reason a person can read, from whatever requests/urllib3 raised."""
    import requests

    if isinstance(err, (FetchFailure, RefusedAddress)):
        return str(err)
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return f"HTTP {err.response.status_code}"
    if isinstance(
        err, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)
    ):
        return f"bad address ({err})"
    chain = list(exception_chain(err))
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


def _when(answer: Answer) -> str:
    """When to ask a host that rate limited memer again, in words: from its ``Retry-After``, if it gave one."""
    seconds = transport.retry_after_seconds(answer.headers.get("Retry-After"))
    if seconds is None:
        return "in a few minutes"
    if seconds <= 60:
        return "in a minute"
    if seconds < 90 * 60:
        return f"in {math.ceil(seconds / 60)} minutes"
    if seconds < 48 * 3600:
        hours = round(seconds / 3600)
        return f"in about {hours} hour{'s' if hours != 1 else ''}"
    if seconds <= 7 * 86400:
        return f"in about {round(seconds / 86400)} days"
    return "in more than a week"  # also a hostile "inf"


# --- what a file is -----------------------------------------------------------------------

EXTENSIONS = {"jpeg": "jpg", "png": "png", "gif": "gif", "webp": "webp", "bmp": "bmp", "tiff": "tif", "ico": "ico"}


# --- where files go -----------------------------------------------------------------------


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def safe_filename(title: str, url: str, extension: str) -> str:
    """A downloaded picture's file name: the title's words by the one file-name rule (:func:`memer.text.file_words`:
    short lower-case ASCII, so nothing in a hostile title can leave the folder), then a digest of the URL that keeps
    it unique (a title in a script without ASCII letters gives the digest alone)."""
    words = file_words(plain_title(title))
    digest = url_key(url)[:10]
    return f"{words}-{digest}.{extension}" if words else f"{digest}.{extension}"


def _inside(folder: Path, name: str) -> Path:
    target = (folder / name).resolve()
    if target.parent != folder.resolve():
        raise DownloadFailure(f"unsafe file name {name!r}")
    return target


def cached_path(url: str, cache_dir: Path | None = None) -> Path | None:
    """The cached download of ``url``, if there is one that still decodes (a broken one is removed)."""
    folder = Path(cache_dir or settings.download_dir())
    key = url_key(url)
    for ext in EXTENSIONS.values():
        path = folder / f"{key}.{ext}"
        if path.is_file():
            if _decodes(path):
                return path
            path.unlink(missing_ok=True)
    return None


_checked: dict[tuple[str, int, int], bool] = {}  # (path, size, mtime) -> decodes; a file is decoded once a process
_checked_lock = threading.Lock()


def _decodes(path: Path) -> bool:
    """Whether a cached file is still a picture memer can open (a disk or an older memer may have cut it short)."""
    try:
        stat = path.stat()
    except OSError:
        return False
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _checked_lock:
        known = _checked.get(key)
    if known is None:
        try:
            open_image(path).close()
            known = True
        except ImageError:
            known = False
        with _checked_lock:
            _checked[key] = known
    return known


def _atomic_copy(source: Path, target: Path) -> None:
    def chunks() -> Iterable[bytes]:
        with open(source, "rb") as src:
            yield from iter(lambda: src.read(CHUNK_SIZE), b"")

    write_atomic(target, chunks())


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


def lane_group(host: str) -> str:
    """The name whose lanes ``host`` shares: every Wikimedia media host is one group."""
    media = {h.strip().lower() for h in settings.WIKIMEDIA_MEDIA_HOSTS}
    return WIKIMEDIA_MEDIA if host.lower() in media else host


def host_limit(host: str) -> int:
    if lane_group(host) == WIKIMEDIA_MEDIA:
        return max(1, settings.WIKIMEDIA_UPLOAD_LIMIT)
    return max(1, settings.PER_HOST_LIMIT)


def _host_slot(host: str) -> threading.BoundedSemaphore:
    """One semaphore per lane group for the whole process, so parallel batches share the limit too."""
    key = (lane_group(host), host_limit(host))
    with _host_slots_lock:
        if key not in _host_slots:
            _host_slots[key] = threading.BoundedSemaphore(key[1])
        return _host_slots[key]


def download_image(url: str, *, trusted: bool = False, cancel: threading.Event | None = None) -> Path:
    """Fetch one image into the download cache (or find it there); raise DownloadFailure on any failure.

    The file is cached only once it decodes as a picture, so a short or poisoned
    answer is never kept. ``trusted``: a link the user typed (it may be on a private network).
    """
    found = cached_path(url)
    if found is not None:
        return found
    import requests

    slot = _host_slot(host_of(url))
    while not slot.acquire(timeout=0.1):
        if cancel is not None and cancel.is_set():
            raise DownloadFailure("cancelled")
    answer: Answer | None = None
    try:
        answer = fetch(
            url,
            deadline=settings.DOWNLOAD_DEADLINE,
            max_bytes=settings.MAX_DOWNLOAD_BYTES,
            trusted=trusted,
            cancel=cancel,
            on_head=_check_head,
        )
    except (FetchFailure, RefusedAddress) as err:
        raise DownloadFailure(str(err)) from err
    except (requests.RequestException, OSError, urllib3_errors()) as err:
        raise DownloadFailure(describe_failure(err)) from err
    finally:
        slot.release()
    if answer.status == 429:
        raise DownloadFailure(f"rate limited by {host_of(answer.url) or host_of(url)} (try again {_when(answer)})")
    if answer.status >= 400:
        raise DownloadFailure(f"HTTP {answer.status}")
    kind = sniff_image_type(answer.body[:32])
    if kind is None:
        content_type = answer.headers.get("Content-Type", "").split(";")[0].strip()[:60] or "unknown type"
        raise DownloadFailure(f"not an image ({content_type})" if answer.body else "empty answer")
    try:
        open_image(answer.body).close()
    except ImageError as err:
        raise DownloadFailure(f"unreadable image: {_short(err.message)}") from err
    target = settings.download_dir() / f"{url_key(url)}.{EXTENSIONS[kind]}"
    write_atomic(target, answer.body)
    return target


def _check_head(head: bytes, headers: Mapping[str, str]) -> None:
    """Stop a download whose first bytes are plainly not a picture (a login page, an error text)."""
    if sniff_image_type(head[:32]) is None:
        content_type = headers.get("Content-Type", "").split(";")[0].strip()[:60] or "unknown type"
        raise DownloadFailure(f"not an image ({content_type})" if head else "empty answer")


def _short(message: str) -> str:
    """An image error without its "The image data" subject: the reason alone."""
    return message.removeprefix("The image data ").rstrip(".")


def download_images(
    candidates: Iterable[ImageCandidate],
    dest_dir: str | Path | None = None,
    *,
    progress: Progress | None = None,
) -> DownloadReport:
    """Download every candidate's ``image_url`` concurrently; set ``candidate.path`` on success.

    Files land in the URL-keyed cache (settings.download_dir()); with ``dest_dir``
    a copy named after the title is put there too. Each host is served by at
    most ``host_limit(host)`` lanes of settings.DOWNLOAD_WORKERS threads, so a
    slow, strictly limited host never blocks workers another host could use.
    ``progress(message, fraction)`` hears as each file finishes. Ctrl-C (any
    exception in the waiting thread) cancels the batch: every request in flight
    is cut and the threads end within moments; nothing waits for them.
    """

    items = list(candidates)
    dest = Path(dest_dir) if dest_dir is not None else None
    if dest is not None:
        dest.mkdir(parents=True, exist_ok=True)
    outcome: dict[int, str | Path] = {}
    queues: dict[str, deque[int]] = {}
    for index, candidate in enumerate(items):
        queues.setdefault(lane_group(host_of(candidate.image_url)), deque()).append(index)

    done_lock = threading.Lock()
    finished = itertools.count(1)
    cancel = threading.Event()

    def fetch_one(index: int) -> None:
        candidate = items[index]
        try:
            if not candidate.image_url:
                raise DownloadFailure("no image address")
            cached = download_image(candidate.image_url, cancel=cancel)
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
            if progress is not None and not cancel.is_set():
                progress(f"Downloading pictures ({done}/{len(items)})", done / len(items))

    # Lanes interleaved across hosts, so each host starts early; each worker runs one lane to its end.
    lanes_per_host = {host: min(host_limit(host), len(q)) for host, q in queues.items()}
    lanes = deque(
        queues[host]
        for round_ in range(max(lanes_per_host.values(), default=0))
        for host in queues
        if round_ < lanes_per_host[host]
    )
    lanes_lock = threading.Lock()

    def worker() -> None:
        while not cancel.is_set():
            with lanes_lock:
                if not lanes:
                    return
                queue = lanes.popleft()
            while not cancel.is_set():
                try:
                    index = queue.popleft()
                except IndexError:
                    break
                fetch_one(index)

    workers = [
        threading.Thread(target=worker, name="memer-download", daemon=True)
        for _ in range(max(1, min(settings.DOWNLOAD_WORKERS, len(lanes))) if lanes else 0)
    ]
    for thread in workers:
        thread.start()
    try:
        for thread in workers:
            while thread.is_alive():
                thread.join(0.1)  # a short join, so Ctrl-C reaches this thread at once
    except BaseException:
        cancel.set()
        transport.cancel_all(cancel)
        raise

    report = DownloadReport()
    for index, candidate in enumerate(items):
        result = outcome.get(index, "not attempted")
        if isinstance(result, Path):
            candidate.path = result
            report.ok.append(candidate)
        else:
            report.failed.append((candidate, result))
    return report
