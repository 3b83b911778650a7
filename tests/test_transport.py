"""The fetch policy against a hostile server: one deadline per request, capped bodies, no credentials sent."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from memer import http, transport
from memer.errors import SourceError
from tests.standins.settings import override


@pytest.fixture
def short(monkeypatch):
    """A half-second deadline and per-read timeouts longer than it, so only the deadline can stop a request."""
    override(
        monkeypatch,
        API_DEADLINE=0.5,
        DOWNLOAD_DEADLINE=0.5,
        READ_TIMEOUT=3.0,
        CONNECT_TIMEOUT=3.0,
        HTTP_RETRIES=2,
        HTTP_BACKOFF=0.0,
    )


@pytest.mark.parametrize("path", ["/trickle-headers?pause=0.05", "/trickle-body?pause=0.05", "/silence"])
def test_an_api_call_ends_at_its_deadline_however_the_server_stalls(trusted_hostile, short, path):
    start = time.monotonic()
    with pytest.raises(SourceError, match=r"did not answer within 0\.5 s"):
        http.request_json(trusted_hostile.url + path)
    assert time.monotonic() - start < 1.5


def test_a_download_whose_headers_trickle_ends_at_its_deadline(trusted_hostile, short):
    from memer.candidates import ImageCandidate

    candidate = ImageCandidate(source="commons", title="slow", image_url=trusted_hostile.url + "/trickle-headers")
    start = time.monotonic()
    report = http.download_images([candidate])
    assert report.failed == [(candidate, "took longer than 0.5 s")]
    assert time.monotonic() - start < 1.5


@pytest.mark.parametrize(("seconds", "asked"), [("1", 1), ("0.05", 3)], ids=["wait-past-deadline", "wait-fits"])
def test_retry_after_waits_only_inside_the_deadline(trusted_hostile, short, monkeypatch, seconds, asked):
    override(monkeypatch, RETRY_AFTER_MAX=30.0)
    start = time.monotonic()
    with pytest.raises(SourceError, match="answered HTTP 503"):
        http.request_json(trusted_hostile.url + f"/retry-after?seconds={seconds}")
    assert time.monotonic() - start < 0.6
    assert len(trusted_hostile.requests) == asked  # 1 + HTTP_RETRIES when the waits fit


def test_a_gzip_bomb_stops_at_the_decoded_cap_without_taking_memory(trusted_hostile, monkeypatch):
    override(monkeypatch, MAX_API_BYTES=1 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(SourceError, match=r"sent an answer larger than 1(\.0)? MB"):
            http.request_json(trusted_hostile.url + "/gzip-bomb?mb=50")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak / 1e6:.0f} MB"


def test_a_huge_json_answer_stops_at_the_cap(trusted_hostile, monkeypatch):
    override(monkeypatch, MAX_API_BYTES=1 << 20)
    with pytest.raises(SourceError, match="larger than"):
        http.request_json(trusted_hostile.url + "/huge-json?mb=3")


@pytest.mark.parametrize("depth", [100_000, 60])
def test_deeply_nested_json_is_refused_not_a_recursion_error(trusted_hostile, monkeypatch, depth):
    override(monkeypatch, MAX_JSON_DEPTH=50)
    with pytest.raises(SourceError, match="nested deeper than 50 levels"):
        http.request_json(trusted_hostile.url + f"/deep-json?depth={depth}")


def test_nesting_within_the_bound_is_read(trusted_hostile, monkeypatch):
    override(monkeypatch, MAX_JSON_DEPTH=50)
    assert http.request_json(trusted_hostile.url + "/deep-json?depth=3").payload == [[[]]]


def test_no_credentials_from_the_url_or_netrc_are_sent(trusted_hostile, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {trusted_hostile.host} login netrc-user password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    url = trusted_hostile.url.replace("http://", "http://url-user:url-secret@") + "/echo"
    sent = {k.lower(): v for k, v in http.request_json(url).payload.items()}
    assert "authorization" not in sent
    sent = {k.lower(): v for k, v in http.request_json(trusted_hostile.url + "/echo").payload.items()}
    assert "authorization" not in sent
    # The session itself, as the cache builder uses it, following a redirect the way requests does.
    direct = http.get_session().get(trusted_hostile.url + "/redirect?to=/echo", timeout=2)
    assert "authorization" not in {k.lower() for k in direct.json()}


def test_proxies_from_the_environment_still_apply(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    assert transport._proxies_for("https://commons.wikimedia.org/w/api.php")["https"] == "http://proxy.example:3128"
    assert transport._proxies_for("https://internal.example/") == {}


def test_redirects_are_bounded(trusted_hostile, monkeypatch):
    override(monkeypatch, MAX_REDIRECTS=3)
    with pytest.raises(SourceError, match="more than 3 redirects"):
        http.request_json(trusted_hostile.url + "/loop")
    assert len(trusted_hostile.requests) == 4
