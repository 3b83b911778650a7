"""The caption band (above / below, outside the picture) and free text boxes, checked by where the ink lands."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from memer.errors import RenderError
from memer.rendering import RenderOptions, TextBox, position_used, render_placed
from memer.rendering.draw import _scaled, _target_size
from tests.test_placement import ASTRONAUT


@pytest.fixture
def astronaut() -> Image.Image:
    return Image.open(ASTRONAUT).convert("RGB")


@pytest.mark.parametrize("where", ["above", "below"])
def test_the_band_leaves_the_picture_untouched(astronaut, where):
    meme, placements = render_placed(astronaut, "me when the launch is delayed again", RenderOptions(position=where))
    plain = np.asarray(_scaled(astronaut, _target_size(astronaut.size, 1024)))
    pixels = np.asarray(meme)
    band = meme.height - plain.shape[0]
    assert meme.width == plain.shape[1] and 40 < band < 400  # sized to the text, not a fixed share
    picture = pixels[band:] if where == "above" else pixels[: plain.shape[0]]
    strip = pixels[:band] if where == "above" else pixels[plain.shape[0] :]
    assert np.array_equal(picture, plain)  # not one pixel of the picture changed
    assert (strip.min(axis=2) > 250).mean() > 0.7  # mostly white ...
    assert (strip.max(axis=2) < 60).sum() > 500  # ... with black text on it
    assert not ((strip[..., 0] > 200) & (strip[..., 2] < 100)).any()  # no colour: no outline, no picture
    assert position_used(placements) == where
    [block] = placements
    assert block.layout.stroke == 0


def test_a_long_band_caption_wraps_and_the_band_grows(astronaut):
    short = render_placed(astronaut, "short", RenderOptions(position="below"))[0]
    long = render_placed(astronaut, "a much longer caption " * 6, RenderOptions(position="below"))[0]
    assert long.height > short.height


def test_text_boxes_are_fitted_inside_their_boxes(astronaut):
    boxes = (TextBox(0.05, 0.05, 0.3, 0.15, "me"), TextBox(0.55, 0.7, 0.4, 0.25, "the code I wrote at 2 am"))
    options = RenderOptions(position="top", boxes=boxes)
    meme, placements = render_placed(astronaut, "", options)
    plain = np.asarray(_scaled(astronaut, meme.size), dtype=np.int16)
    mask = np.abs(np.asarray(meme, dtype=np.int16) - plain).max(axis=2) > 60
    inside = np.zeros_like(mask)
    for box in boxes:
        left, top, right, bottom = box.pixels(*meme.size)
        assert mask[top:bottom, left:right].sum() > 300  # each box has its text
        inside[top:bottom, left:right] = True
    assert not mask[~inside].any()  # and nothing lands outside them (no caption was given)
    assert [p.where for p in placements] == ["box", "box"] and position_used(placements) == ""


def test_auto_keeps_the_caption_off_the_users_boxes(monkeypatch):
    from memer import faces

    monkeypatch.setattr(faces, "find_faces", lambda image: None)
    picture = Image.new("RGB", (640, 480), (90, 120, 160))
    boxes = (TextBox(0.1, 0.75, 0.8, 0.2, "label"),)  # where the bottom caption would go
    _, placements = render_placed(picture, "a caption", RenderOptions(boxes=boxes))
    assert position_used(placements) == "top"


@pytest.mark.parametrize(
    ("box", "words"),
    [
        (TextBox(0.9, 0.1, 0.3, 0.2, "x"), "past the picture's edge"),
        (TextBox(-0.1, 0.1, 0.3, 0.2, "x"), "not inside the picture"),
        (TextBox(0.1, 0.1, 0.01, 0.2, "x"), "too small"),
        (TextBox(0.1, 0.1, 0.3, 0.2, "  "), "has no text"),
    ],
)
def test_a_box_that_cannot_be_drawn_is_refused_in_words(astronaut, box, words):
    with pytest.raises(RenderError, match=words):
        render_placed(astronaut, "", RenderOptions(boxes=(box,)))


def test_no_caption_and_no_box_is_still_an_empty_caption(astronaut):
    with pytest.raises(RenderError, match="caption is empty"):
        render_placed(astronaut, " ", RenderOptions())


def test_a_preset_box_is_a_named_place():
    assert TextBox.at("top left", "me") == TextBox(0.03, 0.03, 0.44, 0.25, "me")
    with pytest.raises(RenderError, match="Unknown box place"):
        TextBox.at("upper middle-ish", "me")
