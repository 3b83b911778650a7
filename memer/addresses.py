"""Which addresses memer may fetch: the one address policy (server-side request forgery).

An answer from outside (a thumbnail URL, a redirect) may name any address: other
ports on this machine, the cloud metadata service at 169.254.169.254, a router
on the home network. memer fetches only addresses that resolve to public
(global) IP addresses, checked after DNS and again on every redirect and on the
socket actually connected. The hosts of the seams the user configured
(settings COMMONS_API, WIKIPEDIA_API, the Open Images addresses, OPENAI_BASE_URL,
settings.TRUSTED_HOSTS) are exempt, and so is a link the user typed himself
(``trusted=True``). Credentials in a URL (``user:pass@``) are dropped, never sent.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from memer import settings

# The settings that name an outside service the user chose; a seam's host:port may be private.
SEAM_SETTINGS = (
    "COMMONS_API",
    "WIKIPEDIA_API",
    "OPENIMAGES_URL",
    "NARRATIVES_URL",
    "OPENIMAGES_META_URL",
    "CACHE_URL",  # the prebuilt Open Images cache, where a build of memer has one
)
SEAM_ENVIRONMENT = ("OPENAI_BASE_URL",)
DEFAULT_PORTS = {"http": 80, "https": 443}


class RefusedAddress(Exception):
    """An address the policy does not fetch; the message is the reason a person can read."""


class SlowLookup(RefusedAddress):
    """The host's name did not resolve in time: nothing is fetched from it (DNS is bounded like the rest)."""


def host_port(url: str) -> tuple[str, int] | None:
    """``(host, port)`` of an http(s) URL, the port filled in from the scheme; None when there is none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def bad_host_character(host: str) -> str | None:
    """The first character no host name or IP address has (a space, ``%``, ``!`` ...); None when there is none.

    Letters of any script are allowed (international names), with digits, ``-``, ``.`` and ``_``.
    """
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    return next((c for c in host if not (c.isalnum() or c in "-._")), None)


def seams() -> set[tuple[str, int | None]]:
    """The (host, port) of every seam the user configured; port None: any port of that host."""
    urls = [str(getattr(settings, name, "") or "") for name in SEAM_SETTINGS]
    urls += [os.environ.get(name, "") for name in SEAM_ENVIRONMENT]
    found: set[tuple[str, int | None]] = set()
    for url in urls:
        where = host_port(url)
        if where is not None:
            found.add(where)
    for entry in settings.TRUSTED_HOSTS:
        host, _, port = entry.strip().lower().rpartition(":") if _has_port(entry) else (entry.strip().lower(), "", "")
        if host:
            found.add((host.strip("[]"), int(port) if port else None))
    return found


def _has_port(entry: str) -> bool:
    head, _, tail = entry.rpartition(":")
    return bool(head) and tail.isdigit() and (not head.startswith("[") or head.endswith("]"))


def is_seam(host: str, port: int) -> bool:
    host = host.lower()
    return any(h == host and (p is None or p == port) for h, p in seams())


def forbidden_reason(ip: str) -> str | None:
    """Why ``ip`` may not be fetched from ("loopback", "private", ...), or None for a public address."""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for test, reason in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(address, test):
            return reason
    return None if address.is_global else "not public"


def resolve(host: str, port: int, timeout: float | None = None) -> list[str]:
    """Every IP address ``host`` resolves to (an IP literal resolves to itself), within ``timeout`` seconds.

    getaddrinfo has no timeout of its own, so it runs in a daemon thread that is given up
    on (SlowLookup) when the time is over; default: settings.CONNECT_TIMEOUT.
    """
    limit = settings.CONNECT_TIMEOUT if timeout is None else max(timeout, 0.0)
    answer: list[list[Any] | BaseException] = []  # getaddrinfo's answer or its error

    def lookup() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as err:  # noqa: BLE001 - handed to the waiting thread
            answer.append(err)

    worker = threading.Thread(target=lookup, name="memer-dns", daemon=True)
    worker.start()
    worker.join(limit)
    if not answer:
        raise SlowLookup(f"the name {host[:100]} did not resolve within {limit:g} s")
    infos = answer[0]
    if isinstance(infos, BaseException):
        raise infos
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def without_credentials(url: str) -> str:
    """``url`` with any ``user:pass@`` removed, so no library turns it into a Basic auth header."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def check_url(url: str, *, trusted: bool = False, timeout: float | None = None) -> tuple[str, bool]:
    """The URL to fetch (credentials dropped) and whether private addresses are allowed for it.

    Raises RefusedAddress for a non-web address, or for a host that resolves to an
    address the policy refuses. A host that does not resolve passes: the connection
    fails with "host not found".
    """
    try:
        clean = without_credentials(url)
    except ValueError:  # urlsplit: "http://[::1/a.jpg"
        clean = ""
    where = host_port(clean)
    if where is None:
        raise RefusedAddress(f"bad address ({url[:100]})")
    host, port = where
    wrong = bad_host_character(host)
    if wrong is not None:  # said here: urllib3 2.8 refuses it, 2.5 (Colab's) percent-encodes it and asks DNS
        raise RefusedAddress(f"bad address (host {host[:100]!r} has a character no host name has: {wrong!r})")
    if trusted or is_seam(host, port):
        return clean, True
    try:
        addresses = resolve(host, port, timeout)
    except (OSError, UnicodeError):
        return clean, False
    check_addresses(host, addresses)
    return clean, False


def check_addresses(host: str, addresses: list[str]) -> None:
    for ip in addresses:
        reason = forbidden_reason(ip)
        if reason is not None:
            shown = host if host == ip else f"{host} = {ip}"
            raise RefusedAddress(f"refused address ({reason}): {shown}")
