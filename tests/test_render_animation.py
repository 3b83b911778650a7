"""Animated memes (issue 22) on real animated files from Pillow's test images (tests/data/animated/SOURCE.md).

Each output is decoded again and compared with what was meant: the same timeline (an encoder may merge two
identical frames into one longer one, never change what shows when), the loop, and the caption's own pixels
on every frame.
"""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from memer import pipeline, settings
from memer.errors import ImageError, RenderError
from memer.rendering import RenderOptions
from memer.rendering.animation import (
    MIN_ANIMATION_SIDE,
    caption_overlay,
    is_animated,
    open_animation,
    render_animation,
)
from memer.rendering.formats import encode_animation
from tests.standins.settings import override

DATA = Path(__file__).parent / "data" / "animated"
CHI = DATA / "chi.gif"
TEXT = "when the gif still moves"


def decoded(data: bytes) -> tuple[list[np.ndarray], list[int], Image.Image]:
    """Each frame of an encoded animation as Pillow composes it (RGB), and its duration."""
    image = Image.open(io.BytesIO(data))
    frames, durations = [], []
    for index in range(image.n_frames):
        image.seek(index)
        image.load()
        frames.append(np.asarray(image.convert("RGB"), dtype=np.int16))
        durations.append(round(float(image.info.get("duration") or 0)))
    return frames, durations, image


def spans(durations: list[int]) -> list[tuple[int, int]]:
    """When each frame starts and ends, in ms (a frame of 0 ms shows at no moment)."""
    ends = [int(t) for t in np.cumsum(durations)]
    return [(end - duration, end) for end, duration in zip(ends, durations)]


def check_round_trip(captioned, data: bytes, tolerance: float) -> tuple[list[np.ndarray], list[int], Image.Image]:
    """At the middle of every decoded frame's time, it shows the captioned frame meant for that moment, within
    ``tolerance`` (mean level)."""
    frames, durations, image = decoded(data)
    meant = captioned.animation
    assert sum(durations) == sum(meant.durations)
    assert len(frames) <= len(meant.frames)
    meant_spans = spans(meant.durations)
    for (start, end), frame in zip(spans(durations), frames):
        if end == start:
            continue
        moment = (start + end) // 2
        index = next(i for i, (s, e) in enumerate(meant_spans) if s <= moment < e)
        expected = np.asarray(meant.frames[index], dtype=np.int16)
        assert frame.shape == expected.shape
        assert np.abs(frame - expected).mean() < tolerance
    return frames, durations, image


def check_caption_on_every_frame(captioned, frames: list[np.ndarray], options: RenderOptions) -> None:
    """Where the caption is fully opaque, every decoded frame shows its colour: white letters, black outline."""
    colour, alpha = caption_overlay(captioned.composition, options)
    solid = np.asarray(alpha) == 255
    ink = np.asarray(colour, dtype=np.int16)
    white, black = solid & (ink.min(axis=2) > 240), solid & (ink.max(axis=2) < 15)
    assert white.sum() > 500 and black.sum() > 500
    for frame in frames:
        assert (frame[white].min(axis=1) > 200).mean() > 0.97
        assert (frame[black].max(axis=1) < 60).mean() > 0.97


@pytest.fixture(scope="module")
def chi():
    animation = open_animation(CHI)
    assert animation is not None
    options = RenderOptions(position="bottom")
    return render_animation(animation, TEXT, options), options


def test_a_real_gif_is_read_with_its_frames_timing_and_loop():
    animation = open_animation(CHI)
    source = Image.open(CHI)
    assert animation is not None and animation.kind == "gif" and animation.loop == 0 == source.info["loop"]
    assert len(animation.frames) == source.n_frames == 31 and animation.durations == [100] * 31
    assert animation.size == (320, 240)  # not blown up to 1024: a GIF's own size is kept
    assert is_animated(CHI) and not is_animated(DATA / "LICENSE-Pillow.txt")


@pytest.mark.parametrize(("kind", "tolerance"), [("gif", 4.0), ("png", 0.5), ("webp", 6.0)])
def test_the_caption_is_on_every_frame_and_the_timeline_and_loop_are_kept(chi, kind, tolerance):
    captioned, options = chi
    data = encode_animation(captioned.animation, kind, {"Caption": TEXT})
    frames, _, image = check_round_trip(captioned, data, tolerance)
    assert image.format == {"gif": "GIF", "png": "PNG", "webp": "WEBP"}[kind] and image.info.get("loop") == 0
    assert len(frames) > 10  # still moving: 31 frames, of which only identical neighbours may be merged
    check_caption_on_every_frame(captioned, frames, options)


def test_the_caption_is_laid_out_once_and_drawn_as_on_a_still():
    animation = open_animation(CHI)
    assert animation is not None
    options = RenderOptions(position="both")
    captioned = render_animation(animation, "top | bottom", options)
    from memer.rendering.compose import render_placed

    still, placements = render_placed(animation.frames[0], "top | bottom", RenderOptions("both", output_size=320))
    assert captioned.placements == placements
    assert np.abs(np.asarray(captioned.frames[0], np.int16) - np.asarray(still, np.int16)).max() <= 2


@pytest.mark.parametrize("name", ["dispose_bgnd.gif", "dispose_prev.gif"])
def test_gif_disposal_is_read_kept_and_shows_the_same_frames(name):
    animation = open_animation(DATA / name)
    assert animation is not None
    source = Image.open(DATA / name)
    read = []
    for index in range(source.n_frames):
        source.seek(index)
        read.append(source.disposal_method)
    assert animation.disposals == read and len(set(read)) > 1
    captioned = render_animation(animation, TEXT)
    data = encode_animation(captioned.animation, "gif")
    check_round_trip(captioned, data, 4.0)
    written = Image.open(io.BytesIO(data))
    methods = []
    for index in range(written.n_frames):
        written.seek(index)
        methods.append(written.disposal_method)
    # kept, except "restore to previous", written as "none" (whole frames: the same look; see formats._disposals)
    assert methods == [1 if method == 3 else method for method in read]


def test_an_apng_keeps_its_delays_and_disposal_and_turns_into_gif_and_webp():
    animation = open_animation(DATA / "apng-delay.png")
    assert animation is not None and animation.kind == "png"
    assert animation.durations[1:] == [500, 1000, 500, 1000]
    captioned = render_animation(animation, TEXT)
    for kind, tolerance in (("png", 0.5), ("gif", 4.0), ("webp", 6.0)):
        check_round_trip(captioned, encode_animation(captioned.animation, kind), tolerance)


def test_a_gif_that_plays_once_still_plays_once(tmp_path):
    source = Image.open(CHI)
    frames = []
    for index in range(6):
        source.seek(index * 5)
        frames.append(source.convert("RGB"))
        frames[-1].info = {}  # convert keeps chi's own loop block
    once = tmp_path / "once.gif"
    frames[0].save(once, save_all=True, append_images=frames[1:], duration=200)  # no loop block: plays once
    animation = open_animation(once)
    assert animation is not None and animation.loop is None
    captioned = render_animation(animation, TEXT)
    assert "loop" not in Image.open(io.BytesIO(encode_animation(captioned.animation, "gif"))).info
    assert Image.open(io.BytesIO(encode_animation(captioned.animation, "png"))).info["loop"] == 1
    assert Image.open(io.BytesIO(encode_animation(captioned.animation, "webp"))).info["loop"] == 1


def test_each_format_carries_the_credits_it_can():
    animation = open_animation(DATA / "dispose_bgnd.gif")
    assert animation is not None
    captioned = render_animation(animation, TEXT)
    secret = "sk-" + "a1" * 24
    metadata = {"Caption": f"Ünïcode & <{secret}>", "Author": "Pillow's tests", "License": "MIT-CMU"}
    gif = Image.open(io.BytesIO(encode_animation(captioned.animation, "gif", metadata)))
    comment = gif.info["comment"].decode("utf-8")
    assert "Caption: Ünïcode & <" in comment and "Author: Pillow's tests" in comment and secret not in comment
    apng = Image.open(io.BytesIO(encode_animation(captioned.animation, "png", metadata)))
    assert apng.text["License"] == "MIT-CMU" and secret not in apng.text["Caption"]
    webp = Image.open(io.BytesIO(encode_animation(captioned.animation, "webp", metadata)))
    xmp = webp.info["xmp"].decode("utf-8")
    assert "<dc:creator><rdf:Seq><rdf:li>Pillow&apos;s tests" in xmp or "Pillow's tests" in xmp
    assert "&amp; &lt;" in xmp and secret not in xmp
    import xml.dom.minidom

    xml.dom.minidom.parseString(xmp[xmp.index("<x:xmpmeta") : xmp.index("<?xpacket end")])  # well-formed


# --- the frame cap ---------------------------------------------------------------------------------


def test_frames_are_drawn_smaller_to_fit_the_cap_and_it_is_said(monkeypatch, tmp_path):
    source = Image.open(CHI)
    frames = []
    for index in range(0, 30, 5):  # chi's real frames at 960x720
        source.seek(index)
        frames.append(source.convert("RGB").resize((960, 720)))
        frames[-1].info = {}
    large = tmp_path / "large.gif"
    frames[0].save(large, save_all=True, append_images=frames[1:], duration=150, loop=0)
    full = open_animation(large)
    assert full is not None and full.size == (960, 720) and full.note == ""
    override(monkeypatch, MAX_ANIMATION_PIXELS=6 * 480 * 360)
    smaller = open_animation(large)
    assert smaller is not None and 6 * smaller.size[0] * smaller.size[1] <= settings.MAX_ANIMATION_PIXELS
    assert max(smaller.size) >= MIN_ANIMATION_SIDE and len(smaller.frames) == 6 and smaller.durations == [150] * 6
    assert "MEMER_MAX_ANIMATION_PIXELS" in smaller.note and "960x720" in smaller.note
    override(monkeypatch, MAX_ANIMATION_PIXELS=6 * 200 * 150)  # below MIN_ANIMATION_SIDE: refused
    with pytest.raises(ImageError) as caught:
        open_animation(large)
    assert caught.value.code == "image.too_many_frames"


def test_a_10000_frame_gif_is_refused_with_a_clear_line_before_any_frame_is_decoded(tmp_path, monkeypatch):
    from memer.rendering import animation as module

    frames = [Image.new("P", (32, 24), i % 2) for i in range(10_000)]
    for frame in frames:
        frame.putpalette([0, 0, 0, 255, 255, 255])
    path = tmp_path / "long.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=20, loop=0)
    assert Image.open(path).n_frames == 10_000
    decoded_frames = []
    monkeypatch.setattr(module, "_frame", lambda *args: decoded_frames.append(1))
    start = time.perf_counter()
    with pytest.raises(ImageError) as caught:
        open_animation(path)
    assert time.perf_counter() - start < 10 and decoded_frames == []
    err = caught.value
    assert err.code == "image.too_many_frames" and err.fix == "MEMER_MAX_ANIMATION_PIXELS"
    assert "10,000 frames" in err.message and "\n" not in err.message and "MEMER_MAX_ANIMATION_PIXELS" in err.hint


# --- the pipeline: own picture, the meme, its file -----------------------------------------------------


def test_the_pipeline_makes_an_animated_meme_that_saves_in_the_format_asked(tmp_path):
    shutil.copy(CHI, tmp_path / "chi.gif")
    candidate = pipeline.own_picture(tmp_path / "chi.gif")
    meme = pipeline.render(candidate, TEXT)
    assert meme.animated and meme.format == "gif" and meme.filename.endswith(".gif")
    assert meme.mime_type == "image/gif" and Image.open(io.BytesIO(meme.data)).n_frames > 10
    assert meme.summary().startswith("GIF, 31 frames, 320x240, ")
    for name, kind in (("a.gif", "GIF"), ("b.webp", "WEBP"), ("c.png", "PNG"), ("d", "GIF")):
        written = meme.save(tmp_path / name)
        image = Image.open(written)
        assert image.format == kind and image.n_frames > 10
    assert (tmp_path / "d.gif").is_file()
    with pytest.raises(RenderError) as caught:
        meme.save(tmp_path / "e.jpg")
    assert caught.value.code == "render.cannot_write" and not (tmp_path / "e.jpg").exists()


def test_a_still_picture_still_gives_a_png(tmp_path):
    from tests.fakes import make_picture

    candidate = pipeline.own_picture(make_picture(tmp_path / "still.jpg", (40, 90, 160), "still"))
    meme = pipeline.render(candidate, TEXT)
    assert not meme.animated and meme.format == "png" and meme.filename.endswith(".png")
    assert Image.open(meme.save(tmp_path / "m")).format == "PNG"
    with pytest.raises(RenderError):
        meme.save(tmp_path / "m.gif")


def test_an_animated_upload_is_kept_whole_and_ranking_sees_its_first_frame(tmp_path):
    """An upload is kept as the bytes it came in (still animated); CLIP gets the first frame as a still."""
    from memer.candidates import ImageCandidate

    data = CHI.read_bytes()
    candidate = pipeline.own_picture(data, name="chi.gif")
    assert candidate.path is not None and candidate.path.read_bytes() == data and is_animated(candidate.path)

    class RecordingClip:
        dim = 2

        def __init__(self) -> None:
            self.seen: list[Image.Image] = []

        def encode_images(self, images):
            self.seen.extend(image.copy() for image in images)
            return np.ones((len(images), 2), dtype=np.float32)

        def encode_query(self, query):
            return np.ones(2, dtype=np.float32)

    clip = RecordingClip()
    other = ImageCandidate(source="commons", title="chi", image_url="https://example.org/chi.gif", path=candidate.path)
    ranked, _ = pipeline.embed_and_rank(clip, "chi", [other])  # type: ignore[arg-type]
    assert ranked == [other] and len(clip.seen) == 1 and clip.seen[0].mode == "RGB"
    first = Image.open(CHI).convert("RGB")
    assert np.abs(np.asarray(clip.seen[0], np.int16) - np.asarray(first, np.int16)).max() == 0


def test_an_animated_gif_downloaded_from_a_source_stays_animated_in_the_cache(server):
    """A Commons thumbnail of a GIF (iiurlwidth) is an animated GIF: the download cache keeps it whole."""
    from memer import http
    from memer.candidates import ImageCandidate

    url = server.add_file("/thumb/chi.gif/320px-chi.gif", CHI.read_bytes(), "image/gif")
    candidate = ImageCandidate(source="commons", title="chi", image_url=url)
    report = http.download_images([candidate])
    assert report.ok == [candidate] and candidate.path is not None
    assert candidate.path.suffix == ".gif" and candidate.path.read_bytes() == CHI.read_bytes()
    assert pipeline.render(candidate, TEXT).animated
