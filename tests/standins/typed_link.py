"""A link the user types, on a host that redirects elsewhere: to another service on the same machine.

The user trusts the host he typed (it may be his NAS on the home network), not whatever that
host names next. Two stand-in servers on loopback, neither a configured seam:

- ``link``, the host typed: ``/away.jpg`` redirects to the inside service (another port),
  ``/away-by-name.jpg`` to it by the name ``localhost``, ``/metadata.jpg`` to the cloud metadata address, ``/moved.jpg`` to ``/cat.jpg`` on itself,
  ``/cat.jpg`` is a real picture.
- ``inside``, another local service: ``/secret`` answers a private content type and body a
  message must never echo, ``/cat.jpg`` a real picture (so a refusal is the address's doing,
  not the content's). Every request it gets is recorded: a test asserts it got none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.standins.mediawiki import make_image
from tests.standins.server import Response, StandinServer

SECRET_TYPE = "application/x-inside-secret"
SECRET_BODY = b"inside-service-token-0xC0FFEE"
METADATA = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"


@dataclass
class TypedLink:
    link: StandinServer  # the host the user typed
    inside: StandinServer  # another service on the same machine

    def url(self, path: str) -> str:
        """The link as the user types it."""
        return self.link.url + path


def _redirect(location: str) -> Response:
    return Response(302, b"", {"Location": location, "Content-Type": "text/plain"})


@pytest.fixture(scope="session")
def _typed_link_servers() -> Iterator[TypedLink]:
    with StandinServer() as link, StandinServer() as inside:
        picture = make_image("jpeg", (80, 60), seed=4)
        inside.add_file("/secret", SECRET_BODY, SECRET_TYPE)
        inside.add_file("/cat.jpg", picture, "image/jpeg")
        link.add_file("/cat.jpg", picture, "image/jpeg")
        link.route("/away.jpg", lambda r: _redirect(inside.url + "/secret"))
        link.route("/away-picture.jpg", lambda r: _redirect(inside.url + "/cat.jpg"))
        link.route("/metadata.jpg", lambda r: _redirect(METADATA))
        link.route("/away-by-name.jpg", lambda r: _redirect(f"http://localhost:{inside.port}/secret"))
        link.route("/moved.jpg", lambda r: _redirect("/cat.jpg"))
        yield TypedLink(link, inside)


@pytest.fixture
def typed_link(_typed_link_servers: TypedLink) -> Iterator[TypedLink]:
    """The typed host and the inside service, request logs cleared; neither is trusted by any setting."""
    for server in (_typed_link_servers.link, _typed_link_servers.inside):
        server.reset()
    yield _typed_link_servers
