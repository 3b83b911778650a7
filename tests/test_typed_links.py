"""A link the user types (issue 19, item 4): its first hop is trusted, every redirect from it is not.

The user vouches for the host he typed (it may be his NAS); a redirect from it to another
service on the machine or the network is checked against the address policy like any
address from outside, and the message names no part of what was refused.
"""

from __future__ import annotations

import pytest

from memer import cli, http, pipeline
from memer.errors import ImageError
from tests.standins.typed_link import SECRET_BODY, SECRET_TYPE

REFUSED = "the link redirected to an address memer does not fetch"


def _says_nothing_of_the_target(message: str, typed_link) -> None:
    assert REFUSED in message
    for leak in (SECRET_TYPE, "x-inside", SECRET_BODY.decode(), str(typed_link.inside.port), "169.254", "/secret"):
        assert leak not in message, message
    assert "\n" not in message.strip()


@pytest.mark.parametrize("path", ["/away.jpg", "/away-picture.jpg", "/metadata.jpg"])
def test_a_redirect_from_a_typed_link_to_another_local_service_is_not_fetched(typed_link, path):
    with pytest.raises(ImageError) as caught:
        pipeline.own_picture(typed_link.url(path))
    _says_nothing_of_the_target(str(caught.value), typed_link)
    assert typed_link.inside.requests == []  # not even asked
    assert [r.path for r in typed_link.link.requests] == [path]  # the first hop, the one typed, was fetched


def test_a_redirect_whose_name_turns_local_at_the_socket_is_refused_without_naming_it(typed_link, monkeypatch):
    """DNS that says "public" at the check, then connects to loopback (rebinding): caught at the socket, told alike."""
    from memer import addresses

    monkeypatch.setattr(addresses, "resolve", lambda host, port, timeout=None: ["93.184.216.34"])
    with pytest.raises(ImageError) as caught:
        pipeline.own_picture(typed_link.url("/away-by-name.jpg"))
    _says_nothing_of_the_target(str(caught.value), typed_link)
    assert typed_link.inside.requests == []


def test_the_typed_link_itself_may_be_private_and_may_move_on_its_own_host(typed_link):
    """Its first hop is trusted; a redirect to another path of the very host and port typed stays trusted."""
    assert pipeline.own_picture(typed_link.url("/cat.jpg")).path.is_file()
    moved = pipeline.own_picture(typed_link.url("/moved.jpg"))
    assert moved.path.is_file() and typed_link.inside.requests == []


def test_the_download_layer_refuses_the_hop_without_naming_it(typed_link):
    with pytest.raises(http.DownloadFailure) as caught:
        http.download_image(typed_link.url("/away.jpg"), trusted=True)
    _says_nothing_of_the_target(str(caught.value), typed_link)


@pytest.mark.parametrize("command", ["caption", "make"])
def test_the_command_line_says_it_in_one_line(typed_link, command, tmp_path, capsys):
    link = typed_link.url("/away.jpg")
    args = ["caption", link, "--theme", "cats"] if command == "caption" else ["make", "cats", "--image", link]
    if command == "make":
        args += ["-o", str(tmp_path / "meme.png")]
    capsys.readouterr()
    assert cli.main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("memer: error: Could not download the picture at ") and "Traceback" not in err
    _says_nothing_of_the_target(err, typed_link)
    assert typed_link.inside.requests == []
