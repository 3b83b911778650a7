"""The OpenAI engine also sends the picture to moderation: a harmless caption on a harmful picture is not safe."""

from __future__ import annotations

import pytest
from PIL import Image

from memer import settings
from memer.captioning import SAFE, UNSAFE, generate_captions
from tests.standins.settings import override

RED = (250, 10, 10)


def _picture(colour) -> Image.Image:
    return Image.new("RGB", (800, 600), colour)


def test_a_harmful_picture_raises_every_caption(openai_api):
    openai_api.flag_colours = {RED: ("violence/graphic", 0.97, True)}
    batch = generate_captions("apple pie", image=_picture(RED), engine="openai", n=10)

    assert len(openai_api.moderation_requests) == 2  # at most two per batch: the captions, the picture
    texts_request, picture_request = (r.json() for r in openai_api.moderation_requests)
    assert texts_request["input"] == batch.texts
    (part,) = picture_request["input"]
    assert part["type"] == "image_url" and part["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert picture_request["model"] == settings.MODERATION_MODEL
    assert all(c.level == UNSAFE and "picture: violence/graphic" in c.categories for c in batch.captions)
    assert "the picture: OpenAI moderation" in batch.safety_check


def test_a_harmless_picture_leaves_the_captions_as_they_were(openai_api):
    openai_api.flag_colours = {RED: ("violence/graphic", 0.97, True)}
    openai_api.flag_words = {"butter": ("harassment", 0.95, True)}
    batch = generate_captions("apple pie", image=_picture((20, 200, 20)), engine="openai", n=10)
    levels = {c.text: c.level for c in batch.captions}
    assert levels["I came for the apples, I stayed for the butter"] == UNSAFE
    assert [level for text, level in levels.items() if "butter" not in text] == [SAFE] * 9


def test_no_picture_means_one_moderation_request(openai_api):
    generate_captions("apple pie", engine="openai", n=10)
    assert len(openai_api.moderation_requests) == 1


def test_picture_moderation_can_be_turned_off(openai_api, monkeypatch):
    override(monkeypatch, MODERATE_PICTURE=False)
    openai_api.flag_colours = {RED: ("violence/graphic", 0.97, True)}
    batch = generate_captions("apple pie", image=_picture(RED), engine="openai", n=10)
    assert len(openai_api.moderation_requests) == 1
    assert all(c.level == SAFE for c in batch.captions)


def test_a_failed_picture_check_is_said_not_hidden(openai_api):
    calls = []
    original = openai_api.moderations

    def text_only(request):
        calls.append(request)
        if any(isinstance(item, dict) for item in request.json()["input"]):
            from tests.standins.server import Response

            return Response.json(
                {"error": {"message": "down", "type": "server_error", "param": None, "code": None}}, 500
            )
        return original(request)

    openai_api.server.route("/v1/moderations", text_only)
    batch = generate_captions("apple pie", image=_picture(RED), engine="openai", n=10)
    assert len(calls) == 2
    assert "the picture was not checked" in batch.safety_check


@pytest.mark.parametrize(
    "bad_input",
    [
        [{"type": "image_url", "image_url": {"url": "https://example.org/x.jpg"}}],  # not a data URL: stand-in refuses
        [{"type": "video", "video": {}}],
    ],
)
def test_the_standin_refuses_inputs_outside_the_documented_shape(openai_api, bad_input):
    import openai

    client = openai.OpenAI()
    with pytest.raises(openai.BadRequestError):
        client.moderations.create(model="omni-moderation-latest", input=bad_input)
