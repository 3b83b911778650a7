"""Your own picture as a source of one: a file, the bytes of an upload, or a link the user typed.

The picture goes through the same safe loading as any download (size and pixel
caps, the format checked by its bytes). A typed link's host is trusted like a seam
(it may be on a private network); a redirect from it elsewhere, like any address
named by an outside answer, is not.
"""

from __future__ import annotations

from pathlib import Path

from memer.candidates import ImageCandidate
from memer.errors import ImageError
from memer.text import display_safe, plain_title

OWN_CREDIT = "Image: your own picture"
_WEB_SCHEMES = ("http://", "https://")


def own_picture(source: str | Path | bytes, *, name: str = "") -> ImageCandidate:
    """Your own picture as the picked one: a file path, the bytes of an upload, or an http(s) link.

    It goes through the same safe loading as any download (size and pixel caps,
    the format checked by its bytes), so it is ready for captions and render.
    Raises ``ImageError`` saying what is wrong with it.
    """
    from memer.images import open_image

    if isinstance(source, (bytes, bytearray, memoryview)):
        from memer.images import keep_picture

        path, _size = keep_picture(bytes(source), "own")  # refuses non-pictures, bombs and oversized data first
        return _own_candidate(path, title=plain_title(name) or "your picture", image_url="")
    text = str(source).strip()
    if text.lower().startswith(_WEB_SCHEMES):
        return _linked_picture(text)
    if "://" in text:
        raise ImageError(
            f"memer cannot fetch {display_safe(text, 80)!r}.",
            "Give an http(s) link or a file's path.",
            code="image.bad_link",
            fix="image",
        )
    path = Path(text).expanduser()
    open_image(path).close()
    path = path.resolve()
    return _own_candidate(path, title=name or path.stem, image_url=path.as_uri())


def uploaded_file(value: object) -> tuple[bytes, str]:
    """(content, file name) of the first file in an ipywidgets ``FileUpload.value``, in either version's shape.

    ipywidgets 8: a tuple of dicts ``{"name", "type", "size", "content": memoryview, "last_modified"}``.
    ipywidgets 7: a dict ``{file name: {"metadata": {"name", "type", "size", ...}, "content": bytes}}``,
    where some front ends leave ``metadata`` a JSON string (or leave it out): the key names the file then.
    """
    if isinstance(value, dict):
        entries = [
            {"name": _metadata_name(item.get("metadata")) or key, "content": item.get("content")}
            for key, item in value.items()
            if isinstance(item, dict)
        ]
    elif isinstance(value, (list, tuple)):
        entries = [item for item in value if isinstance(item, dict)]
    else:
        entries = []
    for entry in entries:
        content = entry.get("content")
        if isinstance(content, (bytes, bytearray, memoryview)):
            return bytes(content), display_safe(str(entry.get("name") or ""), 120)
    raise ImageError(
        "No picture was uploaded.", "Choose a picture file with the upload button.", code="image.no_upload", fix="image"
    )


def _metadata_name(metadata: object) -> str:
    """The file name in ipywidgets 7's upload metadata, whatever shape it came in ("" when it names none)."""
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else ""


def _linked_picture(url: str) -> ImageCandidate:
    from memer import http
    from memer.images import open_image

    shown = display_safe(url, 200)
    host = http.host_of(url)
    if not host:
        raise ImageError(
            f"{shown!r} is not a link memer can read.",
            "Copy the picture's address again.",
            code="image.bad_link",
            fix="image",
        )
    try:
        # A link the user typed is trusted like a seam: it may be on a private network. Its redirects
        # elsewhere and addresses named by outside answers stay under the address policy (memer.addresses).
        path = http.download_image(url, trusted=True)
    except Exception as err:  # DownloadFailure or a requests error: say which in words
        raise ImageError(
            f"Could not download the picture at {shown}: {http.describe_failure(err)}.",
            "Check the link, or save the picture and give its file instead.",
            code="image.bad_link",
            fix="image",
        ) from err
    open_image(path).close()
    title = plain_title(url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]) or host
    candidate = _own_candidate(path, title=title, image_url=url)
    candidate.page_url = url
    candidate.original_url = url
    candidate.credit = f"Image: {shown} (from {display_safe(host, 100)}; you must have the right to use it)"
    candidate.restrictions = "A picture from a link you gave: use it only if you have the right to."
    return candidate


def _own_candidate(path: Path, *, title: str, image_url: str) -> ImageCandidate:
    return ImageCandidate(
        source="own",
        title=title,
        image_url=image_url or path.as_uri(),
        author="you",
        path=path,
        attribution_required=False,
        credit=OWN_CREDIT,
    )
