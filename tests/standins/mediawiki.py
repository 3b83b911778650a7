"""A MediaWiki Action API stand-in (Commons and English Wikipedia) on the shared stand-in server.

Answers the queries memer sends in the documented shapes: ``generator=search``
and ``generator=images`` with ``prop=imageinfo`` (url, size, mime,
extmetadata as ``{"value", "source", "hidden"}``), ``list=search``, the
``continue`` / ``batchcomplete`` protocol, ``formatversion`` 1 (pages keyed by
id, booleans as "") and 2 (pages as a list, real booleans), body errors with
``error.code`` / ``info`` and the ``maxlag`` error with ``Retry-After``. Files
are generated with Pillow and served at upload.wikimedia.org-like paths,
optionally on a second server (another loopback host) to act as the media host.

Use the ``mediawiki`` fixture: it points settings.COMMONS_API and
settings.WIKIPEDIA_API at the stand-in and returns a :class:`MediaWikiStandin`.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest

from tests.standins.server import Request, Response, StandinServer

COMMONS_PATH = "/commons/w/api.php"
WIKIPEDIA_PATH = "/wikipedia/w/api.php"
UPLOAD_PREFIX = "/wikipedia/commons/"


def make_image(kind: str = "jpeg", size: tuple[int, int] = (64, 48), seed: int = 0) -> bytes:
    """A small picture in ``kind`` format (jpeg, png, gif, webp, bmp, tiff), different per seed."""
    from PIL import Image

    image = Image.new("RGB", size, ((seed * 47) % 256, (seed * 91 + 60) % 256, (seed * 13 + 120) % 256))
    for x in range(0, size[0], 8):
        for y in range(0, size[1], 8):
            if (x + y + seed) % 16 == 0:
                image.putpixel((x, y), (255, 255, 255))
    out = io.BytesIO()
    image.save(
        out, format={"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP", "bmp": "BMP", "tiff": "TIFF"}[kind]
    )
    return out.getvalue()


_MIME_KIND = {
    "image/jpeg": "jpeg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/tiff": "tiff",
    "image/svg+xml": None,
}


@dataclass
class WikiFile:
    """One file page: what the API says about it and where its bytes are served."""

    title: str  # "File:Apple pie.jpg"
    width: int
    height: int
    mime: str
    extmetadata: dict[str, Any]
    repository: str  # "shared" (on Commons) or "local" (held on Wikipedia)
    text: str  # what the search matches against
    url: str = ""
    thumburl: str | None = ""
    descriptionurl: str = ""
    thumb_path: str = ""
    original_path: str = ""
    pageid: int = 0


@dataclass
class MediaWikiStandin:
    server: StandinServer
    upload: StandinServer  # the media host; the same server unless a second one is given
    files: dict[str, WikiFile] = field(default_factory=dict)
    articles: dict[str, list[str]] = field(default_factory=dict)  # article title -> file titles
    imageinfo_per_response: int | None = None  # split a batch's imageinfo over responses (iicontinue)
    _lag: list[str] = field(default_factory=list)  # Retry-After values for the next maxlag errors
    _error: tuple[str, str] | None = None

    @property
    def commons_api(self) -> str:
        return self.server.url + COMMONS_PATH

    @property
    def wikipedia_api(self) -> str:
        return self.server.url + WIKIPEDIA_PATH

    def install(self) -> MediaWikiStandin:
        self.server.route(COMMONS_PATH, lambda r: self._answer(r, wiki="commons"))
        self.server.route(WIKIPEDIA_PATH, lambda r: self._answer(r, wiki="wikipedia"))
        return self

    # --- content ---
    def add_file(
        self,
        name: str,
        *,
        artist: Any = '<a href="//commons.wikimedia.org/wiki/User:Jane">Jane Doe</a>',
        credit: Any = '<span class="int-own-work">Own work</span>',
        license: str | None = "CC BY-SA 4.0",
        license_url: str | None = "https://creativecommons.org/licenses/by-sa/4.0",
        description: Any = "A freshly baked <b>apple pie</b> on a table.",
        nonfree: bool = False,
        attribution_required: str | None = "true",
        restrictions: str = "",
        repository: str = "shared",
        mime: str = "image/jpeg",
        size: tuple[int, int] = (1600, 1200),
        thumb: bool = True,
        image: bytes | None = None,
        extmetadata: dict[str, Any] | None = None,
        keywords: str = "",
    ) -> WikiFile:
        """Register ``File:<name>`` and serve its thumbnail (and original) from the media host.

        ``None`` for a metadata argument leaves that field out, as the API does.
        An SVG gets a PNG thumbnail, as Wikimedia renders it.
        """
        title = name if name.startswith("File:") else f"File:{name}"
        file_name = title[len("File:") :]
        digest = hashlib.md5(file_name.encode()).hexdigest()
        prefix = UPLOAD_PREFIX if repository == "shared" else "/wikipedia/en/"
        original_path = f"{prefix}{digest[0]}/{digest[:2]}/{quote(file_name)}"
        thumb_kind = _MIME_KIND.get(mime) or "png"
        thumb_name = quote(file_name) + (".png" if mime == "image/svg+xml" else "")
        thumb_path = f"{prefix}thumb/{digest[0]}/{digest[:2]}/{quote(file_name)}/960px-{thumb_name}"
        seed = len(self.files) + 1
        body = image if image is not None else make_image(thumb_kind, seed=seed)
        self.upload.add_file(original_path, body, mime)
        if thumb:
            self.upload.add_file(thumb_path, body, f"image/{thumb_kind}")
        meta: dict[str, Any] = {}
        for key, value in (
            ("ObjectName", file_name.rsplit(".", 1)[0]),
            ("ImageDescription", description),
            ("Artist", artist),
            ("Credit", credit),
            ("LicenseShortName", license),
            ("LicenseUrl", license_url),
            ("AttributionRequired", attribution_required),
            ("Restrictions", restrictions),
            ("NonFree", "true" if nonfree else None),
            ("Copyrighted", "True"),
        ):
            if value is not None:
                meta[key] = {"value": value, "source": "commons-desc-page"}
        meta["Categories"] = {"value": "Pies|Apples", "source": "commons-categories", "hidden": ""}
        meta.update(extmetadata or {})
        site = "commons.wikimedia.org" if repository == "shared" else "en.wikipedia.org"
        record = WikiFile(
            title=title,
            width=size[0],
            height=size[1],
            mime=mime,
            extmetadata=meta,
            repository=repository,
            text=f"{file_name} {keywords} {description if isinstance(description, str) else ''}".lower(),
            url=self.upload.url + original_path,
            thumburl=self.upload.url + thumb_path if thumb else None,
            descriptionurl=f"https://{site}/wiki/{quote(title.replace(' ', '_'), safe=':')}",
            thumb_path=thumb_path,
            original_path=original_path,
            pageid=1000 + seed,
        )
        self.files[title] = record
        return record

    def add_article(self, title: str, files: list[WikiFile | str]) -> None:
        self.articles[title] = [f.title if isinstance(f, WikiFile) else f for f in files]

    # --- misbehaviour ---
    def lag(self, times: int = 1, retry_after: str = "1") -> None:
        """The next ``times`` API requests answer the maxlag error."""
        self._lag.extend([retry_after] * times)

    def fail_with(self, code: str, info: str) -> None:
        """Every API request answers an error in the body (until cleared with ``fail_with(None, "")``)."""
        self._error = (code, info) if code else None

    def api_requests(self, wiki: str = "commons") -> list[Request]:
        return self.server.requests_to(COMMONS_PATH if wiki == "commons" else WIKIPEDIA_PATH)

    # --- answering ---
    def _answer(self, request: Request, wiki: str) -> Response:
        version = 2 if request.param("formatversion") == "2" else 1
        if self._lag:
            retry_after = self._lag.pop(0)
            err = {
                "code": "maxlag",
                "info": "Waiting for 10.64.0.1: 7 seconds lagged.",
                "host": "10.64.0.1",
                "lag": 7,
                "type": "db",
            }
            return Response.json(
                self._error_body(err, version),
                headers={"Retry-After": retry_after, "X-Database-Lag": "7", "MediaWiki-API-Error": "maxlag"},
            )
        if self._error:
            code, info = self._error
            return Response.json(
                self._error_body({"code": code, "info": info}, version), headers={"MediaWiki-API-Error": code}
            )
        if request.param("action") != "query":
            return Response.json(
                self._error_body({"code": "badvalue", "info": 'Unrecognized value for parameter "action".'}, version)
            )
        if request.param("list") == "search":
            return self._article_search(request, version)
        generator = request.param("generator")
        if generator == "search":
            files = self._file_search(request.param("gsrsearch") or "", wiki)
            return self._pages_answer(
                request, version, files, "gsroffset", int(request.param("gsrlimit") or 10), indexed=True
            )
        if generator == "images":
            titles = (request.param("titles") or "").split("|")
            wanted = [t for a in titles for t in self.articles.get(a, [])]
            files = [self.files[t] for t in dict.fromkeys(wanted) if t in self.files]
            return self._pages_answer(
                request, version, files, "gimcontinue", int(request.param("gimlimit") or 10), indexed=False, wiki=wiki
            )
        return Response.json({"batchcomplete": True} if version == 2 else {"batchcomplete": ""})

    @staticmethod
    def _error_body(error: dict[str, Any], version: int) -> dict[str, Any]:
        doc = "See https://commons.wikimedia.org/w/api.php for API usage."
        body = {**error, "docref": doc} if version == 2 else {**error, "*": doc}
        return {"error": body, "servedby": "mw-api-standin"}

    def _file_search(self, search: str, wiki: str) -> list[WikiFile]:
        words = search.lower().split()
        bitmap_only = "filetype:bitmap" in words
        # CirrusSearch's size keywords: filew:>N / fileh:>N (at least N pixels), filew:<N, filew:N,M (a range).
        sizes = [(w[4], w[6:]) for w in words if re.fullmatch(r"file[wh]:\S+", w)]
        words = [w for w in words if ":" not in w]
        found = []
        for record in self.files.values():
            if wiki == "commons" and record.repository != "shared":
                continue
            if bitmap_only and record.mime == "image/svg+xml":
                continue
            if not all(_size_matches(record.width if side == "w" else record.height, rule) for side, rule in sizes):
                continue
            if all(w in record.text for w in words):
                found.append(record)
        return found

    def _article_search(self, request: Request, version: int) -> Response:
        words = (request.param("srsearch") or "").lower().split()
        limit = int(request.param("srlimit") or 10)
        hits = [t for t in self.articles if any(w in t.lower() for w in words)][:limit]
        results = [{"ns": 0, "title": t, "pageid": 5000 + i} for i, t in enumerate(hits)]
        body: dict[str, Any] = {"query": {"searchinfo": {"totalhits": len(hits)}, "search": results}}
        body["batchcomplete"] = True if version == 2 else ""
        return Response.json(body)

    def _pages_answer(
        self,
        request: Request,
        version: int,
        files: list[WikiFile],
        offset_param: str,
        limit: int,
        *,
        indexed: bool,
        wiki: str = "commons",
    ) -> Response:
        offset = int(request.param(offset_param) or 0)
        batch = files[offset : offset + min(limit, 50)]
        ii_start = int(request.param("iicontinue") or 0)
        ii_count = self.imageinfo_per_response or len(batch)
        ii_end = min(len(batch), ii_start + ii_count)
        pages = []
        for position, record in enumerate(batch):
            page: dict[str, Any] = {"ns": 6, "title": record.title}
            if wiki == "wikipedia" and record.repository == "shared":
                page["missing"] = True if version == 2 else ""  # no local description page
                page["known"] = True if version == 2 else ""
            else:
                page["pageid"] = record.pageid
            if indexed:
                page["index"] = offset + position + 1
            page["imagerepository"] = record.repository
            if ii_start <= position < ii_end:
                page["imageinfo"] = [self._imageinfo(record, request, version)]
            pages.append(page)
        body: dict[str, Any] = {}
        more = {}
        if ii_end < len(batch):
            more = {"iicontinue": str(ii_end), "continue": "||"}
        elif offset + len(batch) < len(files):
            more = {offset_param: offset + len(batch), "continue": f"{offset_param}||"}
        if more:
            body["continue"] = more
        if ii_end >= len(batch):
            body["batchcomplete"] = True if version == 2 else ""
        if version == 2:
            body["query"] = {"pages": pages}
        else:
            missing = iter(range(-1, -1000, -1))
            body["query"] = {"pages": {str(p.get("pageid", next(missing))): p for p in pages}}
        return Response.json(body)

    def _imageinfo(self, record: WikiFile, request: Request, version: int) -> dict[str, Any]:
        info: dict[str, Any] = {"size": 123456, "width": record.width, "height": record.height}
        width = int(request.param("iiurlwidth") or 0)
        if record.thumburl and width:
            info["thumburl"] = record.thumburl
            info["thumbwidth"] = min(width, record.width)
            info["thumbheight"] = round(record.height * min(width, record.width) / record.width)
        info["url"] = record.url
        info["descriptionurl"] = record.descriptionurl
        info["descriptionshorturl"] = record.descriptionurl.replace("/wiki/", "/w/index.php?curid=")
        info["mime"] = record.mime
        wanted = set((request.param("iiextmetadatafilter") or "").split("|")) - {""}
        meta = {}
        for key, entry in record.extmetadata.items():
            if wanted and key not in wanted:
                continue
            entry = dict(entry)
            if "hidden" in entry and version == 2:
                entry["hidden"] = True
            meta[key] = entry
        info["extmetadata"] = meta
        return info


def _size_matches(pixels: int, rule: str) -> bool:
    """One CirrusSearch filew:/fileh: rule: ">N" at least N, "<N" at most N, "N,M" between, "N" exactly."""
    if rule.startswith(">"):
        return pixels >= int(rule[1:])
    if rule.startswith("<"):
        return pixels <= int(rule[1:])
    if "," in rule:
        low, high = rule.split(",", 1)
        return (not low or pixels >= int(low)) and (not high or pixels <= int(high))
    return pixels == int(rule)


@pytest.fixture
def mediawiki(server: StandinServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MediaWikiStandin]:
    """A fresh MediaWiki stand-in on the session server; settings point Commons and Wikipedia at it."""
    from memer import settings

    standin = MediaWikiStandin(server, server).install()
    monkeypatch.setattr(settings, "COMMONS_API", standin.commons_api)
    monkeypatch.setattr(settings, "WIKIPEDIA_API", standin.wikipedia_api)
    yield standin


@pytest.fixture
def upload_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinServer]:
    """A second stand-in server on another loopback address, to act as the media host (trusted, as a seam)."""
    from memer import settings
    from tests.standins.settings import override

    with StandinServer(host="127.0.0.2") as upload:
        override(monkeypatch, TRUSTED_HOSTS=[*settings.TRUSTED_HOSTS, f"{upload.host}:{upload.port}"])
        yield upload
