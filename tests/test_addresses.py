"""The address policy: public addresses only, except the seams the user configured and links he typed."""

from __future__ import annotations

import threading

import pytest

from memer import addresses, http, settings, transport
from memer.addresses import RefusedAddress
from memer.candidates import ImageCandidate
from tests.standins.settings import override


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "private"),  # reserved; Python counts 240/4 as private too
        ("100.64.0.1", "not public"),  # carrier-grade NAT
        ("8.8.8.8", None),
        ("208.80.154.240", None),  # upload.wikimedia.org
        ("2606:4700:4700::1111", None),
    ],
)
def test_forbidden_reason(ip, reason):
    assert addresses.forbidden_reason(ip) == reason


def test_seams_the_user_configured_may_be_private(monkeypatch):
    override(monkeypatch, COMMONS_API="http://10.0.0.5:8080/w/api.php", TRUSTED_HOSTS=["mirror.lan", "[::1]:9000"])
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:4000/v1")
    assert addresses.check_url("http://10.0.0.5:8080/other") == ("http://10.0.0.5:8080/other", True)
    assert addresses.check_url("http://127.0.0.1:4000/v1/models")[1] is True
    assert addresses.check_url("http://mirror.lan:1234/a.jpg")[1] is True  # a host without port: any port
    assert addresses.check_url("http://[::1]:9000/a.jpg")[1] is True
    with pytest.raises(RefusedAddress, match=r"refused address \(private\): 10\.0\.0\.5"):
        addresses.check_url("http://10.0.0.5:8081/")  # the seam's host, another port
    with pytest.raises(RefusedAddress, match=r"\(loopback\)"):
        addresses.check_url("http://127.0.0.1:4001/")


def test_a_link_the_user_typed_may_be_private():
    assert addresses.check_url("http://192.168.1.20/cat.jpg", trusted=True) == ("http://192.168.1.20/cat.jpg", True)


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("http://user:pass@example.org/a.jpg", "http://example.org/a.jpg"),
        ("https://token@example.org:8443/a?b=c", "https://example.org:8443/a?b=c"),
        ("http://example.org/a@b.jpg", "http://example.org/a@b.jpg"),
    ],
)
def test_credentials_are_dropped_from_urls(url, clean):
    assert addresses.without_credentials(url) == clean


@pytest.mark.parametrize("url", ["ftp://example.org/a.jpg", "file:///etc/passwd", "gopher://x/", "http://[::1/a"])
def test_only_web_addresses(url):
    with pytest.raises(RefusedAddress, match="bad address"):
        addresses.check_url(url)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://exa mple.org/a.jpg", "'exa mple.org' has a character no host name has: ' '"),
        ("https://exa%20mple.org/a.jpg", "'exa%20mple.org' has a character no host name has: '%'"),
        ("http://ex!ample.org:8080/", "'ex!ample.org' has a character no host name has: '!'"),
    ],
)
@pytest.mark.parametrize("trusted", [False, True])
def test_a_host_no_name_can_have_is_a_bad_address_before_any_lookup(monkeypatch, url, shown, trusted):
    """Said by memer, not left to urllib3: 2.5 (Colab's) percent-encodes a space and asks DNS for the name."""
    import socket

    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: pytest.fail("looked up a malformed host"))
    with pytest.raises(RefusedAddress, match="bad address") as caught:
        addresses.check_url(url, trusted=trusted)
    assert shown in str(caught.value)


@pytest.mark.parametrize(
    "host", ["example.org", "my_host.lan", "bücher.example", "10.0.0.5", "::1", "xn--bcher-kva.de"]
)
def test_real_host_names_have_no_bad_character(host):
    assert addresses.bad_host_character(host) is None


def test_a_host_that_resolves_to_loopback_is_refused(hostile):
    with pytest.raises(RefusedAddress, match=r"refused address \(loopback\): localhost = 127\.0\.0\.1"):
        addresses.check_url(f"http://localhost:{hostile.port}/image")


def test_an_answer_naming_another_local_port_is_not_fetched(hostile):
    candidate = ImageCandidate(source="commons", title="inside job", image_url=hostile.url + "/image")
    report = http.download_images([candidate])
    assert report.failed == [(candidate, f"refused address (loopback): {hostile.host}")]
    assert hostile.requests == []  # not even asked


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "refused address (link-local): 169.254.169.254"),
        ("http://127.0.0.1:{port}/image", "refused address (loopback): 127.0.0.1"),
        ("http://localhost:{port}/image", "refused address (loopback): localhost = 127.0.0.1"),
    ],
)
def test_a_redirect_to_a_private_address_is_refused(server, hostile, target, reason):
    """The seam (the stand-in server) redirects; the hop is checked again and refused."""
    from tests.standins.server import Response

    location = target.format(port=hostile.port)
    server.route("/moved.jpg", lambda r: Response(302, b"", {"Location": location}))
    candidate = ImageCandidate(source="commons", title="moved", image_url=server.url + "/moved.jpg")
    report = http.download_images([candidate])
    assert report.failed == [(candidate, reason)]
    assert hostile.requests == []


def test_a_typed_link_may_reach_a_private_host(hostile):
    path = http.download_image(hostile.url + "/image", trusted=True)
    assert path.is_file()


def test_the_socket_actually_connected_is_checked_too(hostile, monkeypatch):
    """DNS that says "public" at the check and then connects to loopback (rebinding) is caught at the socket."""
    monkeypatch.setattr(addresses, "resolve", lambda host, port, timeout=None: ["93.184.216.34"])
    with pytest.raises(RefusedAddress, match=r"\(loopback\)"):
        transport.fetch(f"http://localhost:{hostile.port}/image", deadline=2.0, max_bytes=1 << 20)
    assert hostile.requests == []


def test_the_settings_name_every_seam():
    assert {"COMMONS_API", "WIKIPEDIA_API", "OPENIMAGES_URL", "NARRATIVES_URL", "OPENIMAGES_META_URL"} <= set(
        addresses.SEAM_SETTINGS
    )
    assert all(hasattr(settings, name) for name in addresses.SEAM_SETTINGS if name != "CACHE_URL")


def test_a_name_that_never_resolves_is_given_up_on_in_time(monkeypatch):
    """getaddrinfo has no timeout of its own: a resolver that hangs must not hang memer."""
    import socket
    import time

    release = threading.Event()
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: release.wait(5) and [])
    started = time.monotonic()
    try:
        with pytest.raises(addresses.SlowLookup, match="did not resolve within 0.2 s"):
            addresses.check_url("https://slow.example/x.jpg", timeout=0.2)
    finally:
        release.set()
    assert time.monotonic() - started < 1.5
