"""Wikimedia Commons file search and the Wikipedia-article route, over the MediaWiki Action API.

Commons: one ``generator=search`` request in the File namespace returns the
files with their thumbnail URL, size, MIME type and licence metadata
(``extmetadata``). Wikipedia: the top articles for the query, then the files
those articles show (``generator=images``). Thumbnail URLs always come from the
API (``iiurlwidth``), never built by hand. Non-free files are dropped unless
the caller opts in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

from memer import http, settings
from memer.candidates import ImageCandidate
from memer.errors import SourceError
from memer.text import collapse_whitespace, plain_title, shorten, trim_words

# What we read from extmetadata; the API sends only these (iiextmetadatafilter).
EXTMETADATA_FIELDS = (
    "ObjectName",
    "ImageDescription",
    "Artist",
    "Credit",
    "LicenseShortName",
    "License",
    "UsageTerms",
    "LicenseUrl",
    "AttributionRequired",
    "Restrictions",
    "NonFree",
    "Copyrighted",
)
# Files worth a meme background; SVGs on Wikipedia pages are nearly always logos, maps and icons.
BITMAP_MIMES = {"image/jpeg", "image/png", "image/webp", "image/tiff", "image/gif", "image/bmp"}
_MAX_BATCH = 50  # the API scales at most 50 images per request
# Wikimedia's standard thumbnail widths: its caches hold these, other widths are rendered anew.
STANDARD_THUMB_WIDTHS = (250, 330, 500, 960, 1280, 1920)

# Bounds for outside answers: far above anything the API sends, far below what could hurt.
MAX_URL_CHARS = 2048
MAX_META_DEPTH = 8  # extmetadata values are a string, or a language map, or a short list
MAX_META_ITEMS = 50
MAX_NUMBER = 10**9  # pixels a side, a search rank
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")
# What Commons' {{label QS}} template leaves in ObjectName when its hiding markup is gone: label QS:Len,"Night in Nice"
_QS_LABEL = re.compile(r"\s*\blabel QS:[A-Za-z-]+,\s*\"[^\"]*\"")

_NONFREE_LICENCE = re.compile(
    r"fair[\s_-]*use|non[\s_-]*free|all[\s_-]*rights[\s_-]*reserved|\bcc[\s_-]*by[\s\w-]*\bn[cd]\b"
    r"|non[\s_-]*commercial|no[\s_-]*deriv",
    re.IGNORECASE,
)
_FREE_LICENCE = re.compile(
    r"\bcc[\s_-]*0\b|\bcc[\s_-]*zero\b|public[\s_-]*domain|\bpd\b|^pd[\s_-]|no restrictions|\bcc[\s_-]*by\b"
    r"|\bgfdl\b|\bfal\b|free art|copyrighted free use|attribution|\bogl\b|open government"
    r"|\b(l?gpl|mit|bsd|apache)\b|\bexpat\b",
    re.IGNORECASE,
)


# --- searching ------------------------------------------------------------------------


def _imageinfo_params() -> dict[str, Any]:
    return {
        "prop": "imageinfo",
        "iiprop": "url|size|mime|extmetadata",
        "iiurlwidth": standard_thumb_width(settings.THUMB_WIDTH),
        "iiextmetadatafilter": "|".join(EXTMETADATA_FIELDS),
        "iiextmetadatalanguage": "en",
    }


def standard_thumb_width(width: int) -> int:
    """The standard thumbnail width nearest ``width`` (the larger on a tie)."""
    return min(STANDARD_THUMB_WIDTHS, key=lambda standard: (abs(standard - width), -standard))


def _base_params() -> dict[str, Any]:
    return {"action": "query", "format": "json", "formatversion": 2, "maxlag": settings.MAXLAG}


def search_commons(query: str, limit: int | None = None, *, allow_nonfree: bool | None = None) -> list[ImageCandidate]:
    """Free bitmap files on Wikimedia Commons for ``query``, best search match first."""
    limit = settings.COMMONS_LIMIT if limit is None else limit
    if limit <= 0 or not query.strip():
        return []
    params = {
        **_base_params(),
        "generator": "search",
        "gsrsearch": commons_search_text(query),
        "gsrnamespace": 6,
        "gsrlimit": min(_MAX_BATCH, max(1, limit)),
        **_imageinfo_params(),
    }
    wanted = lambda candidates: len(_usable(candidates, allow_nonfree, "commons")) >= limit  # noqa: E731
    candidates = _query_all(settings.COMMONS_API, params, wanted, source="commons")
    return _usable(candidates, allow_nonfree, "commons")[:limit]


def commons_search_text(query: str) -> str:
    """The CirrusSearch text: the words, bitmaps only, and a usable size (``filew:>N`` is at least N pixels wide)."""
    parts = [query.strip(), "filetype:bitmap"]
    if settings.COMMONS_MIN_WIDTH > 0:
        parts.append(f"filew:>{settings.COMMONS_MIN_WIDTH}")
    if settings.MIN_IMAGE_SIDE > 0:
        parts.append(f"fileh:>{settings.MIN_IMAGE_SIDE}")
    return " ".join(parts)


def usable_shape(width: int | None, height: int | None, *, min_width: int = 0) -> bool:
    """False for a picture too narrow or too long and thin for a meme (settings.MAX_ASPECT_RATIO); unknown sizes pass."""
    if not width or not height:
        return True
    if width < min_width:
        return False
    return max(width, height) / max(1, min(width, height)) <= settings.MAX_ASPECT_RATIO


def search_wikipedia(
    query: str,
    articles: int | None = None,
    limit: int | None = None,
    *,
    allow_nonfree: bool | None = None,
) -> list[ImageCandidate]:
    """Pictures shown in the top English Wikipedia articles for ``query`` (icons, logos, non-free files dropped)."""
    articles = settings.WIKIPEDIA_ARTICLES if articles is None else articles
    limit = settings.WIKIPEDIA_LIMIT if limit is None else limit
    if limit <= 0 or articles <= 0 or not query.strip():
        return []
    found = _call(
        settings.WIKIPEDIA_API,
        {
            **_base_params(),
            "list": "search",
            "srsearch": query.strip(),
            "srnamespace": 0,
            "srlimit": min(articles, _MAX_BATCH),
            "srprop": "",
        },
    )
    hits = _mapping(found.get("query")).get("search")
    hits = hits if isinstance(hits, list) else []
    titles = [hit["title"] for hit in hits if isinstance(hit, Mapping) and isinstance(hit.get("title"), str)]
    titles = [title[:MAX_URL_CHARS] for title in titles if title.strip()][:articles]
    if not titles:
        return []
    params = {
        **_base_params(),
        "generator": "images",
        "titles": "|".join(titles),
        "gimlimit": _MAX_BATCH,
        **_imageinfo_params(),
    }
    wanted = lambda candidates: len(_usable(candidates, allow_nonfree, "wikipedia")) >= limit  # noqa: E731
    candidates = _query_all(settings.WIKIPEDIA_API, params, wanted, source="wikipedia")
    return _usable(candidates, allow_nonfree, "wikipedia")[:limit]


def _usable(candidates: list[ImageCandidate], allow_nonfree: bool | None, source: str) -> list[ImageCandidate]:
    allow = settings.ALLOW_NONFREE if allow_nonfree is None else allow_nonfree
    kept = []
    for candidate in candidates:
        if not allow and not candidate.free:
            continue
        min_width = settings.COMMONS_MIN_WIDTH if source == "commons" else 0
        if not usable_shape(candidate.width, candidate.height, min_width=min_width):
            continue  # a 1-pixel-high scan, a banner, an icon: never a background
        if source == "wikipedia":
            if not allow and candidate.extra.get("imagerepository") == "local":
                continue  # held on Wikipedia itself, not Commons: nearly always fair use
            if candidate.extra.get("mime") not in BITMAP_MIMES:
                continue
            sides = [s for s in (candidate.width, candidate.height) if s]
            if not sides or min(sides) < settings.MIN_IMAGE_SIDE:
                continue
        kept.append(candidate)
    return kept


def _query_all(api: str, params: dict[str, Any], enough: Any, *, source: str) -> list[ImageCandidate]:
    """Follow ``continue`` until enough candidates or the results end, merging pages of a batch."""
    pages: dict[str, dict[str, Any]] = {}
    continuation: dict[str, Any] = {}
    for _ in range(max(1, settings.API_MAX_REQUESTS)):
        payload = _call(api, {**params, **continuation})
        for page in _pages(payload):
            # A batch may come over several responses, each page with part of its data.
            pages.setdefault(str(page.get("title") or page.get("pageid")), {}).update(page)
        more = payload.get("continue")
        if not isinstance(more, Mapping):
            break
        batch_done = "batchcomplete" in payload and payload["batchcomplete"] is not False
        if batch_done and enough(parse_api_response({"query": {"pages": list(pages.values())}}, source=source)):
            break
        continuation = dict(more)
    return parse_api_response({"query": {"pages": list(pages.values())}}, source=source)


def _call(api: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """One API request; a lagged server is asked again after ``Retry-After``, other API errors raise."""
    host = http.host_of(api) or api
    for attempt in range(max(0, settings.MAXLAG_RETRIES) + 1):
        answer = http.request_json(api, params)
        payload = answer.payload if isinstance(answer.payload, dict) else {}
        error = payload.get("error")
        if not isinstance(error, Mapping):
            return payload
        code = str(error.get("code", "unknown"))
        info = _text(error.get("info")) or "no details"
        if code != "maxlag":
            raise SourceError(
                f"{host} refused the search ({code}: {info}).",
                "Check the query and the API address setting.",
                code="source.unavailable",
            )
        if attempt < settings.MAXLAG_RETRIES:
            time.sleep(_lag_wait(answer.headers.get("Retry-After"), error.get("lag")))
    raise SourceError(f"{host} is overloaded ({info}).", "Try again in a few minutes.", code="source.unavailable")


def _lag_wait(retry_after: str | None, lag: Any) -> float:
    for value in (retry_after, lag):
        try:
            seconds = float(value)  # type: ignore[arg-type]  # None or junk from the server: TypeError below
        except (TypeError, ValueError, OverflowError):
            continue
        if seconds != seconds:  # NaN
            continue
        return max(0.0, min(seconds, settings.RETRY_AFTER_MAX))
    return max(0.0, min(5.0, settings.RETRY_AFTER_MAX))


def _pages(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    pages = _mapping(payload.get("query")).get("pages") or []
    if isinstance(pages, Mapping):  # formatversion 1: an object keyed by page id
        pages = list(pages.values())
    if not isinstance(pages, list):
        return []
    return [p for p in pages if isinstance(p, dict)]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# --- parsing --------------------------------------------------------------------------


def parse_api_response(payload: Mapping[str, Any], *, source: str = "commons") -> list[ImageCandidate]:
    """Candidates from an imageinfo query answer (formatversion 1 or 2), ordered by search rank.

    Every field is checked at this edge: a page with a field of the wrong type
    (a list for a URL, an infinite width, metadata nested hundreds deep) is
    dropped alone and the others still count.
    """
    ranked: list[tuple[float, int, ImageCandidate]] = []
    for position, page in enumerate(_pages(payload)):
        try:
            candidate = _candidate(page, source)
        except (_BadField, TypeError, ValueError, OverflowError, RecursionError):
            continue
        if candidate is not None:
            index = _bounded_int(page.get("index"))
            ranked.append((float(index) if index is not None else float("inf"), position, candidate))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [candidate for _, _, candidate in ranked]


class _BadField(ValueError):
    """A field of an outside answer that is not what the API documents: its page is dropped."""


def _url(value: Any, *, required: bool = False) -> str:
    """A web address from the answer: a string starting http(s):// (or protocol-relative), else the page is bad."""
    if value is None or value == "":
        if required:
            raise _BadField("no address")
        return ""
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS:
        raise _BadField("not an address")
    if value.startswith("//"):
        value = "https:" + value
    if not value.lower().startswith(("http://", "https://")):
        raise _BadField("not a web address")
    return value


def _string(value: Any) -> str:
    """A plain string field (mime, imagerepository, title); anything else is a bad page."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _BadField("not a string")
    return value[:MAX_URL_CHARS]


def _candidate(page: Mapping[str, Any], source: str) -> ImageCandidate | None:
    infos = page.get("imageinfo")
    if not isinstance(infos, list) or not infos or not isinstance(infos[0], Mapping):
        return None
    info = infos[0]
    original = _url(info.get("url"))
    image_url = _url(info.get("thumburl")) or original
    if not image_url:
        return None
    extmetadata = info.get("extmetadata")
    meta: Mapping[str, Any] = extmetadata if isinstance(extmetadata, Mapping) else {}
    value = lambda name, limit=settings.MAX_TITLE_CHARS: _text(_meta_value(meta, name), limit)  # noqa: E731
    page_title = _string(page.get("title"))
    licence = value("LicenseShortName") or value("License") or value("UsageTerms")
    nonfree = _truthy(_meta_value(meta, "NonFree"))
    attribution_required = _meta_value(meta, "AttributionRequired")
    author_cap = settings.MAX_AUTHOR_CHARS
    return ImageCandidate(
        source=source,
        title=value("ObjectName") or _cap(plain_title(page_title) or page_title, settings.MAX_TITLE_CHARS),
        image_url=image_url,
        description=trim_words(value("ImageDescription", settings.MAX_DESCRIPTION_CHARS)),
        author=value("Artist", author_cap) or value("Credit", author_cap) or "unknown",
        license=licence,
        license_url=_url_or_empty(_meta_value(meta, "LicenseUrl")),
        page_url=_url(info.get("descriptionurl")) or _url(info.get("descriptionshorturl")),
        original_url=original,
        width=_bounded_int(info.get("width")),
        height=_bounded_int(info.get("height")),
        free=is_free_license(licence, nonfree=nonfree),
        attribution_required=True if attribution_required is None else _truthy(attribution_required),
        restrictions=value("Restrictions"),
        extra={
            "file_title": page_title,
            "mime": _string(info.get("mime")),
            "thumb_width": _bounded_int(info.get("thumbwidth")),
            "thumb_height": _bounded_int(info.get("thumbheight")),
            "imagerepository": _string(page.get("imagerepository")),
            "credit": value("Credit", author_cap),
            "nonfree": nonfree,
        },
    )


def _url_or_empty(value: Any) -> str:
    """A licence link is a courtesy: a bad one is left out, the page stays."""
    text = _text(value, MAX_URL_CHARS)
    return text if text.lower().startswith(("http://", "https://")) else ""


def is_free_license(name: str, *, nonfree: bool = False) -> bool:
    """True for licences that allow reuse in a meme (CC0, PD, CC BY, CC BY-SA, GFDL, FAL ...)."""
    if nonfree or not name.strip():
        return False
    if _NONFREE_LICENCE.search(name):
        return False
    return bool(_FREE_LICENCE.search(name))


def _meta_value(meta: Mapping[str, Any], name: str) -> Any:
    entry = meta.get(name)
    if isinstance(entry, Mapping):
        return entry.get("value")
    return entry


def _text(value: Any, limit: int | None = None, depth: int = 0) -> str:
    """Plain text from an extmetadata value: HTML and hidden elements stripped, entities unescaped,
    whitespace collapsed, cut to ``limit`` characters. Deeper nesting than the API ever sends is a bad page."""
    if depth > MAX_META_DEPTH:
        raise _BadField("nested too deeply")
    if value is None or value is False:
        return ""
    if isinstance(value, Mapping):  # multilingual: {"en": ..., "de": ..., "_type": "lang"}
        languages = [k for k in value if not str(k).startswith("_")]
        preferred = next(
            (k for k in ("en", *sorted(str(k) for k in languages if str(k).startswith("en"))) if k in value), None
        )
        value = value[preferred] if preferred else (value[languages[0]] if languages else "")
        return _text(value, limit, depth + 1)
    if isinstance(value, list):
        return _text(" ".join(_text(v, limit, depth + 1) for v in value[:MAX_META_ITEMS]), limit, depth + 1)
    if isinstance(value, float) and value != value:  # NaN
        return ""
    markup = str(value)[: settings.MAX_MARKUP_CHARS]
    text = _QS_LABEL.sub("", collapse_whitespace(_strip_html(markup)))
    return _cap(collapse_whitespace(text), limit)


def _cap(text: str, limit: int | None) -> str:
    """``text`` cut to ``limit`` characters by memer's one rule (:func:`memer.text.shorten`); None: not cut."""
    return text if limit is None else shorten(text, limit)


class _TextOnly(HTMLParser):
    """The text a reader sees: no markup, and nothing from elements hidden from view (and their children)."""

    _BREAKS = frozenset(
        {"br", "p", "div", "li", "tr", "td", "th", "dd", "dt", "h1", "h2", "h3", "h4", "ul", "ol", "table"}
    )
    _HIDDEN_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title"})
    _VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "wbr", "area", "base", "col", "source", "embed"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden: list[str] = []  # the open elements from the outermost hidden one inwards

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self._VOID:
            if not self._hidden and tag in self._BREAKS:
                self.parts.append(" ")
            return
        if self._hidden or _is_hidden(tag, attrs, self._HIDDEN_TAGS):
            if len(self._hidden) < MAX_META_ITEMS:
                self._hidden.append(tag)
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            if tag in self._hidden:
                del self._hidden[len(self._hidden) - 1 - self._hidden[::-1].index(tag) :]
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _is_hidden(tag: str, attrs: Any, hidden_tags: frozenset[str]) -> bool:
    """An element a browser does not show: display:none, visibility:hidden, the hidden attribute,
    a "hidden" class, or the Wikidata/QuickStatements helpers Commons templates leave in."""
    if tag in hidden_tags:
        return True
    for name, raw in attrs:
        value = (raw or "").lower()
        if name == "hidden" or (name == "aria-hidden" and value == "true"):
            return True
        if name == "style" and _HIDDEN_STYLE.search(value):
            return True
        if name == "class" and any("hidden" in c or c.startswith("wikidata") for c in value.split()):
            return True
    return False


def _strip_html(markup: str) -> str:
    if "<" not in markup and "&" not in markup:
        return markup
    parser = _TextOnly()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return value is not None and str(value).strip().lower() in {"true", "1", "yes"}


def _bounded_int(value: Any) -> int | None:
    """A size or rank from the answer: a whole number in a sane range, else None (never an OverflowError)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 12:
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= MAX_NUMBER:
        return None
    return value
