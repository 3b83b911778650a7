"""Writing an animated meme as GIF, WebP or APNG, with the credits each format can carry.

The format follows the file name's extension (``.gif``, ``.webp``, ``.png`` as
APNG); a still meme is always a PNG. The credits are the same checked text as a
PNG's (memer.rendering.png.checked_metadata) in each format's own place:

- APNG: PNG text chunks, as on a still meme;
- GIF: one comment extension, a ``Key: value`` line each (UTF-8);
- WebP: an XMP packet, each key as a ``memer:`` property, the caption as dc:description, the author as
  dc:creator and the licence as dc:rights (WebP has no text chunks; EXIF is not used).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from memer.errors import RenderError
from memer.rendering.png import checked_metadata, png_info

if TYPE_CHECKING:
    from PIL import Image

    from memer.rendering.animation import Animation

# Extension -> format, for a meme that moves; the first is what a bare name gets.
ANIMATED_SUFFIXES = {".gif": "gif", ".webp": "webp", ".png": "png", ".apng": "png"}
MIME_TYPES = {"png": "image/png", "gif": "image/gif", "webp": "image/webp"}
XMP_NAMESPACE = "urn:x-memer:metadata:1.0"  # memer's own properties in a WebP's XMP


def meme_path(path: str | Path, *, animated: bool, default: str = "png") -> tuple[Path, str]:
    """Where a meme is written and in which format, by the extension: an animation as ``.gif``, ``.webp`` or
    ``.png`` (APNG), a still as ``.png`` only. A name without an extension gets ``default``'s (the format the
    animation came in); any other extension is refused before anything is drawn."""
    from memer.rendering.png import png_path

    if not animated:
        return png_path(path), "png"
    target = Path(path).expanduser()
    if target.is_dir() or not target.name or target.name in (".", ".."):
        raise RenderError(
            f"{target} is a folder.",
            "Give a file name ending in .gif, .webp or .png.",
            code="render.cannot_write",
            fix="output",
        )
    if not target.suffix:
        return target.with_name(f"{target.name}.{default}"), default
    kind = ANIMATED_SUFFIXES.get(target.suffix.lower())
    if kind is None:
        raise RenderError(
            f"{target.name} ends in {target.suffix}, but an animated meme is written as GIF, WebP or APNG.",
            "Give a file name ending in .gif, .webp or .png.",
            code="render.cannot_write",
            fix="output",
        )
    return target, kind


def encode_animation(animation: Animation, kind: str, metadata: dict[str, str] | None = None) -> bytes:
    """The frames as an animated ``kind`` ("gif", "webp" or "png"), with their durations, disposal and looping."""
    frames = animation.frames
    out = io.BytesIO()
    common = {"save_all": True, "append_images": frames[1:], "duration": list(animation.durations)}
    loop = animation.loop
    if kind == "gif":
        # Quantized here, fast octree without dithering: Pillow's default (median cut) is 10x slower, and
        # dithering would make the still parts of the picture shimmer from frame to frame.
        paletted = [_paletted(frame) for frame in frames]
        frames = paletted
        common = dict(common, append_images=paletted[1:])
        options = dict(common, comment=gif_comment(metadata), optimize=False)
        if loop is not None and not (animation.kind != "gif" and loop == 1):
            options["loop"] = loop  # 0 forever; an APNG / WebP that plays once gets no loop block, as a GIF would
        disposal = _disposals(animation, "gif")
        if disposal is not None:
            options["disposal"] = disposal
        frames[0].save(out, format="GIF", **options)
    elif kind == "webp":
        once = 1 if loop is None else loop  # a GIF without a loop block plays once
        frames[0].save(out, format="WEBP", **common, loop=once, quality=90, method=4, xmp=webp_xmp(metadata))
    elif kind == "png":
        options = dict(common, loop=1 if loop is None else loop, pnginfo=png_info(metadata))
        disposal = _disposals(animation, "png")
        if disposal is not None:
            options["disposal"] = disposal
        frames[0].save(out, format="PNG", **options)
    else:
        raise RenderError(
            f"{kind!r} is not a format memer writes animations in.",
            "Use gif, webp or png.",
            code="render.cannot_write",
            fix="output",
        )
    return out.getvalue()


def _paletted(frame: Image.Image) -> Image.Image:
    from PIL import Image as PILImage

    return frame.quantize(256, method=PILImage.Quantize.FASTOCTREE, dither=PILImage.Dither.NONE)


def _disposals(animation: Animation, kind: str) -> list[int] | None:
    """The disposal per frame in ``kind``'s numbering: GIF 0-3 (unspecified, none, background, previous),
    APNG 0-2 (none, background, previous).

    The frames are whole pictures, so "none" and "background" show the same, and are kept as read.
    "Restore to previous" is written as "none": Pillow's encoder builds each frame as a change from the one
    before, which "previous" would undo (tests/test_render_animation.py shows it decoding wrongly).
    """
    read = animation.disposals
    if read is None:
        return None
    if animation.kind == "png":  # to GIF numbering
        read = [value + 1 for value in read]
    gif = [1 if value == 3 else value for value in read]
    return gif if kind == "gif" else [max(0, value - 1) for value in gif]


def gif_comment(metadata: dict[str, str] | None) -> bytes:
    """The credits as one GIF comment: ``Key: value`` lines, UTF-8."""
    lines = [f"{key}: {' '.join(text.split())}" for key, text in checked_metadata(metadata).items()]
    return "\n".join(lines).encode("utf-8")


def webp_xmp(metadata: dict[str, str] | None) -> bytes:
    """The credits as an XMP packet for a WebP: Dublin Core where it has a name for them, memer's own otherwise."""
    checked = checked_metadata(metadata)
    dublin = {"Caption": "description", "Author": "creator", "License": "rights"}
    parts = []
    for key, name in dublin.items():
        if key in checked:
            value = escape(checked[key])
            if name == "creator":
                parts.append(f"<dc:creator><rdf:Seq><rdf:li>{value}</rdf:li></rdf:Seq></dc:creator>")
            else:
                parts.append(f'<dc:{name}><rdf:Alt><rdf:li xml:lang="x-default">{value}</rdf:li></rdf:Alt></dc:{name}>')
    for key, text in checked.items():
        name = "".join(word.capitalize() if i else word.lower() for i, word in enumerate(key.replace("-", " ").split()))
        parts.append(f"<memer:{name}>{escape(text)}</memer:{name}>")
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:memer="{XMP_NAMESPACE}">' + "".join(parts) + "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")
