"""A stand-in for OpenAI's ``/v1/chat/completions``, ``/v1/moderations`` and ``/v1/images/generations``.

Answers in the documented shapes (ChatCompletion, ModerationCreateResponse, ImagesResponse with ``b64_json``,
the ``{"error": {...}}`` body of a failed request), so the REAL ``openai``
SDK talks to it through ``OPENAI_BASE_URL``. It checks the bearer key (401
otherwise, echoing the key back the way a careless server might, so tests can
prove memer never repeats it), can act as a model that refuses sampling
parameters, and flags captions containing chosen words.

Hostile modes (a broken proxy, a careless or malicious compatible server):
``content_mode`` "number" / "list" / "dict" (``content`` of the wrong type),
``raw_answer`` "truncated" / "html" / "empty" (a 200 body that is not the JSON
promised), ``moderation_mode`` "results-null" / "string-scores" /
"flagged-string" / "too-few", and ``echo_key`` naming the fields ("model",
"refusal", "caption") that repeat the caller's key. A server that never answers
is the shared server's "hang" fault; one that trickles its answer a byte at a
time is its "trickle" fault. For the Images API: ``image_mode`` "extra" (far
more pictures than ``n`` asked for) and ``image_body`` (a ready answer, e.g.
:func:`huge_image_answer`, built before the request so a test can measure
what memer itself holds while reading it).

Use the ``openai_api`` fixture: it registers the routes, points the SDK at the
server with a fake key, and gives the test the ``OpenAIStandin`` to tune.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.standins.server import Request, Response, StandinServer

FAKE_KEY = "sk-memer-test-0123456789abcdefSECRET"

MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)

DEFAULT_CAPTIONS = [
    "When the pie cools down before you do",
    "1. Me pretending this slice is for sharing.",
    '"Grandma said one slice. Grandma is not here"',
    "Apple pie: technically a fruit serving",
    "That moment the oven timer becomes your alarm clock #baking",
    "Crust issues? Never heard of them",
    "- I came for the apples, I stayed for the butter",
    "My diet starts after this pie. And the next one",
    "Homemade means I watched someone make it",
    "Warning: contents may cause second helpings",
    "This pie has seen things",
    "Me, a pie expert, after one slice",
]


@dataclass
class OpenAIStandin:
    server: StandinServer
    key: str = FAKE_KEY
    captions: list[str] = field(default_factory=lambda: list(DEFAULT_CAPTIONS))
    content_mode: str = "json"  # "json", "lines" (ignores the schema), "refusal", "empty"
    rejected_params: dict[str, str] = field(
        default_factory=dict
    )  # name -> "unsupported_parameter" | "unsupported_value"
    flag_words: dict[str, tuple[str, float, bool]] = field(default_factory=dict)  # word -> (category, score, flagged)
    moderation_status: int = 200
    # /v1/images/generations: "b64" (n pictures), "moderation_blocked", "empty", "not_base64", "not_image",
    # "extra" (extra_pictures pictures whatever n asked for)
    image_mode: str = "b64"
    extra_pictures: int = 1000
    image_body: bytes | None = None  # a ready 200 answer that replaces the documented one (see huge_image_answer)
    image_side: int = 96  # the pictures are small: what is tested is the path, not the drawing
    # Pictures sent to /v1/moderations as image_url inputs: flagged when their mean colour is nearest
    # one of these RGB colours -> (category, score, flagged); e.g. {(255, 0, 0): ("violence/graphic", 0.9, True)}.
    flag_colours: dict[tuple[int, int, int], tuple[str, float, bool]] = field(default_factory=dict)
    raw_answer: str = ""  # "", "truncated", "html", "empty": the completion's 200 body
    moderation_mode: str = ""  # "", "results-null", "string-scores", "flagged-string", "too-few"
    echo_key: set[str] = field(default_factory=set)  # "model", "refusal", "caption"
    model_name: str | None = None  # the model the answer names (default: the one asked for)

    # --- what the tests read ---
    @property
    def completion_requests(self) -> list[Request]:
        return self.server.requests_to("/v1/chat/completions")

    @property
    def moderation_requests(self) -> list[Request]:
        return self.server.requests_to("/v1/moderations")

    @property
    def image_requests(self) -> list[Request]:
        return self.server.requests_to("/v1/images/generations")

    # --- handlers ---
    def _unauthorized(self, request: Request) -> Response | None:
        auth = request.headers.get("authorization", "")
        if auth == f"Bearer {self.key}":
            return None
        given = auth.removeprefix("Bearer ")
        return Response.json(
            {
                "error": {
                    # The real API masks the key; this stand-in repeats it whole, the worst case.
                    "message": f"Incorrect API key provided: {given}. You can find your API key at https://platform.openai.com/account/api-keys.",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            },
            status=401,
        )

    def chat_completions(self, request: Request) -> Response:
        denied = self._unauthorized(request)
        if denied:
            return denied
        body = request.json()
        for name, code in self.rejected_params.items():
            if name in body:
                verb = "Unsupported parameter" if code == "unsupported_parameter" else "Unsupported value"
                return Response.json(
                    {
                        "error": {
                            "message": f"{verb}: '{name}' is not supported with this model.",
                            "type": "invalid_request_error",
                            "param": name,
                            "code": code,
                        }
                    },
                    status=400,
                )
        if not body.get("messages"):
            return Response.json(
                {
                    "error": {
                        "message": "'messages' is required",
                        "type": "invalid_request_error",
                        "param": "messages",
                        "code": None,
                    }
                },
                400,
            )
        refusal = None
        captions = list(self.captions)
        if "caption" in self.echo_key:
            captions.insert(1, f"My key is {self.key} lol")
        if self.content_mode == "json":
            content = json.dumps({"captions": captions})
        elif self.content_mode == "number":
            content = 42
        elif self.content_mode == "list":
            content = [1, 2, 3]
        elif self.content_mode == "dict":
            content = {"captions": captions}
        elif self.content_mode == "lines":
            content = "\n".join(f"{i}. {c}" for i, c in enumerate(captions, 1))
        elif self.content_mode == "refusal":
            content, refusal = None, "I can't help with that."
        else:
            content = ""
        if "refusal" in self.echo_key:
            content, refusal = None, f"I won't, {self.key}."
        model = self.model_name if self.model_name is not None else body.get("model", "")
        if "model" in self.echo_key:
            model = f"gpt-echo-{self.key}"
        answer = Response.json(
            {
                "id": "chatcmpl-standin",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 120, "completion_tokens": 150, "total_tokens": 270},
                "service_tier": "default",
                "system_fingerprint": None,
            }
        )
        if self.raw_answer == "truncated":
            answer.body = answer.body[: len(answer.body) // 2]
        elif self.raw_answer == "html":
            answer = Response(
                200, b"<!DOCTYPE html><html><body>Sign in to the proxy</body></html>", {"Content-Type": "text/html"}
            )
        elif self.raw_answer == "empty":
            answer.body = b""
        return answer

    def moderations(self, request: Request) -> Response:
        denied = self._unauthorized(request)
        if denied:
            return denied
        if self.moderation_status != 200:
            return Response.json(
                {"error": {"message": "moderation is down", "type": "server_error", "param": None, "code": None}},
                self.moderation_status,
            )
        body = request.json()
        inputs = body.get("input")
        items = [inputs] if isinstance(inputs, str) else list(inputs or [])
        if any(isinstance(item, dict) for item in items):
            return self._multimodal_moderation(body, items)
        texts = items
        results = []
        for text in texts:
            scores = {name: 0.0001 for name in MODERATION_CATEGORIES}
            categories = {name: False for name in MODERATION_CATEGORIES}
            flagged = False
            for word, (category, score, flags) in self.flag_words.items():
                if word.lower() in text.lower():
                    scores[category] = max(scores[category], score)
                    categories[category] = categories[category] or flags
                    flagged = flagged or flags
            results.append(
                {
                    "flagged": flagged,
                    "categories": categories,
                    "category_scores": scores,
                    "category_applied_input_types": {name: ["text"] for name in MODERATION_CATEGORIES},
                }
            )
        if self.moderation_mode == "results-null":
            results = None
        elif self.moderation_mode == "too-few":
            results = results[:-1]
        for result in results or []:
            if self.moderation_mode == "string-scores":
                result["category_scores"] = {name: str(score) for name, score in result["category_scores"].items()}
            elif self.moderation_mode == "flagged-string":
                result["flagged"] = "false"
        return Response.json({"id": "modr-standin", "model": body.get("model", ""), "results": results})

    def _multimodal_moderation(self, body: dict, items: list) -> Response:
        """Documented multi-modal input: a list of {"type": "text"} / {"type": "image_url"} parts, ONE result."""
        scores = {name: 0.0001 for name in MODERATION_CATEGORIES}
        categories = {name: False for name in MODERATION_CATEGORIES}
        applied: dict[str, list[str]] = {name: [] for name in MODERATION_CATEGORIES}
        flagged = False
        images = 0
        for item in items:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind == "text" and isinstance(item.get("text"), str):
                for word, (category, score, flags) in self.flag_words.items():
                    if word.lower() in item["text"].lower():
                        scores[category] = max(scores[category], score)
                        categories[category] = categories[category] or flags
                        flagged = flagged or flags
                        applied[category].append("text")
            elif kind == "image_url" and isinstance(item.get("image_url"), dict):
                images += 1
                colour = _mean_colour(str(item["image_url"].get("url", "")))
                if colour is None:
                    return _bad_request("Invalid image_url: expected a data URL or an https URL of an image.")
                hit = _nearest(colour, self.flag_colours)
                if hit is not None:
                    category, score, flags = hit
                    scores[category] = max(scores[category], score)
                    categories[category] = categories[category] or flags
                    flagged = flagged or flags
                    applied[category].append("image")
            else:
                return _bad_request("Each multi-modal input must be {'type': 'text'} or {'type': 'image_url'}.")
        if images > 1:
            return _bad_request("Only one image_url input is supported per request.")
        result = {
            "flagged": flagged,
            "categories": categories,
            "category_scores": scores,
            "category_applied_input_types": applied,
        }
        return Response.json({"id": "modr-standin", "model": body.get("model", ""), "results": [result]})


def _bad_request(message: str) -> Response:
    return Response.json(
        {"error": {"message": message, "type": "invalid_request_error", "param": "input", "code": None}}, 400
    )


def _mean_colour(url: str) -> tuple[int, int, int] | None:
    """The mean RGB colour of a base64 data-URL image; None when it is not one."""
    import base64
    import io

    from PIL import Image

    if not url.startswith("data:image/") or ";base64," not in url:
        return None
    try:
        picture = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")
    except Exception:  # noqa: BLE001 - a broken picture is the client's error
        return None
    small = picture.resize((1, 1), Image.Resampling.BOX)
    return small.getpixel((0, 0))


def _nearest(colour: tuple[int, int, int], table: dict) -> tuple[str, float, bool] | None:
    """The entry of ``table`` whose colour is within 60 of ``colour`` on every channel."""
    for key, value in table.items():
        if all(abs(a - b) <= 60 for a, b in zip(colour, key)):
            return value
    return None


def _picture(side: int, seed: int) -> bytes:
    """A PNG that differs per seed, so CLIP sees distinct pictures."""
    import io

    from PIL import Image

    colour = ((seed * 97) % 256, (seed * 53 + 80) % 256, (seed * 29 + 160) % 256)
    image = Image.new("RGB", (side, side), colour)
    image.paste(
        (255 - colour[0], colour[2], colour[1]), (side // 4, side // 4, side // 2 + seed % (side // 2), side // 2)
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def images_generations(standin: OpenAIStandin, request: Request) -> Response:
    """POST /v1/images/generations as the Images API answers a GPT image model (always base64)."""
    import base64

    denied = standin._unauthorized(request)
    if denied:
        return denied
    body = request.json()
    if not body.get("prompt") or not body.get("model"):
        return Response.json(
            {
                "error": {
                    "message": "'prompt' is required",
                    "type": "invalid_request_error",
                    "param": "prompt",
                    "code": None,
                }
            },
            400,
        )
    if "response_format" in body and str(body["model"]).startswith("gpt-image"):
        return Response.json(
            {
                "error": {
                    "message": "Unknown parameter: 'response_format'.",
                    "type": "invalid_request_error",
                    "param": "response_format",
                    "code": "unknown_parameter",
                }
            },
            400,
        )
    if standin.image_mode == "moderation_blocked":
        return Response.json(
            {
                "error": {
                    "message": "Your request was rejected as a result of our safety system. Your request may contain content that is not allowed by our safety system.",
                    "type": "image_generation_user_error",
                    "param": None,
                    "code": "moderation_blocked",
                }
            },
            400,
        )
    if standin.image_body is not None:
        return Response(200, standin.image_body, {"Content-Type": "application/json"})
    count = int(body.get("n") or 1)
    if standin.image_mode == "extra":
        distinct = [_picture(standin.image_side, seed) for seed in range(8)]
        pictures = [distinct[index % 8] for index in range(standin.extra_pictures)]
    else:
        pictures = [_picture(standin.image_side, seed) for seed in range(count)]
    if standin.image_mode == "empty":
        data = []
    elif standin.image_mode == "not_base64":
        data = [{"b64_json": "not base64 at all!"} for _ in pictures]
    elif standin.image_mode == "not_image":
        data = [{"b64_json": base64.b64encode(b"<html>oops</html>").decode()} for _ in pictures]
    else:
        data = [{"b64_json": base64.b64encode(picture).decode("ascii")} for picture in pictures]
    return Response.json(
        {
            "created": int(time.time()),
            "background": "opaque",
            "data": data,
            "output_format": body.get("output_format", "png"),
            "quality": body.get("quality", "medium"),
            "size": body.get("size", "1024x1024"),
            "usage": {
                "input_tokens": 40,
                "input_tokens_details": {"image_tokens": 0, "text_tokens": 40},
                "output_tokens": 196 * count,
                "total_tokens": 40 + 196 * count,
            },
        }
    )


def huge_image_answer(size: int) -> bytes:
    """An ImagesResponse whose one ``b64_json`` is ``size`` characters: valid base64, far over any cap."""
    return b'{"created": 1, "data": [{"b64_json": "' + b"A" * size + b'"}], "output_format": "png"}'


@pytest.fixture
def openai_api(server: StandinServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIStandin]:
    """The OpenAI stand-in, with the real SDK pointed at it and a fake key in OPENAI_API_KEY."""
    from memer import settings

    standin = OpenAIStandin(server)
    server.route("/v1/chat/completions", standin.chat_completions)
    server.route("/v1/moderations", standin.moderations)
    server.route("/v1/images/generations", lambda request: images_generations(standin, request))
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setattr(settings, "OPENAI_MAX_RETRIES", 0)
    monkeypatch.setattr(settings, "OPENAI_TIMEOUT", 5.0)
    yield standin
