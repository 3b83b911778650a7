"""Animated memes laid out by the still's compose path (issues 22 and its merge with auto placement, bands and
text boxes): auto plans on the real first frame, text boxes and bands are drawn on every frame.

On Pillow's real animated GIF (tests/data/animated/SOURCE.md); each result is encoded, decoded again and its
frames checked pixel by pixel.
"""

from __future__ import annotations

import numpy as np
import pytest

from memer import pipeline
from memer.rendering import RenderOptions, TextBox, position_used
from memer.rendering.animation import caption_overlay, open_animation, render_animation
from memer.rendering.compose import render_placed
from memer.rendering.formats import encode_animation
from tests.test_render_animation import CHI, check_caption_on_every_frame, check_round_trip

TEXT = "when the gif still moves"
BOX = TextBox(0.05, 0.05, 0.7, 0.3, "hello there")


@pytest.fixture(scope="module")
def animation():
    moving = open_animation(CHI)
    assert moving is not None and len(moving.frames) == 31
    return moving


def test_auto_plans_on_the_real_first_frame_and_keeps_the_caption_on_every_frame(animation):
    options = RenderOptions(position="auto")
    captioned = render_animation(animation, TEXT, options)
    still, placements = render_placed(animation.frames[0], TEXT, RenderOptions("auto", output_size=320))
    assert captioned.placements == placements and position_used(placements) in ("top", "bottom", "both")
    assert np.abs(np.asarray(captioned.frames[0], np.int16) - np.asarray(still, np.int16)).max() <= 2
    frames, _, _ = check_round_trip(captioned, encode_animation(captioned.animation, "gif", {}), 4.0)
    assert len(frames) > 10
    check_caption_on_every_frame(captioned, frames, options)


def test_a_text_box_alone_is_on_every_frame(animation):
    options = RenderOptions(boxes=(BOX,))
    captioned = render_animation(animation, "", options)
    assert [p.where for p in captioned.placements] == ["box"]
    left, top, right, bottom = BOX.pixels(*animation.size)
    frames, _, _ = check_round_trip(captioned, encode_animation(captioned.animation, "gif", {}), 4.0)
    check_caption_on_every_frame(captioned, frames, options)
    _, alpha = caption_overlay(captioned.composition, options)
    ink = np.argwhere(np.asarray(alpha) > 0)
    assert ink[:, 0].min() >= top - 2 and ink[:, 0].max() <= bottom + 2  # the box's text stays in the box
    assert ink[:, 1].min() >= left - 2 and ink[:, 1].max() <= right + 2


@pytest.mark.parametrize("where", ["above", "below"])
def test_a_band_holds_every_frame_whole_at_the_pictures_place(animation, where):
    options = RenderOptions(position=where, boxes=(BOX,))
    captioned = render_animation(animation, TEXT, options)
    width, height = animation.size
    plan = captioned.composition
    assert plan is not None and captioned.animation.size == plan.size and plan.size[1] > height
    assert plan.offset == (plan.size[1] - height if where == "above" else 0)
    still, placements = render_placed(animation.frames[0], TEXT, RenderOptions(where, output_size=320, boxes=(BOX,)))
    assert captioned.placements == placements and still.size == plan.size
    band = (0, 0, width, plan.offset) if where == "above" else (0, height, width, plan.size[1])
    band_ink = np.asarray(still.crop(band), np.int16)
    assert (band_ink < 60).all(axis=2).sum() > 100  # the caption's black letters on the white band
    box = BOX.pixels(width, height)
    for source, frame in zip(animation.frames, captioned.frames):
        assert frame.size == plan.size
        picture = np.asarray(frame.crop((0, plan.offset, width, plan.offset + height)), np.int16)
        meant = np.asarray(source, np.int16)
        outside = np.ones((height, width), bool)
        outside[box[1] : box[3], box[0] : box[2]] = False  # the text box is drawn on the picture
        assert np.abs(picture - meant)[outside].max() <= 1  # the frame itself, untouched, where the picture lies
        assert np.abs(np.asarray(frame.crop(band), np.int16) - band_ink).max() <= 2  # the same band on each
    frames, _, _ = check_round_trip(captioned, encode_animation(captioned.animation, "gif", {}), 4.0)
    assert len(frames) > 10


def test_the_pipeline_animates_auto_and_box_memes_and_says_where(tmp_path):
    picture = pipeline.own_picture(CHI)
    meme = pipeline.render(picture, TEXT)
    assert meme.animated and meme.position_used in ("top", "bottom", "both") and meme.warnings == []
    boxed = pipeline.render(picture, "", boxes=[BOX])
    assert boxed.animated and boxed.caption == "hello there" and boxed.position_used == ""
    assert boxed.save(tmp_path / "boxed.gif").read_bytes().startswith(b"GIF8")
