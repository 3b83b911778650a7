"""The HTTP layer: session, API calls, and downloads under every fault the stand-in can act out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from memer import __version__, http, settings
from memer.candidates import ImageCandidate
from memer.errors import SourceError
from tests.standins.mediawiki import make_image
from tests.standins.server import Response


@pytest.fixture
def quick(monkeypatch):
    """Short timeouts and retries, so a fault costs a fraction of a second."""
    monkeypatch.setattr(settings, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.setattr(settings, "READ_TIMEOUT", 0.5)
    monkeypatch.setattr(settings, "HTTP_RETRIES", 2)
    monkeypatch.setattr(settings, "HTTP_BACKOFF", 0.0)
    monkeypatch.setattr(settings, "RETRY_AFTER_MAX", 0.2)


def _files(server, count, folder="/img/", kind="jpeg"):
    candidates = []
    for i in range(count):
        url = server.add_file(f"{folder}{i}.{kind}", make_image(kind, seed=i), f"image/{kind}")
        candidates.append(ImageCandidate(source="commons", title=f"Picture {i}", image_url=url))
    return candidates


# --- session and API ---------------------------------------------------------------------


def test_user_agent_names_memer_its_contact_and_requests():
    import requests

    agent = http.user_agent()
    assert agent == f"memer/{__version__} ({settings.PROJECT_URL}; {settings.CONTACT}) requests/{requests.__version__}"


def test_user_agent_setting_overrides_and_the_session_follows(monkeypatch, server):
    server.route(
        "/ua", lambda r: Response.json({"ua": r.headers.get("user-agent"), "enc": r.headers.get("accept-encoding")})
    )
    monkeypatch.setattr(settings, "USER_AGENT", "my-bot/1.0 (me@example.org)")
    answer = http.request_json(server.url + "/ua").payload
    assert answer["ua"] == "my-bot/1.0 (me@example.org)"
    assert "gzip" in answer["enc"]


def test_one_session_is_reused():
    assert http.get_session() is http.get_session()


@pytest.mark.parametrize(
    ("header", "cap", "expected"),
    [("600", 30.0, 30.0), ("2", 30.0, 2.0), ("600", 0.2, 0.2), ("-5", 30.0, 0.0), ("nan", 30.0, 0.0)],
)
def test_retry_after_is_capped(monkeypatch, header, cap, expected):
    monkeypatch.setattr(settings, "RETRY_AFTER_MAX", cap)
    assert http.transport.retry_wait(header, 0) == expected


def test_request_json_retries_429_after_the_capped_retry_after(server, quick):
    server.route("/api", lambda r: Response.json({"ok": True}))
    server.fault("/api", "status", status=429, retry_after="3600", times=1)
    start = time.monotonic()
    assert http.request_json(server.url + "/api").payload == {"ok": True}
    assert time.monotonic() - start < 2
    assert len(server.requests_to("/api")) == 2


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (404, "Check the API address setting (MEMER_COMMONS_API / MEMER_WIKIPEDIA_API)."),
        (403, "Check the API address setting (MEMER_COMMONS_API / MEMER_WIKIPEDIA_API)."),
        (400, "Check the API address setting (MEMER_COMMONS_API / MEMER_WIKIPEDIA_API)."),
        (500, "Try again in a minute."),
        (503, "Try again in a minute."),
    ],
)
def test_http_errors_say_what_to_do(server, quick, status, hint):
    server.route("/api", lambda r: Response.json({"ok": True}))
    server.fault("/api", "status", status=status, retry_after="0")
    with pytest.raises(SourceError) as caught:
        http.request_json(server.url + "/api")
    assert caught.value.message == f"127.0.0.1 answered HTTP {status}."
    assert caught.value.hint == hint


def _header(retry_after: str | None) -> str | None:
    """The ``Retry-After`` header: as written, or ``date+N``: an HTTP date N seconds from now (made when the test runs)."""
    import email.utils

    if retry_after is not None and retry_after.startswith("date+"):
        return email.utils.formatdate(time.time() + float(retry_after[5:]), usegmt=True)
    return retry_after


RATE_LIMITS = [
    # (Retry-After, when the user is told to try again)
    ("120", "in 2 minutes"),
    ("45", "in a minute"),
    ("7200", "in about 2 hours"),
    ("date+600", "in 10 minutes"),
    ("259200", "in about 3 days"),
    ("inf", "in more than a week"),
    (None, "in a few minutes"),
    ("soon", "in a few minutes"),
]


@pytest.mark.parametrize(("retry_after", "when"), RATE_LIMITS)
def test_a_rate_limited_api_says_so_in_words_and_when_to_try_again(server, quick, retry_after, when):
    server.route("/api", lambda r: Response.json({"ok": True}))
    server.fault("/api", "status", status=429, retry_after=_header(retry_after))
    with pytest.raises(SourceError) as caught:
        http.request_json(server.url + "/api")
    assert caught.value.message == "127.0.0.1 is rate limiting memer (too many requests)."
    assert caught.value.hint == f"Try again {when}."


@pytest.mark.parametrize(("retry_after", "when"), RATE_LIMITS)
def test_a_rate_limited_download_is_dropped_with_a_reason_in_words(server, quick, retry_after, when):
    [candidate] = _files(server, 1, folder="/limited/")
    server.fault("/limited/", "status", status=429, retry_after=_header(retry_after))
    report = http.download_images([candidate])
    assert report.failed == [(candidate, f"rate limited by 127.0.0.1 (try again {when})")]


@pytest.mark.parametrize(
    ("fault", "params", "message"),
    [
        ("status", {"status": 500}, "HTTP 500"),
        ("html", {}, "did not answer with JSON (text/html)"),
        ("hang", {"seconds": 3}, "timed out after 0.5 s"),
        ("reset", {}, "connection reset"),
    ],
)
def test_request_json_failures_are_source_errors(server, quick, fault, params, message):
    server.route("/api", lambda r: Response.json({"ok": True}))
    server.fault("/api", fault, **params)
    start = time.monotonic()
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        http.request_json(server.url + "/api")
    assert time.monotonic() - start < 2.5


# --- downloads --------------------------------------------------------------------------


def test_downloads_land_in_the_cache_and_set_path(server):
    candidates = _files(server, 3)
    report = http.download_images(candidates)
    assert report.failed == [] and report.ok == candidates
    for i, candidate in enumerate(candidates):
        assert candidate.path.parent == settings.download_dir()
        assert candidate.path.name == f"{http.url_key(candidate.image_url)}.jpg"
        assert candidate.path.read_bytes() == make_image("jpeg", seed=i)


FAULTS = [
    # (fault, params, expected reason or None when the file still arrives)
    ("delay", {"seconds": 0.2}, None),
    ("hang", {"seconds": 5}, "timed out after 0.5 s"),
    ("status", {"status": 429, "retry_after": "3600", "times": 1}, None),  # retried after the capped wait
    ("status", {"status": 429, "retry_after": "1"}, "rate limited by 127.0.0.1 (try again in a minute)"),
    ("status", {"status": 503}, "HTTP 503"),
    ("status", {"status": 404}, "HTTP 404"),
    ("truncate", {}, "truncated download"),
    ("html", {}, "not an image (text/html)"),
    ("oversize", {"size": 200_000}, "larger than 97.7 KB"),
    ("reset", {}, "connection reset"),
]


@pytest.mark.parametrize(
    ("fault", "params", "reason"), FAULTS, ids=[f"{f[0]}-{f[1].get('status', '')}" for f in FAULTS]
)
def test_one_faulty_file_never_sinks_the_batch(server, quick, monkeypatch, fault, params, reason):
    monkeypatch.setattr(settings, "MAX_DOWNLOAD_BYTES", 100_000)
    candidates = _files(server, 4, folder=f"/faults-{fault}/")
    bad = candidates[1]
    server.fault(bad.image_url.removeprefix(server.url), fault, **params)
    start = time.monotonic()
    report = http.download_images(candidates)
    elapsed = time.monotonic() - start
    assert elapsed < 3, f"took {elapsed:.1f} s"
    if reason is None:
        assert report.failed == [] and len(report.ok) == 4
    else:
        assert report.failed == [(bad, reason)]
        assert report.ok == [c for c in candidates if c is not bad] and bad.path is None
    assert not any(p.name.endswith(".part") for p in settings.download_dir().iterdir())


def test_a_file_over_the_cap_without_content_length_is_stopped_while_streaming(server, monkeypatch):
    monkeypatch.setattr(settings, "MAX_DOWNLOAD_BYTES", 50_000)
    big = make_image("bmp", size=(200, 200))  # ~120 KB, an image by its first bytes

    server.route(
        "/big.bmp", lambda r: Response(200, big, {"Content-Type": "image/bmp", "Transfer-Encoding": "chunked"})
    )
    candidate = ImageCandidate(source="commons", title="big", image_url=server.url + "/big.bmp")
    report = http.download_images([candidate])
    assert report.failed == [(candidate, "larger than 48.8 KB")]
    folder = settings.download_dir()
    assert not folder.exists() or not list(folder.iterdir())  # nothing half-written is left behind
    fits = make_image("bmp", size=(100, 100))  # ~30 KB: under the cap
    server.route(
        "/small.bmp", lambda r: Response(200, fits, {"Content-Type": "image/bmp", "Transfer-Encoding": "chunked"})
    )
    small = ImageCandidate(source="commons", title="small", image_url=server.url + "/small.bmp")
    assert http.download_images([small]).ok == [small] and small.path.read_bytes() == fits


@pytest.mark.parametrize(("piece", "pause"), [(2048, 0.05), (1, 0.2)], ids=["steady-trickle", "byte-by-byte"])
def test_a_trickling_server_is_cut_off_at_the_download_deadline(server, quick, monkeypatch, piece, pause):
    monkeypatch.setattr(settings, "DOWNLOAD_DEADLINE", 0.5)
    slow_bytes = make_image("bmp", size=(200, 200))  # ~120 KB: about 3 s at 2 KB every 0.05 s
    slow = ImageCandidate(
        source="commons", title="slow", image_url=server.add_file("/trickle/slow.bmp", slow_bytes, "image/bmp")
    )
    fast = _files(server, 2, folder="/trickle/fast/")
    server.fault("/trickle/slow.bmp", "trickle", size=piece, seconds=pause)
    start = time.monotonic()
    report = http.download_images([slow, *fast])
    elapsed = time.monotonic() - start
    assert report.failed == [(slow, "took longer than 0.5 s")] and report.ok == fast
    assert elapsed < 1.5, f"the slow file held its slot for {elapsed:.1f} s"
    assert not any(p.name.endswith(".part") for p in settings.download_dir().iterdir())
    again = ImageCandidate(source="commons", title="slow", image_url=slow.image_url)
    server.clear_faults()
    assert http.download_images([again]).ok == [again], "the session works after a cut-off"


def test_repeated_downloads_hit_the_cache(server, tmp_path):
    candidates = _files(server, 3, folder="/cache/")
    first = http.download_images(candidates, tmp_path / "one")
    assert len(first.ok) == 3 and len(server.requests_to("/cache/")) == 3
    again = [ImageCandidate(source="commons", title=c.title, image_url=c.image_url) for c in candidates]
    second = http.download_images(again, tmp_path / "two")
    assert len(second.ok) == 3
    assert len(server.requests_to("/cache/")) == 3, "the second search must download nothing"
    assert all(
        c.path.parent == tmp_path / "two" and c.path.read_bytes() == o.path.read_bytes()
        for c, o in zip(again, candidates)
    )


@pytest.mark.parametrize(
    "title",
    [
        "../../x.jpg",
        "a/b.jpg",
        "/etc/passwd",
        "..\\..\\win.jpg",
        "nul\x00byte.jpg",
        "x" * 5000 + ".jpg",
        "..",
        "",
        "File:Ok.jpg",
        "Ünïcødé ☃.jpg",
    ],
)
def test_hostile_titles_stay_inside_the_destination(server, tmp_path, title):
    (candidate,) = _files(server, 1, folder="/hostile/")
    candidate.title = title
    dest = tmp_path / "dest"
    report = http.download_images([candidate], dest)
    assert report.failed == []
    assert candidate.path.resolve().parent == dest.resolve()
    assert candidate.path.is_file() and len(candidate.path.name) < 120
    assert candidate.path.suffix == ".jpg"
    assert list(tmp_path.iterdir()) == [dest]


@pytest.mark.parametrize(
    ("title", "stem"),
    [
        ("File:Apple pie.JPG", "apple-pie"),
        ("../../x.jpg", "x"),
        ("a/b.jpg", "a-b"),
        ("", ""),
        ("...", ""),
        ("猫.jpg", ""),
        ("Crème brûlée\x00/../(2).png", "creme-brulee-2"),
    ],
)
def test_safe_filename(title, stem):
    name = http.safe_filename(title, "https://u/x", "png")
    digest = http.url_key("https://u/x")[:10]
    assert name == (f"{stem}-{digest}.png" if stem else f"{digest}.png")


@pytest.mark.parametrize(
    "title",
    ["猫" * 90 + ".jpg", "é" * 200 + ".jpg", "a" + "語" * 85],
    ids=["cjk", "latin-accents", "mixed"],
)
def test_long_non_ascii_titles_fit_the_filesystems_byte_limit(server, tmp_path, title):
    name = http.safe_filename(title, "https://u/x", "jpg")
    assert len(name.encode("utf-8")) <= 8 * 24 + 7 + 15 < 255  # eight words of 24 letters, the digest: any filesystem
    assert name.encode("utf-8").decode("utf-8") == name  # no character cut in half
    (candidate,) = _files(server, 1, folder="/long-title/")
    candidate.title = title
    report = http.download_images([candidate], tmp_path / "dest")
    assert report.failed == [] and candidate.path.parent == tmp_path / "dest"
    assert candidate.path.name == http.safe_filename(title, candidate.image_url, "jpg")


def test_the_per_host_limit_holds(server, upload_server, monkeypatch):
    monkeypatch.setattr(settings, "WIKIMEDIA_MEDIA_HOSTS", ["127.0.0.2"])
    monkeypatch.setattr(settings, "WIKIMEDIA_UPLOAD_LIMIT", 2)
    monkeypatch.setattr(settings, "PER_HOST_LIMIT", 4)
    monkeypatch.setattr(settings, "DOWNLOAD_WORKERS", 8)
    upload = _files(upload_server, 6, folder="/upload/")
    other = _files(server, 8, folder="/other/")
    upload_server.latency = server.latency = 0.15
    report = http.download_images(upload + other)
    assert report.failed == [] and len(report.ok) == 14
    assert upload_server.peak_concurrency("/upload/") == 2
    assert server.peak_concurrency("/other/") == 4


def test_candidates_without_an_address_fail_alone(server):
    (good,) = _files(server, 1, folder="/alone/")
    empty = ImageCandidate(source="commons", title="nothing", image_url="")
    report = http.download_images([empty, good])
    assert report.failed == [(empty, "no image address")] and report.ok == [good]


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://[::1/a.jpg", "[::1"),
        ("http://exa mple.org/a.jpg", "exa mple.org"),
        ("ftp://example.org/a.jpg", "ftp://"),
        ("a.jpg", "a.jpg"),
    ],
)
def test_a_malformed_address_fails_alone(server, tmp_path, url, named):
    good = _files(server, 2, folder="/malformed/")
    bad = ImageCandidate(source="commons", title="bad", image_url=url)
    report = http.download_images([good[0], bad, good[1]], tmp_path)
    assert report.ok == good and [c for c, _ in report.failed] == [bad]
    reason = report.failed[0][1]
    assert reason.startswith("bad address (") and named in reason  # the words say what is wrong, on any urllib3


def test_an_unexpected_error_fails_one_file_only(server, monkeypatch):
    good = _files(server, 2, folder="/unexpected/")
    real = http.download_image

    def download_image(url, **options):
        if url == good[0].image_url:
            raise RuntimeError("something nobody planned for")
        return real(url, **options)

    monkeypatch.setattr(http, "download_image", download_image)
    report = http.download_images(good)
    assert report.ok == [good[1]] and report.failed == [(good[0], "RuntimeError: something nobody planned for")]


def test_an_existing_file_in_the_destination_is_reused(server, tmp_path):
    (candidate,) = _files(server, 1, folder="/reuse/")
    http.download_images([candidate], tmp_path)
    first = Path(candidate.path)
    mtime = first.stat().st_mtime_ns
    http.download_images([candidate], tmp_path)
    assert candidate.path == first and first.stat().st_mtime_ns == mtime


# --- the cache keeps only pictures; Wikimedia's lanes; Ctrl-C ----------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/short-image", "unreadable image: is truncated"),  # a short body that matches its Content-Length
        ("/poisoned-image", "unreadable image: is "),  # a JPEG signature, then garbage
    ],
)
def test_a_broken_download_is_never_cached(trusted_hostile, path, reason):
    candidate = ImageCandidate(source="commons", title="broken", image_url=trusted_hostile.url + path)
    report = http.download_images([candidate])
    assert [c for c, _ in report.failed] == [candidate] and report.failed[0][1].startswith(reason)
    assert http.cached_path(candidate.image_url) is None
    folder = settings.download_dir()
    assert not folder.exists() or not list(folder.iterdir())


def test_a_cached_file_that_no_longer_decodes_is_fetched_again(trusted_hostile):
    url = trusted_hostile.url + "/image"
    first = http.download_image(url)
    first.write_bytes(first.read_bytes()[:200])  # the disk (or an older memer) cut it short
    again = http.download_image(url)
    assert len([p for p, _ in trusted_hostile.requests if p == "/image"]) == 2
    from memer.images import open_image

    open_image(again).close()


def test_every_wikimedia_media_host_is_held_to_the_two_lanes():
    assert set(settings.WIKIMEDIA_MEDIA_HOSTS) >= {"upload.wikimedia.org", "thumb.wikimedia.org"}
    assert http.host_limit("thumb.wikimedia.org") == http.host_limit("upload.wikimedia.org") == 2


def test_two_media_hosts_together_keep_to_the_two_lanes(upload_server, monkeypatch):
    """Wikimedia allows two downloads at once in all: upload. and thumb. share them, they do not get two each."""
    import threading

    from tests.standins.server import StandinServer
    from tests.standins.settings import override

    lock = threading.Lock()
    in_flight, peak = 0, 0

    def counting(request):  # one count across both stand-in hosts
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            time.sleep(0.15)
            seed = int(request.path.rsplit("/", 1)[-1].split(".")[0])
            return Response(200, make_image("jpeg", seed=seed), {"Content-Type": "image/jpeg"})
        finally:
            with lock:
                in_flight -= 1

    with StandinServer(host="127.0.0.3") as thumb_server:
        override(
            monkeypatch,
            TRUSTED_HOSTS=[*settings.TRUSTED_HOSTS, f"{thumb_server.host}:{thumb_server.port}"],
            WIKIMEDIA_MEDIA_HOSTS=[upload_server.host, thumb_server.host],
            WIKIMEDIA_UPLOAD_LIMIT=2,
            PER_HOST_LIMIT=4,
            DOWNLOAD_WORKERS=8,
        )
        candidates = []
        for n, media in enumerate((upload_server, thumb_server)):
            media.route("/media/", counting)
            candidates += [
                ImageCandidate(source="commons", title=f"Picture {n}{i}", image_url=f"{media.url}/media/{n}{i}.jpg")
                for i in range(4)
            ]
        report = http.download_images(candidates)
    assert report.failed == [] and len(report.ok) == 8
    assert peak == 2


def test_ctrl_c_stops_a_batch_of_stalled_downloads_at_once(trusted_hostile, monkeypatch):
    import _thread
    import threading

    monkeypatch.setattr(settings, "DOWNLOAD_DEADLINE", 30.0)
    monkeypatch.setattr(settings, "READ_TIMEOUT", 30.0)
    stalled = [
        ImageCandidate(source="commons", title=f"stalled {i}", image_url=f"{trusted_hostile.url}/silence?n={i}")
        for i in range(4)
    ]
    threading.Timer(0.3, _thread.interrupt_main).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        http.download_images(stalled)
    assert time.monotonic() - start < 2
    give_up = time.monotonic() + 1.0
    while any(t.name == "memer-download" for t in threading.enumerate()) and time.monotonic() < give_up:
        time.sleep(0.02)
    assert not any(t.name == "memer-download" for t in threading.enumerate())
