"""The notebook's set-up choice for the Open Images cache: what is there, and how to get it.

The app shows ``cache_status()`` as one calm line and offers what it allows: download a
published copy (when a URL is set), build now (quick: the validation and test splits, or
full) with an estimate measured on this machine by ``estimate_build`` (a short warm-up of
the real text encoder on this device, not a guess), or skip. On Colab the cache can live on
Google Drive (``use_drive``, ``copy_to_drive``) so the next session finds it there.
Every function here returns a dataclass and reports through a progress hook; nothing prints.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memer import settings
from memer.errors import CacheError, MemerError
from memer.progress import Progress
from memer.setup import in_colab
from memer.sources.openimages.build import QUICK_SPLITS, SPLIT_CAPTIONS, SPLITS, BuildReport, build_batch_size
from memer.sources.openimages.download import CacheDownload
from memer.sources.openimages.folder import MARKER, check_replaceable, recover_if_free, swap_into_place, write_marker
from memer.sources.openimages.store import MANIFEST, EmbeddingCache
from memer.text import human_size

BUILDS = {"quick": QUICK_SPLITS, "full": SPLITS}
# A Localized Narratives caption of typical length (they average a few dozen words), for the warm-up.
WARMUP_CAPTION = (
    "In this image we can see a brown dog running on the grass towards a red ball. In the background we "
    "can see a wooden fence, a few trees, a house with a window and the sky with clouds."
)
DRIVE_MOUNT_POINT = "/content/drive"


@dataclass
class CacheStatus:
    """Where the cache stands, for the set-up's one line and its choices."""

    ready: bool  # a cache opens and fits the CLIP model memer uses
    directory: Path
    line: str  # one calm sentence for the app
    rows: int = 0
    model: str = ""
    pretrained: str = ""
    size_bytes: int = 0
    download_url: str = ""  # MEMER_CACHE_URL; empty: no published copy to offer
    on_colab: bool = False
    drive_mounted: bool = False
    drive_dir: Path | None = None
    drive_has_cache: bool = False  # a cache is on Drive (use_drive() switches to it)
    choices: list[str] = field(default_factory=list)  # of "download", "build-quick", "build-full", "skip", "drive"


@dataclass
class BuildEstimate:
    """How long a build would take here, from a measured warm-up of the text encoder on this device."""

    kind: str  # "quick" or "full"
    splits: list[str]
    captions: int  # narrated images in those splits (published counts)
    device: str
    batch_size: int
    captions_per_second: float  # measured
    warmup_captions: int
    warmup_seconds: float
    encode_seconds: float  # captions / measured rate
    line: str  # one sentence for the app


def drive_mounted() -> bool:
    """True when Google Drive is mounted (Colab's ``drive.mount`` shows it as MEMER_DRIVE_ROOT)."""
    return Path(settings.DRIVE_ROOT).is_dir()


def _opens(directory: Path) -> EmbeddingCache | None:
    if not (directory / MANIFEST).is_file() and not recover_if_free(directory):  # a crashed swap's cache, put back
        return None
    try:
        return EmbeddingCache.open(directory)
    except MemerError:
        return None


def cache_status() -> CacheStatus:
    """The cache memer would search now, whether it fits the CLIP model, and what the user can do."""
    directory = Path(settings.cache_dir())
    colab, mounted = in_colab(), drive_mounted()
    drive_dir = settings.drive_cache_dir()
    on_drive = mounted and directory.resolve() != drive_dir.resolve() and _opens(drive_dir) is not None
    status = CacheStatus(
        False, directory, "", download_url=settings.CACHE_URL.strip(), on_colab=colab, drive_mounted=mounted
    )
    status.drive_dir, status.drive_has_cache = drive_dir, on_drive
    cache = _opens(directory)
    if cache is not None:
        status.rows, status.model, status.pretrained = len(cache), cache.model, cache.pretrained
        status.size_bytes = sum(p.stat().st_size for p in directory.iterdir() if p.is_file())
        cache.close()
        model, pretrained = settings.CLIP_MODEL, settings.CLIP_PRETRAINED or ""
        if (status.model, status.pretrained) == (model, pretrained):
            status.ready = True
            status.line = f"Open Images: {status.rows:,} pictures ready ({human_size(status.size_bytes)}, {directory})."
        else:
            status.line = (
                f"Open Images: the cache in {directory} is for CLIP {status.model} ({status.pretrained or 'no tag'}), "
                f"not {model} ({pretrained or 'no tag'}); get one for this model, or skip."
            )
    elif on_drive:
        status.line = f"Open Images: a cache is on your Google Drive ({drive_dir}); use it, or skip."
    else:
        status.line = "Open Images is not set up yet: the other sources work without it."
    if not status.ready:
        status.choices = (["drive"] if on_drive else []) + (["download"] if status.download_url else [])
        status.choices += ["build-quick", "build-full", "skip"]
    return status


def _load_encoder(progress: Progress | None) -> Any:
    from memer.clip import load_clip

    return load_clip(progress=progress)


def measure_encoder(
    encoder: Any, seconds: float | None = None, max_batch: int | None = None
) -> tuple[float, int, float]:
    """(captions/s, captions timed, seconds timed) of ``encoder`` on real-length captions.

    Batches double from 8 up to the build's batch size until one takes a quarter of the budget,
    so a GPU is measured at the batch size it will build with and a slow CPU is not kept long;
    the first batch (lazy start-up, kernel choice) is not counted.
    """
    budget = settings.CACHE_WARMUP_SECONDS if seconds is None else seconds
    limit = max_batch or build_batch_size(str(getattr(encoder, "device", "cpu")))
    size = min(8, limit)
    encoder.encode_text(_captions(size), batch_size=size)  # warm-up, not counted
    timed, spent = 0, 0.0
    while True:
        captions = _captions(size)
        started = time.perf_counter()
        encoder.encode_text(captions, batch_size=size)
        took = time.perf_counter() - started
        if size < limit and took < budget / 4:
            size = min(limit, size * 2)  # too short to trust, and the build uses bigger batches
            continue
        timed, spent = timed + size, spent + took
        if spent >= budget / 2 or (size >= limit and spent > 0):
            break
    return timed / max(spent, 1e-9), timed, spent


def _captions(count: int) -> list[str]:
    words = WARMUP_CAPTION.split()
    return [" ".join(words[i % 7 :] + words[: i % 7]) + f" {i}" for i in range(count)]


def _duration(seconds: float) -> str:
    if seconds >= 5400:
        return f"about {seconds / 3600:.1f} hours"
    if seconds >= 90:
        return f"about {seconds / 60:.0f} minutes"
    return f"about {max(1, round(seconds))} seconds"


def estimate_build(kind: str = "quick", *, encoder: Any = None, progress: Progress | None = None) -> BuildEstimate:
    """Time a short warm-up of the text encoder here and project the ``kind`` build from it."""
    if kind not in BUILDS:
        raise CacheError(f"Unknown build {kind!r}; choose quick or full.")
    encoder = encoder if encoder is not None else _load_encoder(progress)
    device = str(getattr(encoder, "device", "cpu"))
    if progress is not None:
        progress(f"Measuring the text encoder on {device}", None)
    rate, timed, spent = measure_encoder(encoder)
    splits = list(BUILDS[kind])
    captions = sum(SPLIT_CAPTIONS[s] for s in splits)
    seconds = captions / rate
    where = "the GPU" if device.startswith("cuda") else "the CPU"
    line = (
        f"{kind.capitalize()} build ({', '.join(splits)}: {captions:,} captions): encoding takes {_duration(seconds)} "
        f"on {where} (measured: {rate:,.0f} captions/s); downloads and indexing come on top."
    )
    if progress is not None:
        progress(line, 1.0)
    return BuildEstimate(kind, splits, captions, device, build_batch_size(device), rate, timed, spent, seconds, line)


def run_download(url: str | None = None, *, progress: Progress | None = None) -> CacheDownload:
    """The "download" choice: ``memer cache download`` into the configured cache folder."""
    from memer.sources.openimages.download import download_cache

    return download_cache(url, progress=progress)


def run_build(kind: str = "quick", *, encoder: Any = None, progress: Progress | None = None) -> BuildReport:
    """The "build now" choice: the quick or full build into the configured cache folder."""
    from memer.sources.openimages.build import build_cache

    if kind not in BUILDS:
        raise CacheError(f"Unknown build {kind!r}; choose quick or full.")
    encoder = encoder if encoder is not None else _load_encoder(progress)
    return build_cache(list(BUILDS[kind]), encoder=encoder, progress=progress)


def mount_drive() -> bool:
    """Ask Colab to mount Google Drive (it shows its own consent prompt); False outside Colab."""
    if not in_colab():
        return False
    from google.colab import drive

    drive.mount(DRIVE_MOUNT_POINT)
    return drive_mounted()


def use_drive() -> Path:
    """Point this session's cache at the Drive folder (MEMER_CACHE_DIR), so builds and downloads land there."""
    if not drive_mounted():
        raise CacheError(
            f"Google Drive is not mounted ({settings.DRIVE_ROOT} is missing).",
            "Mount it first (in Colab: the Drive button, or google.colab.drive.mount('/content/drive')).",
        )
    target = settings.drive_cache_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    settings.CACHE_DIR = target
    os.environ[settings.PREFIX + "CACHE_DIR"] = str(target)  # for memer commands run from the notebook
    return target


def copy_to_drive(*, progress: Progress | None = None) -> Path:
    """Copy the ready local cache to Drive (atomically: a folder beside it, renamed) and use it from there."""
    source = Path(settings.cache_dir())
    cache = _opens(source)
    if cache is None:
        raise CacheError(
            f"There is no cache in {source} to copy.", "Download or build one first.", code="cache.missing"
        )
    cache.close()
    target = settings.drive_cache_dir()
    if source.resolve() == target.resolve():
        return target
    if not drive_mounted():
        raise CacheError(f"Google Drive is not mounted ({settings.DRIVE_ROOT} is missing).", "Mount it first.")
    check_replaceable(target)  # a Drive folder that is not memer's cache is never replaced
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.copy-{os.getpid()}-{time.time_ns()}"
    tmp.mkdir()
    write_marker(tmp)
    files = sorted(p for p in source.iterdir() if p.is_file() and p.name != MARKER)
    total = sum(p.stat().st_size for p in files) or 1
    done = 0
    try:
        for path in files:
            if progress is not None:
                progress(f"Copying {path.name} to Google Drive", done / total)
            shutil.copyfile(path, tmp / path.name)
            done += path.stat().st_size
        EmbeddingCache.open(tmp).close()
        swap_into_place(tmp, target, progress=progress)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if progress is not None:
        progress("Copied the cache to Google Drive", 1.0)
    use_drive()
    return target
