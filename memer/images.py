"""Open any picture the pipeline may meet and hand back an RGB image ready to draw on.

Downloads come from strangers: a file may be an HTML error page, truncated, a
decompression bomb, 16-bit, CMYK or animated, carry a transparency key or a
colour profile, or (an icon) claim one size and hold another. Everything that
cannot be used becomes an ``ImageError`` that says why, instead of a Pillow
traceback, and every picture handed on is plain: 8-bit sRGB RGB, opaque, with
no metadata of the input (``flatten``).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from memer import settings
from memer.errors import ImageError
from memer.scaling import draft, reduce_for
from memer.text import human_size

if TYPE_CHECKING:
    from PIL import Image

# What a 16-bit sample is divided by to become 8-bit: 65535 / 257 == 255 exactly.
_SIXTEEN_TO_EIGHT = 257.0


def sniff_image_type(head: bytes) -> str | None:
    """The image format named by a file's first bytes (magic numbers), or None.

    Used to check downloads before trusting a Content-Type header; SVG is not
    an image here (it needs a renderer), nor is anything else without a magic number.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"BM") and len(head) >= 18:
        dib_header_size = int.from_bytes(head[14:18], "little")
        if dib_header_size in (12, 16, 40, 52, 56, 64, 108, 124):
            return "bmp"
    if len(head) >= 6 and head[:4] == b"\x00\x00\x01\x00" and int.from_bytes(head[4:6], "little") > 0:
        return "ico"
    if len(head) >= 3 and head[:1] == b"P" and head[1:2] in b"123456" and head[2:3] in b" \t\r\n#":
        return "pnm"
    return None


def icon_sizes(data: bytes) -> list[tuple[int, int]]:
    """The real size of each picture inside an ICO file, read from the embedded PNG or BMP headers.

    An icon's directory may claim 256x256 for an entry that holds a far larger
    PNG; Pillow trusts the directory until it decodes, so the pixel cap is
    checked against these sizes instead.
    """
    count = int.from_bytes(data[4:6], "little")
    sizes = []
    for i in range(min(count, 256)):
        entry = 6 + 16 * i
        if entry + 16 > len(data):
            break
        offset = int.from_bytes(data[entry + 12 : entry + 16], "little")
        claimed = (data[entry] or 256, data[entry + 1] or 256)
        body = data[offset : offset + 24]
        if body.startswith(b"\x89PNG\r\n\x1a\n") and len(body) >= 24:
            sizes.append((int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")))
        elif len(body) >= 12 and int.from_bytes(body[:4], "little") >= 12:
            width = abs(int.from_bytes(body[4:8], "little", signed=True))
            height = abs(int.from_bytes(body[8:12], "little", signed=True)) // 2  # colour and mask halves
            sizes.append((max(width, claimed[0]), max(height, claimed[1])))
        else:
            sizes.append(claimed)
    return sizes


def _describe_non_image(head: bytes) -> str:
    text = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in text:
        return "is an HTML page, not an image (the server probably sent an error or login page)"
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "is an SVG drawing, which memer cannot draw on"
    if text.startswith((b"{", b"[")):
        return "looks like JSON, not an image"
    return "is not a picture in a format memer reads (JPEG, PNG, GIF, WebP, BMP, TIFF, ICO, PNM)"


def _read(source: str | Path | bytes, max_bytes: int) -> tuple[bytes, str]:
    """The file's bytes and a name for messages, refusing anything over ``max_bytes``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = "The image data"
    else:
        path = Path(source).expanduser()
        name = str(path)
        try:
            if not path.is_file():
                if path.exists():
                    raise ImageError(
                        f"{name} is not a file.", "Give the path of a picture file.", code="image.missing", fix="image"
                    )
                raise ImageError(
                    f"{name} does not exist.", "Check the path of the picture.", code="image.missing", fix="image"
                )
            size = path.stat().st_size
            if size > max_bytes:
                raise ImageError(
                    f"{name} is {human_size(size)}, over the {human_size(max_bytes)} limit.",
                    "Use a smaller picture or raise MEMER_MAX_IMAGE_BYTES.",
                    code="image.too_large",
                    fix="MEMER_MAX_IMAGE_BYTES",
                )
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError as err:
            raise ImageError(
                f"Cannot read {name}: {err.strerror or err}.",
                "Check the file and its permissions.",
                code="image.unreadable",
                fix="image",
            ) from None
    if len(data) > max_bytes:
        raise ImageError(
            f"{name} is over the {human_size(max_bytes)} limit.",
            "Use a smaller picture or raise MEMER_MAX_IMAGE_BYTES.",
            code="image.too_large",
            fix="MEMER_MAX_IMAGE_BYTES",
        )
    if not data:
        raise ImageError(
            f"{name} is empty (zero bytes).",
            "The download or copy failed; fetch the picture again.",
            code="image.unreadable",
            fix="image",
        )
    return data, name


def read_picture(source: str | Path | bytes, max_bytes: int | None = None) -> tuple[bytes, str]:
    """A picture file's bytes (or the bytes given) and a name for messages; ``ImageError`` when missing,
    unreadable, empty or over ``max_bytes`` (default settings.MAX_IMAGE_BYTES)."""
    return _read(source, settings.MAX_IMAGE_BYTES if max_bytes is None else max_bytes)


def open_image(
    source: str | Path | bytes,
    *,
    max_bytes: int | None = None,
    max_pixels: int | None = None,
    max_side: int | None = None,
) -> Image.Image:
    """Open a picture from a path or bytes as an upright RGB image, or raise ``ImageError``.

    EXIF orientation is applied; transparency lands on white; 16-bit and float
    samples are scaled into 8 bits rather than clipped; CMYK and LAB are
    converted; animations give their first frame. Files over ``max_bytes`` and
    images over ``max_pixels`` are refused before decoding.

    ``max_side`` says how large the caller will draw the picture (its longest side): only what is needed
    is decoded (a JPEG at the smallest DCT scale that is still about that large, within :data:`memer.scaling.DRAFT_SLACK`;
    then whole-pixel box reduction), so the picture may come back smaller than stored, down to about
    ``max_side``.
    """
    from PIL import Image, UnidentifiedImageError

    max_bytes = settings.MAX_IMAGE_BYTES if max_bytes is None else max_bytes
    max_pixels = settings.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    data, name = _read(source, max_bytes)
    kind = sniff_image_type(data[:32])
    if kind is None:
        raise ImageError(
            f"{name} {_describe_non_image(data)}.", "Pick another picture.", code="image.unreadable", fix="image"
        )

    too_big_hint = "Use a smaller picture or raise MEMER_MAX_IMAGE_PIXELS."
    for width, height in icon_sizes(data) if kind == "ico" else ():
        if width * height > max_pixels:
            raise ImageError(
                f"{name} is an icon holding a {width}x{height} picture, over the "
                f"{max_pixels / 1e6:.0f} megapixel limit (a decompression bomb?).",
                too_big_hint,
                code="image.too_large",
                fix="MEMER_MAX_IMAGE_PIXELS",
            )
    try:
        with warnings.catch_warnings():
            # Our own pixel cap below decides; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width <= 0 or height <= 0:
                raise ImageError(
                    f"{name} has no pixels ({width}x{height}).",
                    "Pick another picture.",
                    code="image.unreadable",
                    fix="image",
                )
            if width * height > max_pixels:
                raise ImageError(
                    f"{name} is {width}x{height} = {width * height / 1e6:.0f} megapixels, over the "
                    f"{max_pixels / 1e6:.0f} megapixel limit (a decompression bomb?).",
                    too_big_hint,
                    code="image.too_large",
                    fix="MEMER_MAX_IMAGE_PIXELS",
                )
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)
            elif max_side and kind == "jpeg" and max(width, height) > max_side:
                draft(image, max_side)
            image.load()
            if image.size != (width, height) and image.size[0] * image.size[1] > max_pixels:
                raise ImageError(
                    f"{name} decoded larger than it claimed ({image.size[0]}x{image.size[1]}).",
                    too_big_hint,
                    code="image.too_large",
                    fix="MEMER_MAX_IMAGE_PIXELS",
                )
            upright = _apply_exif_orientation(image)
            if max_side and upright.mode in ("RGB", "L") and "transparency" not in upright.info:
                upright = reduce_for(upright, max_side)  # before flatten: it copies, and a smaller copy is cheaper
                return flatten(upright)
            return reduce_for(flatten(upright), max_side) if max_side else flatten(upright)
    except ImageError:
        raise
    except Image.DecompressionBombError as err:
        # Pillow's own limit, which MEMER_MAX_IMAGE_PIXELS cannot raise.
        raise ImageError(
            f"{name} is too large to decode safely: {err}",
            "Use a smaller picture.",
            code="image.too_large",
            fix="image",
        ) from None
    except UnidentifiedImageError:
        raise ImageError(
            f"{name} is damaged or not an image Pillow can read.",
            "Pick another picture.",
            code="image.unreadable",
            fix="image",
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError, ZeroDivisionError) as err:
        reason = str(err) or type(err).__name__
        if "truncated" in reason.lower() or isinstance(err, EOFError):
            raise ImageError(
                f"{name} is truncated ({reason}).",
                "The download was cut short; fetch it again.",
                code="image.unreadable",
                fix="image",
            ) from None
        raise ImageError(
            f"{name} is corrupt and cannot be decoded ({reason}).",
            "Pick another picture.",
            code="image.unreadable",
            fix="image",
        ) from None


def _apply_exif_orientation(image: Image.Image) -> Image.Image:
    """Rotate/flip by the EXIF tag; a broken EXIF block leaves the picture as stored."""
    from PIL import ImageOps

    try:
        return ImageOps.exif_transpose(image) or image
    except Exception:  # noqa: BLE001 - bad metadata must not lose a good picture
        return image


def flatten(image: Image.Image, *, colour_key: bool = True) -> Image.Image:
    """The picture as plain 8-bit sRGB RGB: transparency laid on white, a colour profile converted to
    sRGB, and none of the input's metadata (info keys) kept.

    What reaches a meme must not carry the input's transparency or profile into
    the output: a white colour key would make white letters transparent. A tRNS
    colour key is applied (its pixels become white) when ``colour_key`` is set;
    a finished meme is flattened without it, its key only dropped.
    """
    profile = image.info.get("icc_profile")
    keyed = _apply_colour_key(image) if colour_key else image
    rgb = _to_rgb(keyed)
    if profile and image.mode not in ("CMYK", "LAB"):  # those were converted with their profile already
        rgb = _to_srgb(rgb, profile)
    if rgb is image:
        rgb = image.copy()
    rgb.info = {}
    return rgb


def _apply_colour_key(image: Image.Image) -> Image.Image:
    """A picture with a tRNS colour key (1-bit, grey, RGB, 16-bit grey) as RGBA with that colour transparent.

    Pillow keeps a 16-bit key as read while handing back 8-bit samples for
    16-bit RGB, so such a key is brought to 8 bits before it is compared.
    """
    import numpy as np
    from PIL import Image

    key = image.info.get("transparency")
    if key is None or image.mode in ("P", "PA", "LA", "La", "RGBA", "RGBa"):
        return image
    if image.mode not in ("1", "L", "RGB") and not image.mode.startswith("I;16") and image.mode != "I":
        return image
    try:
        if image.mode in ("1", "L", "RGB"):
            samples = np.asarray(image.convert("L" if image.mode == "1" else image.mode)).astype(np.int64)
            keys = np.asarray(key if isinstance(key, tuple) else (key,), dtype=np.int64)
            if image.mode == "1":
                samples, keys = np.where(samples > 0, 255, 0), np.where(keys > 0, 255, 0)
            elif keys.max(initial=0) > 255:
                keys = keys >> 8  # a 16-bit key for samples Pillow cut to their high byte
            base = image.convert("RGB")
        else:
            samples = np.asarray(image).astype(np.int64)
            keys = np.asarray((key,) if not isinstance(key, tuple) else key[:1], dtype=np.int64)
            base = _high_depth_to_rgb(image)
        clear = (samples == keys).all(axis=-1) if samples.ndim == 3 else samples == keys[0]
    except (TypeError, ValueError):
        return image  # a malformed key: the picture is used as opaque
    alpha = Image.fromarray(np.where(clear, 0, 255).astype(np.uint8))
    rgba = base.convert("RGBA")
    rgba.putalpha(alpha)
    return rgba


def _to_srgb(image: Image.Image, profile: bytes) -> Image.Image:
    """RGB pixels in an embedded profile (Display P3, Adobe RGB ...) converted to sRGB; a bad profile is ignored."""
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except Exception:  # noqa: BLE001 - littlecms missing or a broken profile: keep the pixels as they are
        return image
    return converted if converted is not None else image


def _to_rgb(image: Image.Image) -> Image.Image:
    from PIL import Image

    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("1", "L", "RGBX", "YCbCr", "HSV"):
        return image.convert("RGB")
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in image.info
        return _onto_white(image.convert("RGBA")) if has_alpha else image.convert("RGB")
    if mode in ("LA", "La", "RGBA", "RGBa"):
        if mode == "La":
            image = Image.merge("LA", image.split()).convert("RGBA")  # premultiplied is close enough on white
        return _onto_white(image.convert("RGBA"))
    if mode == "CMYK":
        return _cmyk_to_rgb(image)
    if mode == "LAB":
        return _lab_to_rgb(image)
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _high_depth_to_rgb(image)
    try:
        return image.convert("RGB")
    except ValueError:
        raise ImageError(
            f"Pictures in Pillow mode {mode} are not supported.",
            "Convert it to PNG or JPEG first.",
            code="image.unreadable",
            fix="image",
        ) from None


def _onto_white(rgba: Image.Image) -> Image.Image:
    from PIL import Image

    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _cmyk_to_rgb(image: Image.Image) -> Image.Image:
    """Use the embedded ICC profile when there is one (print files often have one), else Pillow's formula."""
    icc = image.info.get("icc_profile")
    if icc:
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
            if converted is not None:  # None only for an in-place conversion, which this is not
                return converted
        except Exception:  # noqa: BLE001 - a bad profile falls back to the plain conversion
            pass
    return image.convert("RGB")


def _lab_to_rgb(image: Image.Image) -> Image.Image:
    try:
        from PIL import ImageCms

        transform = ImageCms.buildTransform(ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB")
        converted = ImageCms.applyTransform(image, transform)
        if converted is not None:  # None only for an in-place transform, which this is not
            return converted
    except Exception:  # noqa: BLE001 - Pillow without littlecms: its own conversion
        pass
    return image.convert("RGB")


def _high_depth_to_rgb(image: Image.Image) -> Image.Image:
    """Scale 16-bit, 32-bit integer and float samples into 0..255 (never clip to white).

    Genuine 16-bit data (0..65535) is divided by 257 so that full scale stays full
    scale; float data in 0..1 is multiplied by 255; anything else is stretched
    from its own minimum to maximum.
    """
    import numpy as np
    from PIL import Image

    samples = np.asarray(image)
    if image.mode.startswith("I;16") or (samples.dtype.kind in "ui" and samples.dtype.itemsize == 2):
        scaled = samples.astype(np.float32) / _SIXTEEN_TO_EIGHT
    else:
        values = samples.astype(np.float64)
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        values = np.nan_to_num(values, nan=low, posinf=high, neginf=low)
        if image.mode == "I" and low >= 0 and high <= 65535:
            scaled = values / _SIXTEEN_TO_EIGHT
        elif image.mode == "F" and low >= 0 and high <= 1.0:
            scaled = values * 255.0
        elif high > low:
            scaled = (values - low) * (255.0 / (high - low))
        else:
            scaled = np.zeros_like(values)
    grey = Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))
    return grey.convert("RGB")


def jpeg_bytes(image: Image.Image, size: int, quality: int = 85) -> bytes:
    """``image`` scaled to fit a ``size``-pixel square, as JPEG: thumbnails, previews, the picture sent to a model."""
    from PIL import Image as PILImage

    picture = image.convert("RGB") if image.mode != "RGB" else image.copy()
    picture.thumbnail((size, size), PILImage.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def keep_picture(data: bytes, folder: str) -> tuple[Path, tuple[int, int]]:
    """Check picture bytes that have no file of their own (an upload, a generated picture) and keep them.

    The bytes pass :func:`open_image`'s checks and caps first (``ImageError`` otherwise), then land under
    their content hash in ``settings.download_dir() / folder``, written whole or not at all by each writer
    (processes saving the same picture at once never share a temporary file). Returns the path and the
    picture's size.
    """
    import hashlib

    from memer.files import holds, write_atomic

    picture = open_image(data)
    size = picture.size
    picture.close()
    target = settings.download_dir() / folder / f"{hashlib.sha256(data).hexdigest()[:32]}.{sniff_image_type(data[:32])}"
    if not holds(target, data):  # absent, or cut short by an older memer: written again
        write_atomic(target, data)
    return target, size
