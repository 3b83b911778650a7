"""A stand-in for OpenAI's ``/v1/chat/completions``, ``/v1/moderations`` and ``/v1/images/generations``.

Answers in the documented shapes (ChatCompletion, ModerationCreateResponse, ImagesResponse with ``b64_json``,
the ``{"error": {...}}`` body of a failed request), so the REAL ``openai``
SDK talks to it through ``OPENAI_BASE_URL``. It checks the bearer key (401
otherwise, echoing the key back the way a careless server might, so tests can
prove memer never repeats it), can act as a model that refuses sampling
parameters, and flags captions containing chosen words.

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
    # /v1/images/generations: "b64" (n pictures), "moderation_blocked", "empty", "not_base64", "not_image"
    image_mode: str = "b64"
    image_side: int = 96  # the pictures are small: what is tested is the path, not the drawing

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
        if self.content_mode == "json":
            content = json.dumps({"captions": self.captions})
        elif self.content_mode == "lines":
            content = "\n".join(f"{i}. {c}" for i, c in enumerate(self.captions, 1))
        elif self.content_mode == "refusal":
            content, refusal = None, "I can't help with that."
        else:
            content = ""
        return Response.json(
            {
                "id": "chatcmpl-standin",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", ""),
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
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
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
        return Response.json({"id": "modr-standin", "model": body.get("model", ""), "results": results})


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
    count = int(body.get("n") or 1)
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
