"""The finished meme as a PNG that carries its credits, written so no half file is ever left.

Only the text chunks named in ``METADATA_KEYS`` are written, and every value is
redacted of anything that looks like a key, so a stray secret cannot leak into
a shared picture. Nothing of the input picture travels: the pixels are
flattened to opaque sRGB and its info (transparency key, ICC profile, EXIF) is
dropped before encoding, since Pillow would otherwise write it back.
"""

from __future__ import annotations

import io
import os
import tempfile
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from memer import __version__, settings
from memer.errors import RenderError
from memer.images import flatten
from memer.text import redact_secrets

if TYPE_CHECKING:
    from PIL import Image, PngImagePlugin

    from memer.candidates import ImageCandidate

# The only text chunks memer writes; anything else is refused so no stray value (a key!) leaks in.
METADATA_KEYS = (
    "Caption",
    "Source",
    "Author",
    "License",
    "License URL",
    "Page URL",
    "Image URL",
    "Attribution",
    "Caption engine",
    "Description",  # alt text: what the picture shows (issue 15)
    "Software",
    "AI-generated",  # "yes" when a model drew the picture
    "Prompt",  # what it was asked to draw
)


def meme_metadata(
    candidate: ImageCandidate | None, caption: str, engine: str = "", *, description: str = ""
) -> dict[str, str]:
    """The PNG text chunks for a meme: its caption, the picture's alt text and credits."""
    data = {
        "Caption": caption,
        "Caption engine": engine,
        "Description": description,
        "Software": f"memer {__version__}",
    }
    if candidate is not None:
        data.update(
            {
                "Source": candidate.source_name,
                "Author": candidate.author,
                "License": candidate.license,
                "License URL": candidate.license_url,
                "Page URL": candidate.page_url,
                "Image URL": _web_address(candidate.original_url or candidate.image_url),
                "Attribution": candidate.attribution(),
            }
        )
        if candidate.ai_generated:
            data.update({"AI-generated": "yes", "Prompt": str(candidate.extra.get("prompt") or "")})
    return {key: value.strip() for key, value in data.items() if value and value.strip()}


def _web_address(url: str) -> str:
    """A web link, or "" for a file:// address: a local path does not belong in a shared picture."""
    return url if url.lower().startswith(("http://", "https://")) else ""


def checked_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """The metadata memer writes: only ``METADATA_KEYS``, each value cut, redacted of anything like a key and
    of control characters; empty values dropped. Every format (PNG text, GIF comment, WebP XMP) writes this."""
    checked = {}
    for key, value in (metadata or {}).items():
        if key not in METADATA_KEYS:
            raise RenderError(
                f"{key!r} is not a PNG metadata field memer writes.",
                f"Use one of {', '.join(METADATA_KEYS)}.",
                code="render.cannot_write",
                fix="output",
            )
        text = redact_secrets(str(value)[: 2 * settings.MAX_METADATA_CHARS])[: settings.MAX_METADATA_CHARS]
        text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
        if text:
            checked[key] = text
    return checked


def png_info(metadata: dict[str, str] | None) -> PngImagePlugin.PngInfo:
    """The PNG text chunks for ``metadata`` (tEXt, or iTXt beyond Latin-1): for a PNG and an APNG alike."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, text in checked_metadata(metadata).items():
        try:
            text.encode("latin-1")
            info.add_text(key, text)
        except UnicodeEncodeError:
            info.add_itxt(key, text, lang="", tkey="")
    return info


def png_bytes(image: Image.Image, metadata: dict[str, str] | None = None) -> bytes:
    """The meme as PNG bytes with its credits as text chunks (tEXt, or iTXt beyond Latin-1)."""
    info = png_info(metadata)
    out = io.BytesIO()
    flatten(image, colour_key=False).save(out, format="PNG", pnginfo=info, compress_level=6)
    return out.getvalue()


def png_path(path: str | Path) -> Path:
    """Where a meme is written: ``.png`` added to a name without an extension; any other extension refused
    (the file holds PNG bytes, and a ``.jpg`` full of PNG misleads every program that opens it)."""
    target = Path(path).expanduser()
    if target.is_dir() or not target.name or target.name in (".", ".."):
        raise RenderError(
            f"{target} is a folder.", "Give a file name ending in .png.", code="render.cannot_write", fix="output"
        )
    if not target.suffix:
        return target.with_name(target.name + ".png")
    if target.suffix.lower() != ".png":
        raise RenderError(
            f"{target.name} ends in {target.suffix}, but memer writes PNG files.",
            "Give a file name ending in .png.",
            code="render.cannot_write",
            fix="output",
        )
    return target


def save_png(path: str | Path, png: bytes) -> Path:
    """Write PNG bytes atomically (temporary file, then rename): no half-written meme on failure.

    The file name goes through ``png_path`` (``.png`` added when missing); the path written is returned.
    """
    return save_bytes(png_path(path), png)


def save_bytes(target: Path, data: bytes, suffix: str = ".png") -> Path:
    """Write a meme's bytes to ``target`` atomically (temporary file, then rename); ``suffix`` is what the
    messages ask for. Returns ``target``."""
    directory = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise RenderError(
            f"{target} is a folder.", f"Give a file name ending in {suffix}.", code="render.cannot_write", fix="output"
        )
    if not directory.is_dir():
        raise RenderError(
            f"The folder {directory} does not exist.",
            "Create it or write somewhere else.",
            code="render.cannot_write",
            fix="output",
        )
    try:
        handle = tempfile.NamedTemporaryFile(dir=directory, prefix=f".{target.name}.", suffix=".tmp", delete=False)  # noqa: SIM115
    except OSError as err:
        raise RenderError(
            f"Cannot write to {directory}: {err.strerror or err}.",
            "Choose a folder you can write to.",
            code="render.cannot_write",
            fix="output",
        ) from None
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, target)
    except OSError as err:
        Path(handle.name).unlink(missing_ok=True)
        raise RenderError(
            f"Cannot write {target}: {err.strerror or err}.",
            "Choose a file you can write.",
            code="render.cannot_write",
            fix="output",
        ) from None
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return target
