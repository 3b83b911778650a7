"""Safe image loading: every mode the pipeline may meet becomes upright RGB; bad input is an ImageError."""

from __future__ import annotations

import io
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from memer import images, scaling, settings
from memer.errors import ImageError
from memer.images import open_image


def _encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def _png_rgb48(samples: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG, written by hand because Pillow cannot save one."""
    height, width, _ = samples.shape
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + samples[y].astype(">u2").tobytes() for y in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def _pixel(image: Image.Image, x: int = 0, y: int = 0) -> tuple[int, int, int]:
    return image.getpixel((x, y))


# --- sniffing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "png"),
        (b"GIF89a\x01\x00", "gif"),
        (b"GIF87a\x01\x00", "gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp"),
        (b"II*\x00\x08\x00\x00\x00", "tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "tiff"),
        (b"BM" + b"\x00" * 12 + b"\x28\x00\x00\x00", "bmp"),
        (b"\x00\x00\x01\x00\x01\x00\x10\x10", "ico"),
        (b"BMW is a car brand, not a bitmap", None),
        (b"<!DOCTYPE html><html>", None),
        (b'<?xml version="1.0"?><svg xmlns=', None),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"", None),
        (b"\xff\xd8", None),
    ],
)
def test_sniff_image_type(head, expected):
    assert images.sniff_image_type(head) == expected


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "ICO"])
def test_sniff_recognises_what_pillow_writes(fmt):
    data = _encode(Image.new("RGB", (32, 32), "red"), fmt)
    assert images.sniff_image_type(data[:32]) == fmt.lower()


# --- every mode becomes RGB -----------------------------------------------------------------


def _grey16(mode: str) -> bytes:
    ramp = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    image = Image.fromarray(ramp.astype(np.uint16)) if mode == "I;16" else Image.fromarray(ramp.astype(np.int32))
    return _encode(image, "PNG" if mode == "I;16" else "TIFF")


MODE_CASES = {
    # name: (bytes, pixel at (0,0) expected within tolerance, pixel at (7,7) expected)
    "RGB jpeg": (
        lambda: _encode(Image.new("RGB", (8, 8), (200, 30, 30)), "JPEG", quality=95),
        (200, 30, 30),
        (200, 30, 30),
    ),
    "L": (lambda: _encode(Image.new("L", (8, 8), 77), "PNG"), (77, 77, 77), (77, 77, 77)),
    "1-bit": (lambda: _encode(Image.new("1", (8, 8), 1), "PNG"), (255, 255, 255), (255, 255, 255)),
    "P": (lambda: _encode(Image.new("RGB", (8, 8), (0, 0, 255)).convert("P"), "PNG"), (0, 0, 255), (0, 0, 255)),
    "P with transparency": (
        lambda: _encode(Image.new("P", (8, 8), 0), "PNG", transparency=0),
        (255, 255, 255),
        (255, 255, 255),
    ),
    "LA half transparent": (
        lambda: _encode(Image.new("LA", (8, 8), (0, 128)), "PNG"),
        (127, 127, 127),
        (127, 127, 127),
    ),
    "RGBA transparent": (
        lambda: _encode(Image.new("RGBA", (8, 8), (255, 0, 0, 0)), "PNG"),
        (255, 255, 255),
        (255, 255, 255),
    ),
    "RGBA opaque": (
        lambda: _encode(Image.new("RGBA", (8, 8), (10, 200, 10, 255)), "PNG"),
        (10, 200, 10),
        (10, 200, 10),
    ),
    "CMYK": (
        lambda: _encode(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", quality=95),
        (255, 0, 0),
        (255, 0, 0),
    ),
    "CMYK tiff": (lambda: _encode(Image.new("CMYK", (8, 8), (255, 0, 255, 0)), "TIFF"), (0, 255, 0), (0, 255, 0)),
    "LAB": (lambda: _encode(Image.new("LAB", (8, 8), (255, 128, 128)), "TIFF"), (255, 255, 255), (255, 255, 255)),
    "I;16 ramp": (lambda: _grey16("I;16"), (0, 0, 0), (255, 255, 255)),
    "I 32-bit ramp": (lambda: _grey16("I"), (0, 0, 0), (255, 255, 255)),
    "F float 0..1": (
        lambda: _encode(Image.fromarray(np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)), "TIFF"),
        (0, 0, 0),
        (255, 255, 255),
    ),
    "F float wide range": (
        lambda: _encode(Image.fromarray(np.linspace(-500, 3000, 64, dtype=np.float32).reshape(8, 8)), "TIFF"),
        (0, 0, 0),
        (255, 255, 255),
    ),
    "RGB 48-bit png": (
        lambda: _png_rgb48(np.full((8, 8, 3), (65535, 32896, 0), dtype=np.uint16)),
        (255, 128, 0),
        (255, 128, 0),
    ),
    "webp": (
        lambda: _encode(Image.new("RGB", (8, 8), (0, 128, 255)), "WEBP", lossless=True),
        (0, 128, 255),
        (0, 128, 255),
    ),
    "bmp": (lambda: _encode(Image.new("RGB", (8, 8), (9, 99, 199)), "BMP"), (9, 99, 199), (9, 99, 199)),
}


@pytest.mark.parametrize("name", list(MODE_CASES))
def test_every_mode_opens_as_rgb(name):
    make, first, last = MODE_CASES[name]
    image = images.open_image(make())
    assert image.mode == "RGB"
    assert image.size == (8, 8)
    for got, want in ((_pixel(image), first), (_pixel(image, 7, 7), last)):
        assert all(abs(g - w) <= 6 for g, w in zip(got, want)), (name, got, want)


def test_sixteen_bit_is_scaled_not_clipped():
    """Mid-grey in 16 bits stays mid-grey; a clipping loader would make it white."""
    data = _encode(Image.fromarray(np.full((4, 4), 32768, dtype=np.uint16)), "PNG")
    assert abs(_pixel(images.open_image(data))[0] - 128) <= 1


def test_big_endian_sixteen_bit():
    image = Image.frombytes("I;16B", (2, 1), struct.pack(">HH", 0, 65535))
    assert image.mode == "I;16B"
    converted = images._to_rgb(image)
    assert _pixel(converted) == (0, 0, 0) and _pixel(converted, 1, 0) == (255, 255, 255)


def test_animation_gives_the_first_frame():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    pixel = _pixel(images.open_image(out.getvalue()))
    assert pixel[0] > 200 and pixel[1] < 50


@pytest.mark.parametrize(
    ("orientation", "size"),
    [(1, (40, 20)), (3, (40, 20)), (6, (20, 40)), (8, (20, 40))],
)
def test_exif_orientation_is_applied(orientation, size):
    image = Image.new("RGB", (40, 20), "white")
    image.paste((255, 0, 0), (0, 0, 10, 10))  # a red mark in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    upright = images.open_image(_encode(image, "JPEG", exif=exif.tobytes(), quality=95))
    assert upright.size == size
    red_corner = {1: (0, 0), 3: (size[0] - 1, size[1] - 1), 6: (size[0] - 1, 0), 8: (0, size[1] - 1)}[orientation]
    assert _pixel(upright, *red_corner)[0] > 200 and _pixel(upright, *red_corner)[1] < 60


def test_reads_a_path(tmp_path):
    path = tmp_path / "picture.png"
    Image.new("RGB", (5, 5), "green").save(path)
    assert images.open_image(path).size == (5, 5)
    assert images.open_image(str(path)).size == (5, 5)


# --- broken and hostile input ---------------------------------------------------------------


def _truncated_jpeg() -> bytes:
    rng = np.random.default_rng(1)
    data = _encode(Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)), "JPEG")
    return data[: len(data) // 2]


def _corrupt_png() -> bytes:
    data = bytearray(_encode(Image.new("RGB", (16, 16), "red"), "PNG"))
    data[40:60] = b"\x00" * 20
    return bytes(data)


BROKEN = [
    ("zero bytes", b"", "empty"),
    ("html page", b"<!DOCTYPE html><html><body>404 Not Found</body></html>", "HTML"),
    ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
    ("json", b'{"error": "rate limited"}', "JSON"),
    ("random bytes", bytes(range(256)) * 4, "not a picture"),
    ("truncated jpeg", _truncated_jpeg(), "truncated"),
    ("corrupt png", _corrupt_png(), ""),
    ("png header only", b"\x89PNG\r\n\x1a\n", ""),
]


@pytest.mark.parametrize(("name", "data", "words"), BROKEN, ids=[case[0] for case in BROKEN])
def test_broken_input_is_a_clear_image_error(name, data, words):
    with pytest.raises(ImageError) as caught:
        images.open_image(data)
    assert words.lower() in str(caught.value).lower()
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        images.open_image(tmp_path / "nope.jpg")


def test_folder_is_not_a_picture(tmp_path):
    with pytest.raises(ImageError, match="not a file"):
        images.open_image(tmp_path)


def test_decompression_bomb_is_refused_before_decoding():
    bomb = _encode(Image.new("L", (4000, 4000)), "PNG")  # tiny file, 16 megapixels
    assert len(bomb) < 100_000
    with pytest.raises(ImageError, match="megapixel"):
        images.open_image(bomb, max_pixels=1_000_000)


def test_pixel_cap_comes_from_settings(monkeypatch):
    monkeypatch.setattr(settings, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ImageError, match="MEMER_MAX_IMAGE_PIXELS"):
        images.open_image(_encode(Image.new("RGB", (20, 20)), "PNG"))


def test_pillow_bomb_error_becomes_image_error():
    """Past twice Pillow's own limit Pillow raises by itself; that too must be an ImageError."""
    huge = _encode(Image.new("1", (1, 1)), "PNG")
    header = struct.pack(">IIBBBBB", 20000, 20000, 1, 0, 0, 0, 0)
    huge = huge[:8] + _png_chunk(b"IHDR", header) + huge[8 + 25 :]
    with pytest.raises(ImageError):
        images.open_image(huge, max_pixels=10**12)


@pytest.mark.parametrize("as_path", [False, True])
def test_byte_cap(tmp_path, as_path):
    data = _encode(Image.new("RGB", (64, 64), "red"), "PNG")
    source = data
    if as_path:
        source = tmp_path / "big.png"
        source.write_bytes(data)
    with pytest.raises(ImageError, match="limit"):
        images.open_image(source, max_bytes=len(data) - 1)
    assert images.open_image(source, max_bytes=len(data)).size == (64, 64)


def test_byte_cap_comes_from_settings(monkeypatch):
    monkeypatch.setattr(settings, "MAX_IMAGE_BYTES", 10)
    with pytest.raises(ImageError, match="MEMER_MAX_IMAGE_BYTES"):
        images.open_image(_encode(Image.new("RGB", (8, 8)), "PNG"))


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_broken_exif_does_not_lose_the_picture():
    data = bytearray(
        _encode(Image.new("RGB", (8, 8), "blue"), "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff")
    )
    assert images.open_image(bytes(data)).size == (8, 8)


def test_never_hangs_on_many_broken_inputs():
    """Fuzz a valid PNG and JPEG byte by byte; every result is an image or an ImageError, quickly."""
    rng = np.random.default_rng(7)
    seeds = [_encode(Image.new("RGB", (24, 24), "red"), fmt) for fmt in ("PNG", "JPEG", "GIF", "WEBP")]
    failures: list[BaseException] = []

    def fuzz() -> None:
        for _ in range(150):
            data = bytearray(seeds[rng.integers(len(seeds))])
            for _ in range(int(rng.integers(1, 8))):
                data[int(rng.integers(len(data)))] = int(rng.integers(256))
            try:
                image = images.open_image(bytes(data[: int(rng.integers(8, len(data) + 1))]))
                assert image.mode == "RGB"
            except ImageError:
                pass
            except BaseException as err:  # noqa: BLE001 - collected and reported below
                failures.append(err)

    worker = threading.Thread(target=fuzz, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "open_image hung"
    assert not failures, failures[:3]


def test_keep_picture_checks_then_keeps_bytes_under_their_hash(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "DOWNLOAD_DIR", tmp_path)
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (1, 2, 3)).save(buffer, format="PNG")
    path, size = images.keep_picture(buffer.getvalue(), "own")
    assert size == (30, 20) and path.parent == tmp_path / "own" and path.suffix == ".png"
    assert path.read_bytes() == buffer.getvalue() and images.keep_picture(buffer.getvalue(), "own")[0] == path
    with pytest.raises(ImageError, match="HTML page"):
        images.keep_picture(b"<html>no</html>", "own")
    assert sorted(p.name for p in (tmp_path / "own").iterdir()) == [path.name]  # nothing half-kept


# --- transparency, colour profiles, PNM and lying icons (issue 11) --------------------------------------


def _png_rgb48_keyed(samples: np.ndarray, key: tuple[int, int, int]) -> bytes:
    """A 16-bit RGB PNG with a 16-bit tRNS colour key."""
    plain = _png_rgb48(samples)
    iend = plain.index(b"IEND") - 4
    return plain[:iend] + _png_chunk(b"tRNS", struct.pack(">HHH", *key)) + plain[iend:]


def _reopened(image: Image.Image) -> Image.Image:
    from memer.rendering import png_bytes

    return Image.open(io.BytesIO(png_bytes(image)))


def _one_bit_keyed() -> bytes:
    picture = Image.new("1", (16, 16), 0)
    picture.paste(1, (0, 0, 8, 16))
    return _encode(picture, "PNG", transparency=1)


def test_one_bit_png_with_a_colour_key_opens_and_saves():
    image = images.open_image(_one_bit_keyed())
    assert image.mode == "RGB" and image.info == {}
    out = _reopened(image)
    assert "transparency" not in out.info and out.mode == "RGB"
    assert out.getpixel((2, 2)) == (255, 255, 255) and out.getpixel((12, 2)) == (0, 0, 0)


def test_rgb_colour_key_is_laid_on_white_not_carried_into_the_output():
    picture = Image.new("RGB", (16, 16), (255, 0, 0))
    picture.paste((0, 0, 255), (0, 0, 8, 16))
    image = images.open_image(_encode(picture, "PNG", transparency=(255, 0, 0)))
    assert image.getpixel((12, 2)) == (255, 255, 255)  # the keyed red became the white background
    assert image.getpixel((2, 2)) == (0, 0, 255)
    assert "transparency" not in _reopened(image).info


def test_white_colour_key_does_not_make_white_letters_transparent():
    from memer.rendering import RenderOptions, png_bytes, render_meme

    keyed = images.open_image(_encode(Image.new("RGB", (64, 48), (255, 255, 255)), "PNG", transparency=(255, 255, 255)))
    meme = Image.open(io.BytesIO(png_bytes(render_meme(keyed, "hi", RenderOptions(output_size=64)))))
    assert meme.mode == "RGB" and "transparency" not in meme.info
    assert b"tRNS" not in png_bytes(render_meme(keyed, "hi", RenderOptions(output_size=64)))


def test_sixteen_bit_colour_key_is_applied_and_not_written():
    samples = np.zeros((8, 8, 3), dtype=np.uint16)
    samples[:, :4] = (65535, 0, 0)
    samples[:, 4:] = (0, 0, 65535)
    image = images.open_image(_png_rgb48_keyed(samples, (65535, 0, 0)))
    assert image.getpixel((1, 1)) == (255, 255, 255) and image.getpixel((6, 1)) == (0, 0, 255)
    assert "transparency" not in _reopened(image).info


def test_png_bytes_drops_whatever_the_picture_carries():
    from PIL import ImageCms

    from memer.rendering import png_bytes

    picture = Image.new("RGB", (8, 8), (10, 200, 30))
    picture.info.update(
        {
            "transparency": (10, 200, 30),
            "icc_profile": ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
        }
    )
    data = png_bytes(picture)
    assert b"tRNS" not in data and b"iCCP" not in data
    assert Image.open(io.BytesIO(data)).getpixel((0, 0)) == (10, 200, 30)
    rgba = png_bytes(Image.new("RGBA", (8, 8), (0, 0, 0, 0)))
    assert Image.open(io.BytesIO(rgba)).mode == "RGB"


def test_colour_profile_is_converted_and_dropped():
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = images.open_image(_encode(Image.new("RGB", (8, 8), (120, 60, 30)), "PNG", icc_profile=profile))
    assert image.info == {} and image.getpixel((0, 0)) == pytest.approx((120, 60, 30), abs=2)
    assert b"iCCP" not in _encode(image, "PNG")


@pytest.mark.parametrize(
    "data",
    [
        b"P6\n4 2\n255\n" + bytes([200, 10, 10]) * 8,
        b"P5 4 2 255\n" + bytes([90]) * 8,
        b"P3\n# a comment\n2 1\n255\n200 10 10  10 200 10\n",
        b"P1\n2 2\n1 0\n0 1\n",
    ],
)
def test_pnm_pictures_open(data):
    assert images.sniff_image_type(data[:32]) == "pnm"
    image = images.open_image(data)
    assert image.mode == "RGB" and image.size[0] in (2, 4)


def _icon_holding(png_header: bytes) -> bytes:
    """An ICO whose directory claims 256x256 (stored as 0, 0) for an embedded PNG."""
    directory = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png_header), 22)
    return directory + png_header


def test_icon_holding_a_far_larger_png_is_refused_before_decoding():
    header = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 13000, 13000, 8, 2, 0, 0, 0))
    data = _icon_holding(header + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + _png_chunk(b"IEND", b""))
    assert images.icon_sizes(data) == [(13000, 13000)]
    with pytest.raises(ImageError, match="13000x13000.*megapixel limit"):
        images.open_image(data)


def test_honest_icon_opens():
    icon = _encode(Image.new("RGBA", (32, 32), (200, 0, 0, 255)), "ICO", sizes=[(32, 32)])
    assert images.icon_sizes(icon) == [(32, 32)]
    assert images.open_image(icon).getpixel((5, 5)) == (200, 0, 0)


def test_sixteen_bit_grey_colour_key_is_applied():
    samples = np.zeros((4, 4), dtype=np.uint16)
    samples[:, :2], samples[:, 2:] = 40000, 1000
    rows = b"".join(b"\x00" + samples[y].astype(">u2").tobytes() for y in range(4))
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 16, 0, 0, 0, 0))
        + _png_chunk(b"tRNS", struct.pack(">H", 40000))
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )
    image = images.open_image(data)
    assert image.info == {} and image.getpixel((0, 0)) == (255, 255, 255) and image.getpixel((3, 0)) == (4, 4, 4)


# --- decoding only what a meme needs (issue 22) ------------------------------------------------------


def _photo_like(path, size=(4000, 3000)):
    """A large JPEG with a photo's kind of content: Pillow's real animated test picture blown up, with grain."""
    import numpy as np
    from PIL import Image

    base = Image.open(Path(__file__).parent / "data" / "animated" / "chi.gif").convert("RGB").resize(size)
    grain = np.random.default_rng(0).normal(0, 6, (size[1], size[0], 3))
    noisy = np.clip(np.asarray(base, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(path, quality=90)
    return path


def test_a_large_jpeg_is_decoded_only_as_large_as_the_meme_needs_and_looks_the_same(tmp_path):
    import numpy as np

    from memer.rendering import RenderOptions, render_meme

    path = _photo_like(tmp_path / "photo.jpg")
    full = open_image(path)
    small = open_image(path, max_side=1024)
    assert full.size == (4000, 3000)
    assert max(small.size) >= 1024 * scaling.DRAFT_SLACK and small.size[0] * small.size[1] <= 4000 * 3000 // 16
    caption = "the same look"
    from_full = np.asarray(render_meme(full, caption, RenderOptions()), dtype=np.int16)
    from_small = np.asarray(render_meme(small, caption, RenderOptions()), dtype=np.int16)
    assert from_full.shape == from_small.shape == (768, 1024, 3)
    difference = np.abs(from_full - from_small)
    assert difference.mean() < 1.5 and np.percentile(difference, 99) < 12


def test_a_large_picture_in_memory_is_reduced_then_resampled_and_looks_the_same(tmp_path):
    import numpy as np
    from PIL import Image

    photo = Image.open(_photo_like(tmp_path / "photo.jpg"))
    photo.load()
    assert scaling.reduce_for(photo, 1024).size == (1000, 750)  # 1/4: at least DRAFT_SLACK x 1024, then grown
    assert scaling.reduce_for(photo, 2000).size == (2000, 1500)
    assert scaling.reduce_for(photo, 4000) is photo
    quick = np.asarray(scaling.resampled(photo, (1024, 768)), dtype=np.int16)
    slow = np.asarray(photo.resize((1024, 768), Image.Resampling.LANCZOS), dtype=np.int16)
    difference = np.abs(quick - slow)
    assert quick.shape == (768, 1024, 3)
    # Measured: mean 0.43, 99th percentile 2. Nearest-neighbour scaling (1.48, 6) would fail both.
    assert difference.mean() < 0.8 and np.percentile(difference, 99) <= 3


def test_draft_decoding_keeps_the_safety_checks_and_exif_turn(tmp_path):
    from PIL import Image

    path = tmp_path / "tall.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown turned a quarter
    Image.new("RGB", (3000, 2000), (200, 30, 30)).save(path, exif=exif.tobytes())
    picture = open_image(path, max_side=500)
    assert picture.size[1] > picture.size[0] and 450 <= max(picture.size) <= 1000
    with pytest.raises(ImageError) as caught:
        open_image(path, max_side=500, max_pixels=1_000_000)
    assert caught.value.code == "image.too_large"


def test_a_large_png_is_reduced_by_a_whole_factor(tmp_path):
    from PIL import Image

    path = tmp_path / "big.png"
    Image.new("RGB", (3000, 2000), (10, 120, 200)).save(path)
    picture = open_image(path, max_side=1000)
    assert picture.size == (1000, 667) and picture.getpixel((10, 10)) == (10, 120, 200)
