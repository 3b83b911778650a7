"""Every default memer uses, in one place.

Each constant can be overridden by an environment variable of the same name
with a ``MEMER_`` prefix (``OUTPUT_SIZE`` -> ``MEMER_OUTPUT_SIZE``). Values are
read once, at import; code reads ``settings.NAME`` at call time (never
``from memer.settings import NAME``) so tests can monkeypatch a setting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import overload

from memer.errors import ConfigError

PREFIX = "MEMER_"


def _str(name: str, default: str) -> str:
    return os.environ.get(PREFIX + name, default)


def _number(name: str, default: float, cast: type, what: str):
    raw = os.environ.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return cast(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name}={raw!r} is not {what}.", f"Unset {PREFIX}{name} or give {what}.") from None


def _int(name: str, default: int) -> int:
    return _number(name, default, int, "a whole number")


def _float(name: str, default: float) -> float:
    return _number(name, default, float, "a number")


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{PREFIX}{name}={raw!r} is not a yes/no value.", f"Unset {PREFIX}{name} or give 1 or 0.")


def _list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(PREFIX + name)
    if raw is None:
        return list(default)
    return [part.strip() for part in raw.split(",") if part.strip()]


@overload
def _path(name: str, default: Path) -> Path: ...
@overload
def _path(name: str, default: None) -> Path | None: ...
def _path(name: str, default: Path | None) -> Path | None:
    raw = os.environ.get(PREFIX + name)
    return Path(raw).expanduser() if raw else default


# --- where things live -------------------------------------------------------
# A setting left unset (None) derives from another at call time, so overriding the one it
# derives from moves it too: read these through the functions below, not the names.
PACKAGE_DIR = Path(__file__).resolve().parent
USER_CACHE = _path("USER_CACHE", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "memer")
# Downloaded images, keyed by URL, so a repeated search downloads nothing. Default: USER_CACHE/images.
DOWNLOAD_DIR = _path("DOWNLOAD_DIR", None)
# The Open Images CLIP embedding cache (see cache/README.md). Default: USER_CACHE/openimages.
CACHE_DIR = _path("CACHE_DIR", None)


def download_dir() -> Path:
    return DOWNLOAD_DIR or USER_CACHE / "images"


def cache_dir() -> Path:
    return CACHE_DIR or USER_CACHE / "openimages"


def cache_download_dir() -> Path:
    return CACHE_DOWNLOAD_DIR or USER_CACHE / "openimages-sources"


def font_file() -> Path:
    return FONT or FONT_DIR / "Anton-Regular.ttf"


# --- HTTP (memer/http.py) ------------------------------------------------------
# Wikimedia asks for a descriptive User-Agent with contact information.
PROJECT_URL = _str("PROJECT_URL", "https://github.com/memer-ai/memer")
CONTACT = _str("CONTACT", "memer-maintainers@users.noreply.github.com")
USER_AGENT = _str("USER_AGENT", "")  # empty: memer/<version> (<PROJECT_URL>; <CONTACT>) requests/<version>
CONNECT_TIMEOUT = _float("CONNECT_TIMEOUT", 5.0)
READ_TIMEOUT = _float("READ_TIMEOUT", 20.0)
DOWNLOAD_DEADLINE = _float("DOWNLOAD_DEADLINE", 60.0)  # seconds for one whole image download
HTTP_RETRIES = _int("HTTP_RETRIES", 3)
HTTP_BACKOFF = _float("HTTP_BACKOFF", 0.5)  # seconds; doubles on each retry without Retry-After
RETRY_AFTER_MAX = _float("RETRY_AFTER_MAX", 30.0)  # seconds; a longer Retry-After is capped
MAX_DOWNLOAD_BYTES = _int("MAX_DOWNLOAD_BYTES", 25 * 1024 * 1024)
DOWNLOAD_WORKERS = _int("DOWNLOAD_WORKERS", 8)
PER_HOST_LIMIT = _int("PER_HOST_LIMIT", 8)
# Wikimedia asks for at most 2 concurrent requests to its media servers: all its media hosts share them.
WIKIMEDIA_MEDIA_HOSTS = _list("WIKIMEDIA_MEDIA_HOSTS", ["upload.wikimedia.org", "thumb.wikimedia.org"])
WIKIMEDIA_UPLOAD_LIMIT = _int("WIKIMEDIA_UPLOAD_LIMIT", 2)

# --- the fetch policy: deadlines, size caps, addresses (memer/http.py, memer/addresses.py; issue 11) ---
API_DEADLINE = _float("API_DEADLINE", 30.0)  # seconds for one whole API call: connect, headers, body, retry waits
MAX_API_BYTES = _int("MAX_API_BYTES", 20 * 1024 * 1024)  # decoded bytes of one API answer
MAX_JSON_DEPTH = _int("MAX_JSON_DEPTH", 400)  # nesting of an API answer; deeper ones are refused
MAX_REDIRECTS = _int("MAX_REDIRECTS", 5)
# host or host:port memer may fetch from even on a private network (a local mirror, a test stand-in),
# beside the seams configured above (COMMONS_API, WIKIPEDIA_API, OPENIMAGES_URL, ... and OPENAI_BASE_URL).
TRUSTED_HOSTS = _list("TRUSTED_HOSTS", [])
# Outside text kept from a source's answer, in characters (the rest is cut with "…").
MAX_TITLE_CHARS = _int("MAX_TITLE_CHARS", 200)
MAX_AUTHOR_CHARS = _int("MAX_AUTHOR_CHARS", 300)
MAX_DESCRIPTION_CHARS = _int("MAX_DESCRIPTION_CHARS", 1000)
MAX_MARKUP_CHARS = _int("MAX_MARKUP_CHARS", 20_000)  # HTML read per field before it becomes text

# --- Wikimedia sources (memer/sources/commons.py) -----------------------------
COMMONS_API = _str("COMMONS_API", "https://commons.wikimedia.org/w/api.php")
WIKIPEDIA_API = _str("WIKIPEDIA_API", "https://en.wikipedia.org/w/api.php")
# One of Wikimedia's standard thumbnail widths (250, 330, 500, 960, 1280, 1920 ...).
THUMB_WIDTH = _int("THUMB_WIDTH", 960)
COMMONS_LIMIT = _int("COMMONS_LIMIT", 20)
WIKIPEDIA_ARTICLES = _int("WIKIPEDIA_ARTICLES", 3)
WIKIPEDIA_LIMIT = _int("WIKIPEDIA_LIMIT", 20)
MAXLAG = _int("MAXLAG", 5)
MAXLAG_RETRIES = _int("MAXLAG_RETRIES", 3)  # how often a lagged API is asked again before giving up
API_MAX_REQUESTS = _int("API_MAX_REQUESTS", 5)  # continuation requests per search, at most
MIN_IMAGE_SIDE = _int("MIN_IMAGE_SIDE", 200)  # smaller files are icons, not backgrounds
ALLOW_NONFREE = _bool("ALLOW_NONFREE", False)

# --- Open Images (memer/sources/openimages/) --------------------------------
OPENIMAGES_URL = _str("OPENIMAGES_URL", "https://open-images-dataset.s3.amazonaws.com")
OPENIMAGES_LIMIT = _int("OPENIMAGES_LIMIT", 20)
NARRATIVES_URL = _str("NARRATIVES_URL", "https://storage.googleapis.com/localized-narratives/annotations")
OPENIMAGES_META_URL = _str("OPENIMAGES_META_URL", "https://storage.googleapis.com/openimages/2018_04")
# Where `memer cache build` keeps the downloaded narratives and metadata CSVs (~1 GB; resumable).
# Default: USER_CACHE/openimages-sources.
CACHE_DOWNLOAD_DIR = _path("CACHE_DOWNLOAD_DIR", None)

# --- Open Images cache: download, build, Colab Drive (issue 14; memer/sources/openimages/, memer/cache_setup.py) ---
# A published cache folder (manifest.json + its parts) on any static host, e.g. a Hugging Face
# dataset repo's .../resolve/main URL; `memer cache download` fetches it. None is published yet.
CACHE_URL = _str("CACHE_URL", "")
CACHE_BUILD_BATCH = _int("CACHE_BUILD_BATCH", 0)  # captions per encoder call; 0: sized to the device
CACHE_WARMUP_SECONDS = _float("CACHE_WARMUP_SECONDS", 3.0)  # the measured warm-up behind a build estimate
# On Colab, the cache kept on Google Drive so the next session reuses it (memer.cache_setup).
DRIVE_ROOT = _path("DRIVE_ROOT", Path("/content/drive/MyDrive"))
DRIVE_CACHE_DIR = _path("DRIVE_CACHE_DIR", None)  # default: DRIVE_ROOT/memer/openimages


def drive_cache_dir() -> Path:
    return DRIVE_CACHE_DIR or DRIVE_ROOT / "memer" / "openimages"


# --- which sources a search asks ---------------------------------------------
SOURCES = _list("SOURCES", ["commons", "wikipedia", "openimages"])

# --- CLIP (memer/clip.py) -----------------------------------------------------
# Default chosen by numbers on 2026-12-01 (the Open Images cache is tied to it; README "Which CLIP").
# open_clip's published retrieval results (docs/openclip_retrieval_results.csv), MSCOCO / Flickr30k
# text->image R@1: ViT-B-32 openai 30.4 / 58.8, ViT-B-32 laion2b_s34b_b79k 39.3 / 66.8, ViT-B-32-256
# datacomp_s34b_b86k 39.9 / 64.9, ViT-B-16 dfn2b 43.4 / 69.1, ViT-B-16-SigLIP webli 47.8 / 74.7.
# laion2b_s34b_b79k is the same ViT-B-32 network as the original's (14.8 GFLOPs, 512 dimensions, the
# tokenizer bundled with open_clip), so the cache builds as fast and stays 1.4 GB and pictures rank
# as fast on a CPU, with 29% more COCO R@1; MIT licence. ViT-B-16 and ViT-B-16-SigLIP measured 2.6-3.8x
# slower per picture on the 2-core CPU (python -m bench.clip_models, random weights); SigLIP also needs
# its tokenizer from the hub and makes a 1.5x bigger cache. `memer cache import-legacy` still takes the
# original AI-Memer files: use them with MEMER_CLIP_MODEL=ViT-B-32 MEMER_CLIP_PRETRAINED=openai.
CLIP_MODEL = _str("CLIP_MODEL", "ViT-B-32")
CLIP_PRETRAINED = _str("CLIP_PRETRAINED", "laion2b_s34b_b79k")  # must match the Open Images cache
CLIP_BATCH_SIZE = _int("CLIP_BATCH_SIZE", 32)
QUERY_PROMPT = _str("QUERY_PROMPT", "an image of {query}")
TOP_K = _int("TOP_K", 10)
DEDUPE_THRESHOLD = _float("DEDUPE_THRESHOLD", 0.95)
DEVICE = _str("DEVICE", "")  # empty: cuda when available, else cpu

# --- captions (memer/captioning/) -----------------------------------------------
CAPTION_ENGINE = _str("CAPTION_ENGINE", "")  # empty: openai when a key is found, else local
N_CAPTIONS = _int("N_CAPTIONS", 10)
CAPTION_STYLE = _str("CAPTION_STYLE", "funny")  # funny, wholesome, sarcastic, poem, haiku
# OpenAI model, checked against OpenAI's model list on 2026-11-21: gpt-5.6-luna is the
# current cost-tier model ($0.20 / $1.20 per 1M tokens in/out, OpenAI's own pick for
# cost-sensitive, high-volume work), takes image input and structured outputs on Chat
# Completions. Any chat model works (gpt-5.4-nano, gpt-5.4-mini, gpt-4.1-mini ...).
OPENAI_MODEL = _str("OPENAI_MODEL", "gpt-5.6-luna")
# Sent as reasoning_effort; "none" keeps a one-line joke fast and cheap. Models that do not
# take the parameter get the request again without it; empty: never sent.
OPENAI_REASONING_EFFORT = _str("OPENAI_REASONING_EFFORT", "none")
OPENAI_VISION = _bool("OPENAI_VISION", True)  # send a small copy of the picture (detail "low")
VISION_SIZE = _int("VISION_SIZE", 512)  # longest side, in pixels, of the picture sent
OPENAI_TIMEOUT = _float("OPENAI_TIMEOUT", 60.0)
OPENAI_MAX_RETRIES = _int("OPENAI_MAX_RETRIES", 2)
MODERATION_MODEL = _str("MODERATION_MODEL", "omni-moderation-latest")
SENSITIVE_THRESHOLD = _float("SENSITIVE_THRESHOLD", 0.3)  # any category score at or above -> level 1
# Text-only local model (the fallback below transformers 4.57), checked 2026-11-21. Qwen2.5-1.5B-Instruct:
# Apache-2.0, 1.5B parameters (about 3.1 GB in float16, so it fits a free Colab T4's 16 GB
# beside CLIP ViT-B-32), a chat template, good instruction following for its size, and no
# "thinking" mode to switch off (Qwen3-1.7B has one). SmolLM2-1.7B-Instruct (Apache-2.0)
# is a fine alternative. "EleutherAI/gpt-neo-2.7B" gives the original AI-Memer behaviour
# (a base model, so it gets a few-shot prompt).
CAPTION_MODEL = _str("CAPTION_MODEL", "")  # empty: VISION_CAPTION_MODEL, or TEXT_CAPTION_MODEL on an old transformers
TEXT_CAPTION_MODEL = "Qwen/Qwen2.5-1.5B-Instruct"
TEMPERATURE = _float("TEMPERATURE", 0.7)
TOP_P = _float("TOP_P", 0.95)
MAX_NEW_TOKENS = _int("MAX_NEW_TOKENS", 40)

# --- local vision-language captions, describe, seed, trained safety check (issue 15) ----------
# The default local caption model, checked 2026-12-01: Qwen3-VL-2B-Instruct, Apache-2.0 (model
# card), about 2.1B parameters (about 4.3 GB in float16: fits a free Colab T4's 16 GB beside CLIP),
# an image-text-to-text model in transformers since 4.57 (no trust_remote_code). On an older
# transformers memer falls back to TEXT_CAPTION_MODEL (text-only) and says so in one line.
VISION_CAPTION_MODEL = "Qwen/Qwen3-VL-2B-Instruct"
VISION_MIN_TRANSFORMERS = (4, 57)
# Longest side, in pixels, of the picture the local model sees (fewer vision tokens: faster, less memory).
LOCAL_VISION_SIZE = _int("LOCAL_VISION_SIZE", 448)
SEED = _str("SEED", "")  # a whole number: the same seed, picture, theme and style give the same local captions
DESCRIBE = _bool("DESCRIBE", True)  # describe a picture that comes without a description (one model call)
DESCRIPTION_MAX_TOKENS = _int("DESCRIPTION_MAX_TOKENS", 60)
# The trained offline classifier (alt-profanity-check): probability of offensive language.
CLASSIFIER_UNSAFE = _float("CLASSIFIER_UNSAFE", 0.8)  # at or above: level 2
CLASSIFIER_SENSITIVE = _float("CLASSIFIER_SENSITIVE", 0.5)  # at or above: level 1
MODERATE_PICTURE = _bool("MODERATE_PICTURE", True)  # OpenAI: also send the picture to the moderation model
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
# --- first contact offline (memer/hub.py, issue 11) --------------------------
# Seconds the one check of the Hugging Face hub (HF_ENDPOINT) may take; unreachable: models load from the cache only.
HUB_TIMEOUT = _float("HUB_TIMEOUT", 3.0)

# --- rendering (memer/rendering/) ------------------------------------------------
OUTPUT_SIZE = _int("OUTPUT_SIZE", 1024)  # longest side of the meme, in pixels
MAX_LINES = _int("MAX_LINES", 3)
MARGIN = _float("MARGIN", 0.04)  # of the image width, each side
BLOCK_HEIGHT = _float("BLOCK_HEIGHT", 0.33)  # of the image height, per text block
MIN_FONT_SIZE = _int("MIN_FONT_SIZE", 10)
OUTLINE = _float("OUTLINE", 0.08)  # outline width as a fraction of the font size
# The bundled fonts are package data (memer/fonts/).
FONT_DIR = _path("FONT_DIR", PACKAGE_DIR / "fonts")
FONT = _path("FONT", None)  # the caption font; default: FONT_DIR/Anton-Regular.ttf
ATTRIBUTION_STRIP = _bool("ATTRIBUTION_STRIP", False)
# Fonts tried, in order, for characters the main font lacks: names in FONT_DIR or absolute paths.
# The last two bring Korean (Hangul) and monochrome emoji, so no character a caption may hold vanishes.
FALLBACK_FONTS = _list(
    "FALLBACK_FONTS",
    ["DejaVuSansCondensed-Bold.ttf", "DroidSansFallbackFull.ttf", "NanumSquareB.ttf", "NotoEmoji-Bold.ttf"],
)
EMOJI_FONT = _path("EMOJI_FONT", None)  # None: a system colour emoji font, if one is installed
LINE_SPACING = _float("LINE_SPACING", 1.12)  # baseline to baseline, in font sizes
# Auto-fit below this size (fraction of the image height) may use more than MAX_LINES lines.
READABLE_SIZE = _float("READABLE_SIZE", 0.04)

# --- hostile text and pictures in rendering (issue 11: rendering/, images.py) -----
MAX_CAPTION_CHARS = _int("MAX_CAPTION_CHARS", 1000)  # a longer caption is refused, not cut
MAX_CREDIT_CHARS = _int("MAX_CREDIT_CHARS", 300)  # the burned-in credit line is cut to this, with "…"
MAX_METADATA_CHARS = _int("MAX_METADATA_CHARS", 2000)  # each PNG text chunk (caption, author, title ...)
MIN_TEXT_WIDTH = _int("MIN_TEXT_WIDTH", 8)  # pixels across a caption needs; narrower pictures are refused

# --- safe image loading (memer/images.py) -------------------------------------
MAX_IMAGE_PIXELS = _int("MAX_IMAGE_PIXELS", 64_000_000)
MAX_IMAGE_BYTES = _int("MAX_IMAGE_BYTES", 50 * 1024 * 1024)

# --- the notebook app (memer/ui/) ----------------------------------------------
UI_THUMB_SIZE = _int("UI_THUMB_SIZE", 240)  # longest side of a gallery thumbnail, in pixels
UI_PREVIEW_SIZE = _int("UI_PREVIEW_SIZE", 800)  # longest side of the live preview (shown at the column's width)
# Seconds without typing before the live preview redraws (it follows typing, not every key).
UI_PREVIEW_DELAY = _float("UI_PREVIEW_DELAY", 0.35)
# Seconds the app lets the browser's last keystrokes arrive before it reads a box: the Enter key's
# message can overtake the final letters (the widget front end holds back state while the kernel is busy).
UI_SETTLE = _float("UI_SETTLE", 0.3)
# How often a running step's elapsed time and downloaded megabytes are refreshed, in seconds.
UI_TICK = _float("UI_TICK", 1.0)
# Where the app writes a meme before handing it to Colab's download (relative to the notebook).
MEME_DIR = _path("MEME_DIR", Path("memes"))

# --- any background: own pictures, generated pictures, usable Commons sizes (issue 13) ----------
# Commons searches ask CirrusSearch for files at least this wide (filew:>N); 0 asks for any width.
COMMONS_MIN_WIDTH = _int("COMMONS_MIN_WIDTH", 500)
# Longer side over shorter side; a file beyond this (a 1-pixel-high scan, a banner) never reaches the gallery.
MAX_ASPECT_RATIO = _float("MAX_ASPECT_RATIO", 3.0)
# Which generator the "generated" source uses: "openai", "local", or empty: openai when a key is found, else local.
GENERATOR = _str("GENERATOR", "")
GENERATE_N = _int("GENERATE_N", 2)  # pictures per request (one request)
# OpenAI image model, checked against OpenAI's model list (openai-python 3.57's ImageModel, the Images API
# reference) on 2026-12-01: gpt-image-2.5-flare is the speed-first GPT Image 2.5 model (released
# 2026-09-08; about 0.6 cents for a 1024x1024 picture at quality "low"). gpt-image-1 was shut down on
# 2026-10-23 and DALL·E on 2026-05-12; gpt-image-2.5-sunburst, gpt-image-2.6-flare and gpt-image-1-mini also work.
IMAGE_MODEL = _str("IMAGE_MODEL", "gpt-image-2.5-flare")
IMAGE_QUALITY = _str("IMAGE_QUALITY", "low")  # low, medium, high (and xhigh, max on 2.5 models); low is cheapest
IMAGE_SIZE = _str("IMAGE_SIZE", "1024x1024")
# Local text-to-image model (a hub id or a local folder) for diffusers' AutoPipelineForText2Image, checked
# 2026-12-01: stabilityai/sd-turbo, a distilled SD 2.1 that draws 512 px in 1-4 steps (about a second on a
# T4 in float16). Its licence is NON-COMMERCIAL (Stability AI Non-Commercial Research Community License):
# memes from it may not be used commercially. stabilityai/sdxl-turbo has the same licence.
IMAGE_MODEL_LOCAL = _str("IMAGE_MODEL_LOCAL", "stabilityai/sd-turbo")
IMAGE_MODEL_LOCAL_LICENSE = _str(
    "IMAGE_MODEL_LOCAL_LICENSE", "non-commercial use only (Stability AI Non-Commercial Research Community License)"
)
GENERATE_STEPS = _int("GENERATE_STEPS", 1)  # sd-turbo: 1 to 4
GENERATE_SIZE = _int("GENERATE_SIZE", 512)  # pixels, each side, for the local model
GENERATE_GUIDANCE = _float("GENERATE_GUIDANCE", 0.0)  # sd-turbo is trained without classifier-free guidance
GENERATE_PROMPT = _str(
    "GENERATE_PROMPT",
    "A photo-like picture of {query}, suitable as a meme background. No text, letters, words, captions or watermarks anywhere in the picture.",
)
# A small visible "AI-generated" label on memes made from generated pictures.
AI_LABEL = _bool("AI_LABEL", True)
