"""Every default memer uses, in one place.

Each constant can be overridden by an environment variable of the same name
with a ``MEMER_`` prefix (``OUTPUT_SIZE`` -> ``MEMER_OUTPUT_SIZE``). Values are
read once, at import; code reads ``settings.NAME`` at call time (never
``from memer.settings import NAME``) so tests can monkeypatch a setting.
"""

from __future__ import annotations

import os
from pathlib import Path

PREFIX = "MEMER_"


def _str(name: str, default: str) -> str:
    return os.environ.get(PREFIX + name, default)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{PREFIX}{name}={raw!r} is not a whole number") from None


def _float(name: str, default: float) -> float:
    raw = os.environ.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{PREFIX}{name}={raw!r} is not a number") from None


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{PREFIX}{name}={raw!r} is not a yes/no value (use 1 or 0)")


def _list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(PREFIX + name)
    if raw is None:
        return list(default)
    return [part.strip() for part in raw.split(",") if part.strip()]


def _path(name: str, default: Path) -> Path:
    raw = os.environ.get(PREFIX + name)
    return Path(raw).expanduser() if raw else default


# --- where things live -------------------------------------------------------
PACKAGE_DIR = Path(__file__).resolve().parent
USER_CACHE = _path("USER_CACHE", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "memer")
# Downloaded images, keyed by URL, so a repeated search downloads nothing.
DOWNLOAD_DIR = _path("DOWNLOAD_DIR", USER_CACHE / "images")
# The Open Images CLIP embedding cache (see cache/README.md).
CACHE_DIR = _path("CACHE_DIR", Path("cache") / "openimages")

# --- HTTP (memer/http.py) ------------------------------------------------------
# Wikimedia asks for a descriptive User-Agent with contact information.
PROJECT_URL = _str("PROJECT_URL", "https://github.com/memer-ai/memer")
CONTACT = _str("CONTACT", "memer-maintainers@users.noreply.github.com")
USER_AGENT = _str("USER_AGENT", "")  # empty: memer/<version> (<PROJECT_URL>; <CONTACT>) requests/<version>
CONNECT_TIMEOUT = _float("CONNECT_TIMEOUT", 5.0)
READ_TIMEOUT = _float("READ_TIMEOUT", 20.0)
HTTP_RETRIES = _int("HTTP_RETRIES", 3)
RETRY_AFTER_MAX = _float("RETRY_AFTER_MAX", 30.0)  # seconds; a longer Retry-After is capped
MAX_DOWNLOAD_BYTES = _int("MAX_DOWNLOAD_BYTES", 25 * 1024 * 1024)
DOWNLOAD_WORKERS = _int("DOWNLOAD_WORKERS", 8)
PER_HOST_LIMIT = _int("PER_HOST_LIMIT", 8)
# Wikimedia asks for at most 2 concurrent requests to its media servers.
WIKIMEDIA_UPLOAD_HOST = _str("WIKIMEDIA_UPLOAD_HOST", "upload.wikimedia.org")
WIKIMEDIA_UPLOAD_LIMIT = _int("WIKIMEDIA_UPLOAD_LIMIT", 2)

# --- Wikimedia sources (memer/sources/commons.py) -----------------------------
COMMONS_API = _str("COMMONS_API", "https://commons.wikimedia.org/w/api.php")
WIKIPEDIA_API = _str("WIKIPEDIA_API", "https://en.wikipedia.org/w/api.php")
# One of Wikimedia's standard thumbnail widths (250, 330, 500, 960, 1280, 1920 ...).
THUMB_WIDTH = _int("THUMB_WIDTH", 960)
COMMONS_LIMIT = _int("COMMONS_LIMIT", 20)
WIKIPEDIA_ARTICLES = _int("WIKIPEDIA_ARTICLES", 3)
WIKIPEDIA_LIMIT = _int("WIKIPEDIA_LIMIT", 20)
MAXLAG = _int("MAXLAG", 5)
MIN_IMAGE_SIDE = _int("MIN_IMAGE_SIDE", 200)  # smaller files are icons, not backgrounds
ALLOW_NONFREE = _bool("ALLOW_NONFREE", False)

# --- Open Images (memer/cache.py, memer/sources/openimages.py) ----------------
OPENIMAGES_URL = _str("OPENIMAGES_URL", "https://open-images-dataset.s3.amazonaws.com")
OPENIMAGES_LIMIT = _int("OPENIMAGES_LIMIT", 20)
NARRATIVES_URL = _str("NARRATIVES_URL", "https://storage.googleapis.com/localized-narratives/annotations")
OPENIMAGES_META_URL = _str("OPENIMAGES_META_URL", "https://storage.googleapis.com/openimages/2018_04")
# Where `memer cache build` keeps the downloaded narratives and metadata CSVs (~1 GB; resumable).
CACHE_DOWNLOAD_DIR = _path("CACHE_DOWNLOAD_DIR", USER_CACHE / "openimages-sources")

# --- which sources a search asks ---------------------------------------------
SOURCES = _list("SOURCES", ["commons", "wikipedia", "openimages"])

# --- CLIP (memer/clip.py) -----------------------------------------------------
CLIP_MODEL = _str("CLIP_MODEL", "ViT-B-32")
CLIP_PRETRAINED = _str("CLIP_PRETRAINED", "openai")  # matches the Open Images cache
CLIP_BATCH_SIZE = _int("CLIP_BATCH_SIZE", 32)
QUERY_PROMPT = _str("QUERY_PROMPT", "an image of {query}")
TOP_K = _int("TOP_K", 10)
DEDUPE_THRESHOLD = _float("DEDUPE_THRESHOLD", 0.95)
DEVICE = _str("DEVICE", "")  # empty: cuda when available, else cpu

# --- captions (memer/captions/) -----------------------------------------------
CAPTION_ENGINE = _str("CAPTION_ENGINE", "")  # empty: openai when a key is found, else local
N_CAPTIONS = _int("N_CAPTIONS", 10)
CAPTION_STYLE = _str("CAPTION_STYLE", "funny")
OPENAI_MODEL = _str("OPENAI_MODEL", "gpt-4.1-mini")
OPENAI_VISION = _bool("OPENAI_VISION", True)
OPENAI_TIMEOUT = _float("OPENAI_TIMEOUT", 60.0)
OPENAI_MAX_RETRIES = _int("OPENAI_MAX_RETRIES", 2)
MODERATION_MODEL = _str("MODERATION_MODEL", "omni-moderation-latest")
SENSITIVE_THRESHOLD = _float("SENSITIVE_THRESHOLD", 0.3)  # any category score at or above -> level 1
CAPTION_MODEL = _str("CAPTION_MODEL", "Qwen/Qwen2.5-1.5B-Instruct")
TEMPERATURE = _float("TEMPERATURE", 0.7)
TOP_P = _float("TOP_P", 0.95)
MAX_NEW_TOKENS = _int("MAX_NEW_TOKENS", 40)

# --- rendering (memer/render.py) ----------------------------------------------
OUTPUT_SIZE = _int("OUTPUT_SIZE", 1024)  # longest side of the meme, in pixels
MAX_LINES = _int("MAX_LINES", 3)
MARGIN = _float("MARGIN", 0.04)  # of the image width, each side
BLOCK_HEIGHT = _float("BLOCK_HEIGHT", 0.33)  # of the image height, per text block
MIN_FONT_SIZE = _int("MIN_FONT_SIZE", 10)
OUTLINE = _float("OUTLINE", 0.08)  # outline width as a fraction of the font size
# Bundled fonts: inside the package when installed from a wheel, the repo's fonts/ in a checkout.
FONT_DIR = _path("FONT_DIR", next((d for d in (PACKAGE_DIR / "fonts", PACKAGE_DIR.parent / "fonts") if d.is_dir()), PACKAGE_DIR / "fonts"))
FONT = _path("FONT", Path(""))  # empty: FONT_DIR / "Anton-Regular.ttf"
ATTRIBUTION_STRIP = _bool("ATTRIBUTION_STRIP", False)

# --- safe image loading (memer/images.py) -------------------------------------
MAX_IMAGE_PIXELS = _int("MAX_IMAGE_PIXELS", 64_000_000)
MAX_IMAGE_BYTES = _int("MAX_IMAGE_BYTES", 50 * 1024 * 1024)
