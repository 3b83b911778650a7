"""Resumable HTTP downloads for the cache: the builder's source files and a published cache's parts.

A file streams into ``<name>.part`` and is renamed into place only when complete; a broken
connection or an interrupted run picks up where it stopped with an HTTP ``Range`` request.
Requests go through memer's one session (``memer.http``: User-Agent, timeouts, retries), and
redirects are followed here, each hop checked against the address policy (``memer.addresses``):
the address the user configured or typed is trusted, where it redirects to is not.
A full disk is said with its folder, and the partial file is deleted.
Progress goes to an optional ``progress(message, fraction)`` hook; nothing is printed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from memer import http, settings
from memer.addresses import RefusedAddress, check_url
from memer.errors import CacheError
from memer.progress import Progress
from memer.sockets import current_guard
from memer.sources.openimages.folder import disk_error
from memer.sources.openimages.store import sha256_file
from memer.text import human_size

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
CHUNK = 1 << 16  # a broken connection loses at most this much of a download
REPORT_BYTES = 1 << 20  # a download reports its progress about once per this many bytes
URL_HINT = "Check the URL settings (MEMER_NARRATIVES_URL, MEMER_OPENIMAGES_META_URL) and your connection."


def download_file(
    url: str,
    dest: str | Path,
    *,
    progress: Progress | None = None,
    session: Any = None,
    label: str | None = None,
    url_hint: str = URL_HINT,
    max_bytes: int | None = None,
) -> dict[str, Any]:
    """Stream ``url`` to ``dest``, resuming a partial ``.part`` file with a Range request.

    Returns the source record kept in the manifest (name, url, bytes, sha256). A finished
    file is not fetched again. A server that sends more than ``max_bytes`` is cut off and its
    partial file dropped.
    """
    import requests

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file():
        return _source_record(url, dest)
    part = dest.with_name(dest.name + ".part")
    session = session or http.get_session()  # memer's User-Agent, timeouts and retry policy
    # The session already retries 429 and 5xx answers (honouring Retry-After); this loop only
    # picks a broken or short transfer up again where it stopped.
    attempts = max(1, settings.HTTP_RETRIES + 1)
    last_error = ""
    for _ in range(attempts):
        last_error = ""
        have = part.stat().st_size if part.is_file() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with open_checked(session, url, headers=headers) as response:
                if response.status_code == 416 and have:  # the part file already holds everything
                    break
                if response.status_code not in (200, 206):
                    raise CacheError(f"Could not download {url} (HTTP {response.status_code}).", url_hint)
                if not _resumes_at(response, have):  # another range than asked for: ask for all of it
                    part.unlink(missing_ok=True)
                    last_error = "the server answered another byte range"
                    continue
                if response.status_code == 200:
                    have = 0  # the server ignored Range: start over
                length = response.headers.get("Content-Length")
                total = have + int(length) if length and length.isdigit() else None
                try:
                    with open(part, "ab" if have else "wb") as out:
                        reported = -REPORT_BYTES
                        for block in response.iter_content(CHUNK):
                            out.write(block)
                            have += len(block)
                            if max_bytes is not None and have > max_bytes:
                                out.close()
                                part.unlink(missing_ok=True)
                                raise CacheError(
                                    f"{url} sends more than the {human_size(max_bytes)} expected; the download was dropped.",
                                    url_hint,
                                )
                            if progress is not None and have - reported >= REPORT_BYTES:
                                reported = have
                                _report_download(progress, label or dest.name, have, total)
                        if progress is not None and reported != have:
                            _report_download(progress, label or dest.name, have, total)
                except OSError as err:  # a full disk: say where, and delete the partial file memer made
                    problem = disk_error(err, part.parent)
                    if problem is None:
                        raise
                    part.unlink(missing_ok=True)
                    raise problem from None
                if total is not None and part.stat().st_size != total:
                    last_error = f"got {part.stat().st_size} of {total} bytes"
                    continue
                break
        except RefusedAddress as err:  # a redirect to an address memer does not fetch: asking again will not help
            raise CacheError(f"Could not download {url} ({err}).", url_hint) from None
        except (requests.RequestException, http.FetchFailure) as err:
            last_error = http.describe_failure(err)
            continue
    if last_error:
        if part.is_file():
            raise CacheError(
                f"Could not download {url} ({last_error}); the partial file {part} is kept.",
                "Run the same command again to resume.",
            )
        raise CacheError(
            f"Could not download {url} ({last_error}).", "Check your connection and run the same command again."
        )
    if not part.is_file():
        raise CacheError(f"Could not download {url} (no data).", url_hint)
    part.rename(dest)
    return _source_record(url, dest)


def open_checked(
    session: Any, url: str, *, headers: dict[str, str] | None = None, timeout: Any = None, trusted: bool = True
) -> Any:
    """A streaming GET of ``url`` whose redirects are followed here, each hop under the address policy.

    ``trusted``: the first hop is an address the user configured or typed (it may be private);
    every later hop is checked like any outside address, and a refused one is never asked.
    Raises RefusedAddress, FetchFailure (too many redirects) or a requests exception.
    """
    current, hops = url, 0
    while True:
        clean, allow_private = check_url(current, trusted=trusted and hops == 0)
        guard = current_guard()
        if guard is not None:  # the connection's own check of the address it reached (DNS may change)
            guard.allow_private = allow_private
        response = session.get(
            clean, headers=headers, stream=True, allow_redirects=False, timeout=timeout or http.timeout()
        )
        location = response.headers.get("Location")
        if response.status_code not in REDIRECT_STATUSES or not location:
            return response
        response.close()
        hops += 1
        if hops > settings.MAX_REDIRECTS:
            raise http.FetchFailure(f"more than {settings.MAX_REDIRECTS} redirects")
        current = urljoin(response.url, location)


def _resumes_at(response: Any, have: int) -> bool:
    """True when a 206 answer starts where the partial file ends (``Content-Range: bytes START-...``)."""
    if response.status_code != 206:
        return True
    found = re.match(r"\s*bytes\s+(\d+)-", response.headers.get("Content-Range", ""))
    return found is None or int(found.group(1)) == have


def _report_download(progress: Progress, name: str, have: int, total: int | None) -> None:
    if total:
        progress(f"Downloading {name} ({human_size(have)} of {human_size(total)})", min(1.0, have / total))
    else:
        progress(f"Downloading {name} ({human_size(have)})", None)


def _source_record(url: str, path: Path) -> dict[str, Any]:
    return {"name": path.name, "url": url, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
