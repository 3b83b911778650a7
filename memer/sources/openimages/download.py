"""Fetch a published cache (``memer cache download [URL]``) from any static host, safely.

A published copy is the folder ``memer cache build`` writes, uploaded as it is: a Hugging Face
dataset repo's ``.../resolve/main`` URL, a release, a bucket. The manifest comes first and is
checked (format version, CLIP model and tag, a size and sha256 for every part); then each part
streams into a staging folder beside the cache, resuming with HTTP Range after a broken
connection, and is checked against the manifest. Only when every part checks out, and the
staged folder opens as a cache, is it renamed over the old one: a tampered or mismatched part
is refused, and the old cache stays as it was.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memer import http, settings
from memer.addresses import RefusedAddress
from memer.errors import CacheError
from memer.progress import Progress
from memer.sources.openimages.folder import (
    MAX_MANIFEST_BYTES,
    check_replaceable,
    foreign_entries,
    recover,
    swap_into_place,
    write_marker,
    writer_lock,
)
from memer.sources.openimages.store import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    PARTS,
    EmbeddingCache,
    sha256_file,
)
from memer.sources.openimages.transfer import download_file, open_checked
from memer.transport import Guard, read_body

NO_URL_HINT = (
    "Give the URL of a published copy (memer cache download URL) or set MEMER_CACHE_URL; "
    "none is published yet (see cache/README.md), so build one with `memer cache build`."
)
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class CacheDownload:
    """What ``download_cache`` did: where the cache is now, its rows, and the bytes fetched."""

    directory: Path
    url: str
    rows: int
    model: str
    pretrained: str
    downloaded_bytes: int = 0
    reused: list[str] = field(default_factory=list)  # parts already staged by an earlier, broken run


def staging_dir(directory: str | Path) -> Path:
    """Where a download is staged: beside the cache (same file system, so the swap is a rename)."""
    directory = Path(directory)
    return directory.parent / f".{directory.name}.download"


def fetch_manifest(url: str) -> tuple[dict[str, Any], bytes]:
    """The published manifest (parsed, and its exact bytes), refused unless it is a usable one.

    The whole fetch (redirects checked hop by hop, retries, a trickling body) has one deadline,
    settings.API_DEADLINE, like an API answer; the JSON goes through the API answers' depth cap.
    """
    import requests

    target = f"{url.rstrip('/')}/{MANIFEST}"
    hint = "Check your connection and MEMER_CACHE_URL, then run the same command again."
    guard = Guard(settings.API_DEADLINE)
    try:
        with guard:
            limits = (min(settings.CONNECT_TIMEOUT, guard.remaining()), min(settings.READ_TIMEOUT, guard.remaining()))
            with open_checked(http.get_session(), target, timeout=limits) as response:
                if response.status_code != 200:
                    raise CacheError(
                        f"Could not fetch the cache manifest {target} (HTTP {response.status_code}).",
                        "Check MEMER_CACHE_URL (the folder holding manifest.json and the parts).",
                    )
                too_large = "larger than a cache manifest can be"
                body = read_body(response, guard, MAX_MANIFEST_BYTES, too_large=too_large)
    except http.TooLarge:
        raise CacheError(f"{target} is larger than a cache manifest can be; it was refused.", hint) from None
    except (RefusedAddress, http.FetchFailure, requests.RequestException, OSError, http.urllib3_errors()) as err:
        reason = f"took longer than {settings.API_DEADLINE:g} s" if guard.expired else http.describe_failure(err)
        raise CacheError(f"Could not fetch the cache manifest {target} ({reason}).", hint) from None
    try:
        manifest = http.parse_json(body)
    except ValueError as err:
        what = str(err) if "nested deeper" in str(err) else "is not a JSON cache manifest"
        raise CacheError(f"{target} {what}.", "Check MEMER_CACHE_URL.") from None
    return manifest, body


def check_manifest(manifest: Any, model: str, pretrained: str) -> dict[str, dict[str, Any]]:
    """The parts to fetch ({name: {bytes, sha256}}), after checking the manifest fits this memer."""
    if not isinstance(manifest, dict):
        raise CacheError("The published manifest is not a JSON object; it is not a memer cache.")
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise CacheError(
            f"The published cache is format {manifest.get('format')!r} v{manifest.get('format_version')!r}; "
            f"this memer reads {FORMAT!r} v{FORMAT_VERSION}.",
            "Update memer, or use a cache published for this version.",
        )
    theirs = (manifest.get("model"), manifest.get("pretrained") or "")
    if theirs != (model, pretrained or ""):
        raise CacheError(
            f"The published cache was built with CLIP {theirs[0]} ({theirs[1] or 'no tag'}), "
            f"but memer uses {model} ({pretrained or 'no tag'}); their vectors do not compare.",
            f"Set MEMER_CLIP_MODEL={theirs[0]} MEMER_CLIP_PRETRAINED={theirs[1]} to use it, "
            "or download a cache built for your model.",
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(PARTS):
        raise CacheError(f"The published manifest must list exactly the parts {', '.join(PARTS)}.")
    parts = {}
    for name in PARTS:
        info = files[name]
        size = info.get("bytes") if isinstance(info, dict) else None
        digest = info.get("sha256") if isinstance(info, dict) else None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise CacheError(f"The published manifest gives no usable size for {name}.")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise CacheError(f"The published manifest gives no usable sha256 for {name}.")
        parts[name] = {"bytes": size, "sha256": digest}
    for key in ("rows", "dim"):
        if not isinstance(manifest.get(key), int) or manifest[key] <= 0:
            raise CacheError(f"The published manifest has no usable {key!r}.")
    return parts


def _part_ok(path: Path, expected: dict[str, Any]) -> bool:
    return path.is_file() and path.stat().st_size == expected["bytes"] and sha256_file(path) == expected["sha256"]


def download_cache(
    url: str | None = None,
    directory: str | Path | None = None,
    *,
    model: str | None = None,
    pretrained: str | None = None,
    progress: Progress | None = None,
) -> CacheDownload:
    """Download the published cache at ``url`` (default ``MEMER_CACHE_URL``) into ``directory``."""
    url = (url if url is not None else settings.CACHE_URL).strip()
    if not url:
        raise CacheError("No cache URL is set.", NO_URL_HINT, code="cache.no_url", fix="MEMER_CACHE_URL")
    if not url.startswith(("https://", "http://")):
        raise CacheError(
            f"The cache URL {url!r} is not an http(s) address.",
            "Give the folder's https:// URL.",
            code="cache.no_url",
            fix="MEMER_CACHE_URL",
        )
    model = settings.CLIP_MODEL if model is None else model
    pretrained = settings.CLIP_PRETRAINED if pretrained is None else pretrained
    directory = Path(directory if directory is not None else settings.cache_dir())
    check_replaceable(directory)  # before anything is fetched: never a download for a folder memer may not use
    with writer_lock(directory, wait=False):  # a second download into this folder names the first
        recover(directory)
        return _download(url, directory, model, pretrained or "", progress)


def _prepare_staging(staging: Path, manifest_bytes: bytes) -> None:
    """The staging folder, memer's (marked), holding only parts staged for this very manifest."""
    if staging.exists() and (staging.is_symlink() or not staging.is_dir() or foreign_entries(staging)):
        raise CacheError(
            f"{staging} holds files memer did not write; memer stages downloads there and will not touch them.",
            "Move that folder away, then run the same command again.",
        )
    staging.mkdir(parents=True, exist_ok=True)
    write_marker(staging)
    old_manifest = staging / MANIFEST
    if old_manifest.is_file() and old_manifest.read_bytes() != manifest_bytes:
        for name in PARTS:  # staged for another published copy: nothing there can be reused
            (staging / name).unlink(missing_ok=True)
            (staging / f"{name}.part").unlink(missing_ok=True)
    old_manifest.write_bytes(manifest_bytes)


def _download(url: str, directory: Path, model: str, pretrained: str, progress: Progress | None) -> CacheDownload:
    if progress is not None:
        progress("Fetching the cache manifest", None)
    manifest, manifest_bytes = fetch_manifest(url)
    parts = check_manifest(manifest, model, pretrained)
    staging = staging_dir(directory)
    _prepare_staging(staging, manifest_bytes)
    report = CacheDownload(directory, url, int(manifest["rows"]), model, pretrained)
    session = http.get_session()
    total = sum(info["bytes"] for info in parts.values()) or 1
    done = 0
    for number, name in enumerate(PARTS, 1):
        expected = parts[name]
        path = staging / name
        if path.is_file() and _part_ok(path, expected):
            report.reused.append(name)
        else:
            path.unlink(missing_ok=True)
            have = (staging / f"{name}.part").stat().st_size if (staging / f"{name}.part").is_file() else 0

            def overall(
                message: str,
                fraction: float | None,
                _done: int = done,
                _size: int = expected["bytes"],
                _n: int = number,
            ) -> None:
                if progress is not None:
                    part_fraction = 0.0 if fraction is None else fraction
                    progress(f"{message} [part {_n}/{len(PARTS)}]", (_done + part_fraction * _size) / total)

            download_file(
                f"{url.rstrip('/')}/{name}",
                path,
                progress=overall,
                session=session,
                label=name,
                url_hint="Check MEMER_CACHE_URL and your connection.",
                max_bytes=expected["bytes"],
            )
            report.downloaded_bytes += path.stat().st_size - have
            if not _part_ok(path, expected):
                what = "size" if path.stat().st_size != expected["bytes"] else "sha256"
                path.unlink(missing_ok=True)
                raise CacheError(
                    f"The downloaded {name} does not match the published manifest ({what} differs): it is corrupt "
                    f"or was tampered with, so it was refused; the cache in {directory} was not changed.",
                    "Run the same command again; if it happens again, the published copy is broken: tell its maintainers.",
                )
        done += expected["bytes"]
    if progress is not None:
        progress("Checking the downloaded cache", 1.0)
    _check_staged(staging, directory, url)
    swap_into_place(staging, directory, progress=progress)
    return report


def _check_staged(staging: Path, directory: Path, url: str) -> None:
    """Open and check every part before anything is replaced; a cache that fails is deleted, the old one stays."""
    try:
        cache = EmbeddingCache.open(staging)  # headers, shapes, dtypes, sizes, schema and row counts
        try:
            health = cache.verify(checksums=False)  # index values, norms, metadata fields (bounded queries)
        finally:
            cache.close()
        if not health.ok:
            raise CacheError(f"The Open Images cache in {staging} is unusable: {'; '.join(health.problems)}.")
    except CacheError as err:
        shutil.rmtree(staging, ignore_errors=True)  # memer's staging folder: the parts are no use to anyone
        reason = err.message.removeprefix(f"The Open Images cache in {staging} is unusable: ").rstrip(".")
        raise CacheError(
            f"The published cache matches its manifest but is unusable: {reason}. Nothing was installed; "
            f"the cache in {directory} was not changed.",
            f"Tell the maintainers of {url}; the cache you had keeps working.",
        ) from None
