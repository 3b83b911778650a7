"""Every setting memer has, in one place, grouped by the pipeline step that uses it.

Each ``NAME = _kind("NAME", default, "help")`` line declares a setting once: its
default, its one line of help and its step (the ``_step`` above it). It can be
overridden by the environment variable ``MEMER_NAME``. Values are read once, at
import; code reads ``settings.NAME`` at call time (never ``from memer.settings
import NAME``) so tests can monkeypatch a setting. ``SETTINGS`` is the table the
declarations fill: ``memer config`` and docs/configuration.md are made from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import overload

from memer.errors import ConfigError

PREFIX = "MEMER_"


@dataclass(frozen=True)
class Setting:
    """One setting as a person sees it: where it is set, its default, what it does, which step uses it."""

    name: str  # the module attribute; "" for a variable memer reads but does not keep (OPENAI_API_KEY)
    env: str  # the environment variable that sets it
    default: object
    kind: str  # text, whole number, number, yes/no, list, path
    help: str
    step: str
    shown: str = ""  # the default in words, when the value itself is derived or differs per machine
    secret: bool = False  # never shown, only whether it is set

    def in_environment(self) -> bool:
        """Whether the environment sets it now, by the same rule its reader applies."""
        raw = os.environ.get(self.env)
        if raw is None:
            return False
        return self.kind in ("text", "list") or raw.strip() != ""


SETTINGS: dict[str, Setting] = {}  # by environment variable, in declaration order
STEPS: list[str] = []  # the steps, in the order the table lists them


def _step(title: str) -> None:
    STEPS.append(title)


def _declare(name: str, default: object, kind: str, help: str, shown: str) -> str | None:
    env = PREFIX + name
    if env in SETTINGS:
        raise RuntimeError(f"the setting {name} is declared twice")
    SETTINGS[env] = Setting(name, env, default, kind, help, STEPS[-1], shown)
    return os.environ.get(env)


def _outside(env: str, help: str, *, secret: bool = False) -> None:
    """A variable memer (or a library it drives) reads itself at call time; listed so `memer config` shows it."""
    SETTINGS[env] = Setting("", env, "", "text", help, STEPS[-1], "(unset)", secret)


def _str(name: str, default: str, help: str, shown: str = "") -> str:
    raw = _declare(name, default, "text", help, shown)
    return default if raw is None else raw


def _number(name: str, default: float, cast: type, what: str, help: str):
    raw = _declare(name, default, "whole number" if cast is int else "number", help, "")
    if raw is None or raw.strip() == "":
        return default
    try:
        return cast(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name}={raw!r} is not {what}.", f"Unset {PREFIX}{name} or give {what}.") from None


def _int(name: str, default: int, help: str) -> int:
    return _number(name, default, int, "a whole number", help)


def _float(name: str, default: float, help: str) -> float:
    return _number(name, default, float, "a number", help)


def _bool(name: str, default: bool, help: str) -> bool:
    raw = _declare(name, default, "yes/no", help, "")
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{PREFIX}{name}={raw!r} is not a yes/no value.", f"Unset {PREFIX}{name} or give 1 or 0.")


def _list(name: str, default: list[str], help: str) -> list[str]:
    raw = _declare(name, list(default), "list", help, "")
    if raw is None:
        return list(default)
    return [part.strip() for part in raw.split(",") if part.strip()]


@overload
def _path(name: str, default: Path, help: str, shown: str = "") -> Path: ...
@overload
def _path(name: str, default: None, help: str, shown: str = "") -> Path | None: ...
def _path(name: str, default: Path | None, help: str, shown: str = "") -> Path | None:
    raw = _declare(name, default, "path", help, shown)
    return Path(raw).expanduser() if raw else default


PACKAGE_DIR = Path(__file__).resolve().parent

# --- search and sources (memer/pipeline.py, memer/sources/) -----------------------------
_step("Search and sources")
SOURCES = _list("SOURCES", ["commons", "wikipedia", "openimages"], "which sources a search asks (or generated)")
COMMONS_API = _str("COMMONS_API", "https://commons.wikimedia.org/w/api.php", "Commons' MediaWiki API")
WIKIPEDIA_API = _str("WIKIPEDIA_API", "https://en.wikipedia.org/w/api.php", "Wikipedia's MediaWiki API")
# One of Wikimedia's standard thumbnail widths (250, 330, 500, 960, 1280, 1920 ...).
THUMB_WIDTH = _int("THUMB_WIDTH", 960, "thumbnail width asked of the API (a standard Wikimedia width)")
COMMONS_LIMIT = _int("COMMONS_LIMIT", 20, "Commons files per search (API maximum 50)")
COMMONS_MIN_WIDTH = _int("COMMONS_MIN_WIDTH", 500, "Commons searches ask for files at least this wide (0: any)")
WIKIPEDIA_ARTICLES = _int("WIKIPEDIA_ARTICLES", 3, "Wikipedia articles whose images are used")
WIKIPEDIA_LIMIT = _int("WIKIPEDIA_LIMIT", 20, "Wikipedia images per search")
MIN_IMAGE_SIDE = _int("MIN_IMAGE_SIDE", 200, "smaller Wikipedia images count as icons and are left out")
MAX_ASPECT_RATIO = _float("MAX_ASPECT_RATIO", 3.0, "longer side over shorter side; more extreme files are left out")
ALLOW_NONFREE = _bool("ALLOW_NONFREE", False, "also keep non-free and fair-use files")
MAXLAG = _int("MAXLAG", 5, "maxlag sent to MediaWiki")
MAXLAG_RETRIES = _int("MAXLAG_RETRIES", 3, "how often a lagged API is asked again before giving up")
API_MAX_REQUESTS = _int("API_MAX_REQUESTS", 5, "continuation requests per search, at most")
MAX_TITLE_CHARS = _int("MAX_TITLE_CHARS", 200, "characters of a picture's title kept from a source (cut with …)")
MAX_AUTHOR_CHARS = _int("MAX_AUTHOR_CHARS", 300, "characters of its author kept")
MAX_DESCRIPTION_CHARS = _int("MAX_DESCRIPTION_CHARS", 1000, "characters of its description kept")
MAX_MARKUP_CHARS = _int("MAX_MARKUP_CHARS", 20_000, "characters of HTML read per field before it becomes text")
OPENIMAGES_URL = _str(
    "OPENIMAGES_URL", "https://open-images-dataset.s3.amazonaws.com", "where the Open Images photos are"
)
OPENIMAGES_LIMIT = _int("OPENIMAGES_LIMIT", 20, "Open Images cache hits per search")

# --- network: requests, downloads, the address policy (memer/http.py, transport.py, addresses.py, hub.py) ---
_step("Network")
USER_CACHE = _path(
    "USER_CACHE",
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "memer",
    "memer's own cache folder; the folders derived from it follow it unless set themselves",
    shown="~/.cache/memer ($XDG_CACHE_HOME/memer)",
)
DOWNLOAD_DIR = _path(
    "DOWNLOAD_DIR", None, "downloads, keyed by URL, so a repeated search downloads nothing", "$MEMER_USER_CACHE/images"
)
# Wikimedia asks for a descriptive User-Agent with contact information.
PROJECT_URL = _str("PROJECT_URL", "https://github.com/memer-ai/memer", "project URL in the User-Agent")
CONTACT = _str("CONTACT", "memer-maintainers@users.noreply.github.com", "contact in the User-Agent")
USER_AGENT = _str(
    "USER_AGENT", "", "User-Agent sent to every host", "memer/<version> (<PROJECT_URL>; <CONTACT>) requests/<version>"
)
CONNECT_TIMEOUT = _float("CONNECT_TIMEOUT", 5.0, "seconds to connect (and to look up a host name)")
READ_TIMEOUT = _float("READ_TIMEOUT", 20.0, "seconds to wait for each read")
API_DEADLINE = _float("API_DEADLINE", 30.0, "seconds one whole API call may take: connect, headers, body, retry waits")
DOWNLOAD_DEADLINE = _float("DOWNLOAD_DEADLINE", 60.0, "seconds one whole image download may take")
HTTP_RETRIES = _int("HTTP_RETRIES", 3, "retries for connection errors, 429 and 5xx")
HTTP_BACKOFF = _float("HTTP_BACKOFF", 0.5, "seconds between retries without Retry-After (doubling)")
RETRY_AFTER_MAX = _float("RETRY_AFTER_MAX", 30.0, "longest Retry-After or maxlag wait honoured, in seconds")
MAX_DOWNLOAD_BYTES = _int("MAX_DOWNLOAD_BYTES", 25 * 1024 * 1024, "larger downloads are refused (25 MB)")
MAX_API_BYTES = _int("MAX_API_BYTES", 20 * 1024 * 1024, "larger API answers (after decompression) are refused")
MAX_JSON_DEPTH = _int("MAX_JSON_DEPTH", 400, "API answers nested deeper are refused")
MAX_REDIRECTS = _int("MAX_REDIRECTS", 5, "redirects followed per request, each checked against the address policy")
# Beside the seams configured (COMMONS_API, WIKIPEDIA_API, OPENIMAGES_URL, ... and OPENAI_BASE_URL).
TRUSTED_HOSTS = _list("TRUSTED_HOSTS", [], "host or host:port memer may fetch from even on a private network")
DOWNLOAD_WORKERS = _int("DOWNLOAD_WORKERS", 8, "concurrent downloads")
PER_HOST_LIMIT = _int("PER_HOST_LIMIT", 8, "concurrent downloads per host")
# Wikimedia asks for at most 2 concurrent requests to its media servers: all its media hosts share them.
WIKIMEDIA_MEDIA_HOSTS = _list(
    "WIKIMEDIA_MEDIA_HOSTS", ["upload.wikimedia.org", "thumb.wikimedia.org"], "Wikimedia's media hosts ..."
)
WIKIMEDIA_UPLOAD_LIMIT = _int("WIKIMEDIA_UPLOAD_LIMIT", 2, "... and the concurrent requests they share")
HUB_TIMEOUT = _float("HUB_TIMEOUT", 3.0, "seconds for the one check of the Hugging Face hub; unreachable: cache only")
_outside("HF_ENDPOINT", "the Hugging Face hub's address (read by huggingface_hub and by memer's one check)")
_outside("HF_HUB_OFFLINE", "1: skip the hub check, load models from the local cache only")
_outside("HF_TOKEN", "a Hugging Face token, read by huggingface_hub (gated or private models)", secret=True)

# --- CLIP and ranking (memer/clip.py, memer/rank.py) ------------------------------------
_step("CLIP and ranking")
# Chosen by numbers on 2026-12-01 (docs/benchmarks.md, "Which CLIP"); the Open Images cache is tied to it.
# `memer cache import-legacy` still takes the original AI-Memer files: use them with
# MEMER_CLIP_MODEL=ViT-B-32 MEMER_CLIP_PRETRAINED=openai.
CLIP_MODEL = _str("CLIP_MODEL", "ViT-B-32", "any open_clip model, local-dir:/path or hf-hub:org/name")
CLIP_PRETRAINED = _str("CLIP_PRETRAINED", "laion2b_s34b_b79k", "pretrained tag or weights file; must match the cache")
CLIP_BATCH_SIZE = _int("CLIP_BATCH_SIZE", 32, "images or texts per forward pass")
QUERY_PROMPT = _str("QUERY_PROMPT", "an image of {query}", "how the query is embedded, for ranking and cache search")
TOP_K = _int("TOP_K", 10, "pictures shown")
DEDUPE_THRESHOLD = _float("DEDUPE_THRESHOLD", 0.95, "image similarity at which two pictures count as one")
DEVICE = _str("DEVICE", "", "cuda or cpu", "cuda (float16) when available, else cpu")

# --- captions, any engine (memer/captioning/) ------------------------------------------
_step("Captions")
CAPTION_ENGINE = _str("CAPTION_ENGINE", "", "openai or local", "openai when a key is found, else local")
N_CAPTIONS = _int("N_CAPTIONS", 10, "captions per request")
CAPTION_STYLE = _str("CAPTION_STYLE", "funny", "funny, wholesome, sarcastic, poem or haiku")
LANGUAGE = _str("LANGUAGE", "", "captions' language: a code (hi, ja, pt-BR) or a name (Hindi)", "English")
DESCRIBE = _bool("DESCRIBE", True, "describe a picture that comes without a description (one model call)")
TEMPERATURE = _float("TEMPERATURE", 0.7, "sampling temperature")
TOP_P = _float("TOP_P", 0.95, "nucleus sampling")
# The score is CLIP similarity (caption vs picture and topic), not humour: docs/limits.md says what it misses.
RANK_CAPTIONS = _bool("RANK_CAPTIONS", True, "show captions best first by CLIP fit (off: in the order written)")
CAPTION_TOPIC_WEIGHT = _float(
    "CAPTION_TOPIC_WEIGHT", 0.25, "the topic's share of a caption's score (the picture's: the rest)"
)
CAPTION_DEDUPE_THRESHOLD = _float(
    "CAPTION_DEDUPE_THRESHOLD", 0.95, "CLIP text similarity at which a caption repeats a better one"
)

# --- captions with OpenAI (memer/captioning/openai_engine.py, memer/openai_client.py) ---
_step("Captions: OpenAI")
_outside("OPENAI_API_KEY", "the OpenAI key (or Colab's secret of that name); never printed", secret=True)
_outside("OPENAI_BASE_URL", "the OpenAI API's address (read by the SDK)")
# Checked against OpenAI's model list on 2026-11-21: the current cost tier ($0.20 / $1.20 per 1M tokens
# in/out), takes image input and structured outputs. Any chat model works (gpt-5.4-nano, gpt-4.1-mini ...).
OPENAI_MODEL = _str("OPENAI_MODEL", "gpt-5.6-luna", "any chat model")
OPENAI_REASONING_EFFORT = _str("OPENAI_REASONING_EFFORT", "none", "sent as reasoning_effort; empty: not sent")
OPENAI_VISION = _bool("OPENAI_VISION", True, "send a small low-detail copy of the picture")
VISION_SIZE = _int("VISION_SIZE", 512, "its longest side, in pixels")
OPENAI_TIMEOUT = _float("OPENAI_TIMEOUT", 60.0, "wall-clock seconds for a whole caption run or one picture request")
OPENAI_MAX_RETRIES = _int("OPENAI_MAX_RETRIES", 2, "memer's retries (429, 5xx, connection errors) within that budget")
MODERATION_MODEL = _str("MODERATION_MODEL", "omni-moderation-latest", "moderation model")
SENSITIVE_THRESHOLD = _float("SENSITIVE_THRESHOLD", 0.3, "a category score at or above this makes a caption level 1")
MODERATE_PICTURE = _bool("MODERATE_PICTURE", True, "also send the picture to the moderation model")

# --- captions with a local model (memer/captioning/local_engine.py, describe.py, classifier.py) ---
_step("Captions: local model")
# Checked 2026-12-01: Qwen3-VL-2B-Instruct, Apache-2.0, about 4.3 GB in float16 (fits a T4 beside CLIP),
# image-text-to-text in transformers since 4.57 (no trust_remote_code). On an older transformers memer
# falls back to the text-only TEXT_CAPTION_MODEL and says so. EleutherAI/gpt-neo-2.7B gives the
# original AI-Memer behaviour (a base model, so it gets a few-shot prompt).
VISION_CAPTION_MODEL = "Qwen/Qwen3-VL-2B-Instruct"
VISION_MIN_TRANSFORMERS = (4, 57)
TEXT_CAPTION_MODEL = "Qwen/Qwen2.5-1.5B-Instruct"
CAPTION_MODEL = _str(
    "CAPTION_MODEL",
    "",
    "a hub id or a folder",
    f"{VISION_CAPTION_MODEL} ({TEXT_CAPTION_MODEL} below transformers 4.57)",
)
LOCAL_VISION_SIZE = _int("LOCAL_VISION_SIZE", 448, "longest side, in pixels, of the picture the local model sees")
SEED = _str("SEED", "", "a whole number: the same seed, picture, theme and style give the same captions")
MAX_NEW_TOKENS = _int("MAX_NEW_TOKENS", 40, "tokens per local caption")
DESCRIPTION_MAX_TOKENS = _int("DESCRIPTION_MAX_TOKENS", 60, "tokens for the picture's description")
# The trained offline classifier (alt-profanity-check's model): probability of offensive language.
CLASSIFIER_UNSAFE = _float("CLASSIFIER_UNSAFE", 0.8, "the classifier's probability at or above which a caption is 2")
CLASSIFIER_SENSITIVE = _float("CLASSIFIER_SENSITIVE", 0.5, "... and at or above which it is 1")
# The local vision-language model also rates each picture+caption pair (captioning/picture_safety.py).
LOCAL_PICTURE_CHECK = _bool(
    "LOCAL_PICTURE_CHECK", True, "the local vision model rates each picture+caption pair 0/1/2 (one batched call)"
)
LOCAL_PICTURE_CHECK_SECONDS = _float("LOCAL_PICTURE_CHECK_SECONDS", 60.0, "wall-clock limit on that call's answers")
# ... and may judge the best-fitting captions pairwise for humour (captioning/humour.py).
HUMOUR_JUDGE = _str(
    "HUMOUR_JUDGE", "auto", "the local vision model judges the top captions pairwise for humour: auto (GPU only), 1, 0"
)
HUMOUR_JUDGE_TOP = _int("HUMOUR_JUDGE_TOP", 3, "how many of the best-fitting captions it compares, each pair both ways")
HUMOUR_JUDGE_SECONDS = _float("HUMOUR_JUDGE_SECONDS", 60.0, "wall-clock limit on the humour judge's answers")
# Parameter counts (billions) of known models, for the memory estimate when no config is at hand.
MODEL_PARAMETERS_B = {
    "Qwen/Qwen3-VL-2B-Instruct": 2.13,
    "Qwen/Qwen2.5-1.5B-Instruct": 1.54,
    "Qwen/Qwen2.5-0.5B-Instruct": 0.49,
    "EleutherAI/gpt-neo-2.7B": 2.72,
    "EleutherAI/gpt-neo-1.3B": 1.37,
    "ViT-B-32": 0.151,
    "ViT-B-16": 0.150,
    "ViT-L-14": 0.428,
}

# --- generated pictures (memer/sources/generated.py) -----------------------------------
_step("Generated pictures")
GENERATOR = _str("GENERATOR", "", "openai or local", "openai when a key is found, else local")
GENERATE_N = _int("GENERATE_N", 2, "pictures per search, in one request")
# Checked 2026-12-01: the speed-first GPT Image 2.5 model (about 0.6 cents for 1024x1024 at "low");
# gpt-image-1 was shut down on 2026-10-23. gpt-image-2.5-sunburst and gpt-image-1-mini also work.
IMAGE_MODEL = _str("IMAGE_MODEL", "gpt-image-2.5-flare", "OpenAI image model")
IMAGE_QUALITY = _str("IMAGE_QUALITY", "low", "OpenAI quality: low (cheapest), medium, high")
IMAGE_SIZE = _str("IMAGE_SIZE", "1024x1024", "OpenAI picture size")
# sd-turbo: a distilled SD 2.1 that draws 512 px in 1-4 steps. Its licence is NON-COMMERCIAL.
IMAGE_MODEL_LOCAL = _str("IMAGE_MODEL_LOCAL", "stabilityai/sd-turbo", "local diffusers model: a hub id or a folder")
IMAGE_MODEL_LOCAL_LICENSE = _str(
    "IMAGE_MODEL_LOCAL_LICENSE",
    "non-commercial use only (Stability AI Non-Commercial Research Community License)",
    "the local model's licence, shown with its pictures",
)
GENERATE_STEPS = _int("GENERATE_STEPS", 1, "local denoising steps (sd-turbo: 1 to 4)")
GENERATE_SIZE = _int("GENERATE_SIZE", 512, "local picture side, in pixels")
GENERATE_GUIDANCE = _float("GENERATE_GUIDANCE", 0.0, "local classifier-free guidance (sd-turbo is trained without)")
GENERATE_PROMPT = _str(
    "GENERATE_PROMPT",
    "A photo-like picture of {query}, suitable as a meme background. No text, letters, words, captions or watermarks anywhere in the picture.",
    "what the models are asked to draw",
)
AI_LABEL = _bool("AI_LABEL", True, 'a small visible "AI-generated" tag on memes from generated pictures')

# --- rendering and reading pictures (memer/rendering/, memer/images.py) ------------------
_step("Rendering")
OUTPUT_SIZE = _int("OUTPUT_SIZE", 1024, "longest side of the meme, in pixels (small pictures are scaled up)")
MAX_LINES = _int("MAX_LINES", 3, "auto-fit wraps into at most this many lines ...")
READABLE_SIZE = _float("READABLE_SIZE", 0.04, "... unless the font would be smaller than this fraction of the height")
MARGIN = _float("MARGIN", 0.04, "side margin, as a fraction of the width")
BLOCK_HEIGHT = _float("BLOCK_HEIGHT", 0.33, "each text block's height, as a fraction of the picture's")
MIN_FONT_SIZE = _int("MIN_FONT_SIZE", 10, "smallest size auto-fit prefers, in pixels")
OUTLINE = _float("OUTLINE", 0.08, "outline width, as a fraction of the font size")
LINE_SPACING = _float("LINE_SPACING", 1.12, "baseline to baseline, in font sizes")
FONT_DIR = _path("FONT_DIR", PACKAGE_DIR / "fonts", "where the fonts are", "the bundled memer/fonts/")
FONT = _path("FONT", None, "the caption font", "$MEMER_FONT_DIR/Anton-Regular.ttf")
# Noto Bold for the scripts of South and South-East Asia, the Caucasus and Ethiopia (first: DejaVu has some of
# them in part, and one word must not mix fonts); then DejaVu (Greek, Cyrillic, Hebrew, Arabic, symbols), CJK,
# Korean (Hangul) and monochrome emoji, so no character a caption may hold vanishes.
_SCRIPT_FONTS = [
    "NotoSansDevanagari-Bold.ttf",
    "NotoSansBengali-Bold.ttf",
    "NotoSansTamil-Bold.ttf",
    "NotoSansTelugu-Bold.ttf",
    "NotoSansGujarati-Bold.ttf",
    "NotoSansGurmukhi-Bold.ttf",
    "NotoSansKannada-Bold.ttf",
    "NotoSansMalayalam-Bold.ttf",
    "NotoSansSinhala-Bold.ttf",
    "NotoSansThai-Bold.ttf",
    "NotoSansLao-Bold.ttf",
    "NotoSansKhmer-Bold.ttf",
    "NotoSansMyanmar-Bold.ttf",
    "NotoSerifTibetan-Bold.ttf",
    "NotoSansGeorgian-Bold.ttf",
    "NotoSansArmenian-Bold.ttf",
    "NotoSansEthiopic-Bold.ttf",
]
FALLBACK_FONTS = _list(
    "FALLBACK_FONTS",
    [
        *_SCRIPT_FONTS,
        "DejaVuSansCondensed-Bold.ttf",
        "DroidSansFallbackFull.ttf",
        "NanumSquareB.ttf",
        "NotoEmoji-Bold.ttf",
    ],
    "fonts for characters the caption font lacks, in order: names in FONT_DIR or paths",
)
EMOJI_FONT = _path("EMOJI_FONT", None, "colour emoji font file", "a system colour emoji font, if installed")
ATTRIBUTION_STRIP = _bool("ATTRIBUTION_STRIP", False, "burn the credit line into every meme")
MAX_CAPTION_CHARS = _int("MAX_CAPTION_CHARS", 1000, "a longer caption is refused, not cut")
MAX_CREDIT_CHARS = _int("MAX_CREDIT_CHARS", 300, "the burned-in credit line is cut to this, with …")
MAX_METADATA_CHARS = _int("MAX_METADATA_CHARS", 2000, "each PNG text chunk (caption, author, title ...) is cut to this")
MIN_TEXT_WIDTH = _int("MIN_TEXT_WIDTH", 8, "pixels across a caption needs; narrower pictures are refused")
MAX_IMAGE_PIXELS = _int("MAX_IMAGE_PIXELS", 64_000_000, "larger pictures are refused (decompression bombs)")
MAX_IMAGE_BYTES = _int("MAX_IMAGE_BYTES", 50 * 1024 * 1024, "larger picture files are refused (50 MB)")
MAX_ANIMATION_PIXELS = _int(
    "MAX_ANIMATION_PIXELS",
    40_000_000,
    "an animated meme's frames x pixels per frame: frames are drawn smaller to fit (not below 320 px), else refused",
)

# --- the Open Images cache: build, download, Colab Drive (memer/sources/openimages/, memer/cache_setup.py) ---
_step("Open Images cache")
CACHE_DIR = _path("CACHE_DIR", None, "the CLIP embedding cache (see cache/README.md)", "$MEMER_USER_CACHE/openimages")
CACHE_DOWNLOAD_DIR = _path(
    "CACHE_DOWNLOAD_DIR",
    None,
    "the builder's downloads: narratives and metadata CSVs (about 1 GB, resumable)",
    "$MEMER_USER_CACHE/openimages-sources",
)
# A published cache folder (manifest.json + its parts) on any static host, e.g. a Hugging Face
# dataset repo's .../resolve/main URL. None is published yet.
CACHE_URL = _str("CACHE_URL", "", "a published cache folder for `memer cache download`", "(none published yet)")
NARRATIVES_URL = _str(
    "NARRATIVES_URL",
    "https://storage.googleapis.com/localized-narratives/annotations",
    "Localized Narratives captions (builder)",
)
OPENIMAGES_META_URL = _str(
    "OPENIMAGES_META_URL", "https://storage.googleapis.com/openimages/2018_04", "Open Images metadata CSVs (builder)"
)
CACHE_BUILD_BATCH = _int("CACHE_BUILD_BATCH", 0, "captions per encoder call while building; 0: sized to the device")
CACHE_WARMUP_SECONDS = _float("CACHE_WARMUP_SECONDS", 3.0, "the measured warm-up behind the set-up's build estimate")
DRIVE_ROOT = _path("DRIVE_ROOT", Path("/content/drive/MyDrive"), "where Colab mounts Google Drive")
DRIVE_CACHE_DIR = _path(
    "DRIVE_CACHE_DIR", None, "the cache kept on Drive for the next Colab session", "$MEMER_DRIVE_ROOT/memer/openimages"
)

# --- the notebook app (memer/ui/) -------------------------------------------------------
_step("The notebook app")
UI_THUMB_SIZE = _int("UI_THUMB_SIZE", 240, "longest side of a gallery thumbnail, in pixels")
UI_PREVIEW_SIZE = _int("UI_PREVIEW_SIZE", 800, "longest side of the live preview (shown at the column's width)")
UI_PREVIEW_DELAY = _float("UI_PREVIEW_DELAY", 0.35, "seconds without typing before the live preview redraws")
# The Enter key's message can overtake the final letters (the front end holds back state while the kernel is busy).
UI_SETTLE = _float("UI_SETTLE", 0.3, "seconds the app lets the last keystrokes arrive before it reads a box")
UI_TICK = _float("UI_TICK", 1.0, "how often a running step's elapsed time and megabytes are refreshed, in seconds")
MEME_DIR = _path("MEME_DIR", Path("memes"), "where the app writes a meme before Colab's download (relative)")


# --- folders that follow another setting ---------------------------------------------------
# A path left unset (None) derives from another at call time, so overriding the one it derives
# from moves it too: read these through the functions, not the names.


def download_dir() -> Path:
    return DOWNLOAD_DIR or USER_CACHE / "images"


def cache_dir() -> Path:
    return CACHE_DIR or USER_CACHE / "openimages"


def cache_download_dir() -> Path:
    return CACHE_DOWNLOAD_DIR or USER_CACHE / "openimages-sources"


def font_file() -> Path:
    return FONT or FONT_DIR / "Anton-Regular.ttf"


def drive_cache_dir() -> Path:
    return DRIVE_CACHE_DIR or DRIVE_ROOT / "memer" / "openimages"


DERIVED = {
    "DOWNLOAD_DIR": download_dir,
    "CACHE_DIR": cache_dir,
    "CACHE_DOWNLOAD_DIR": cache_download_dir,
    "FONT": font_file,
    "DRIVE_CACHE_DIR": drive_cache_dir,
}
