"""The OpenAI engine through the real SDK against the stand-in (tests/standins/openai_api.py)."""

from __future__ import annotations

import base64
import io
import json
import logging
import sys
import time
import types

import pytest
from PIL import Image

from memer import settings
from memer.captioning import SAFE, SENSITIVE, UNSAFE, find_openai_key, generate_captions, openai_engine
from memer.captioning.safety import WORD_LIST_CHECK
from memer.errors import CaptionError
from tests.standins.openai_api import FAKE_KEY


@pytest.fixture
def picture() -> Image.Image:
    return Image.new("RGB", (1600, 1000), (200, 120, 40))


def _image_parts(request) -> list[dict]:
    content = request.json()["messages"][-1]["content"]
    return (
        [part for part in content if isinstance(part, dict) and part.get("type") == "image_url"]
        if isinstance(content, list)
        else []
    )


def test_ten_captions_from_one_completion_and_one_moderation_request(openai_api, picture):
    batch = generate_captions("apple pie", description="a pie on a windowsill", image=picture, engine="openai", n=10)

    assert len(openai_api.completion_requests) == 1
    assert (
        len(openai_api.moderation_requests) == 2
    )  # the captions, then the picture (tests/test_captions_openai_picture.py)
    assert len(batch.captions) == 10
    assert batch.note == ""
    assert batch.engine == "openai" and batch.model == settings.OPENAI_MODEL
    assert batch.safety_check.startswith(f"OpenAI moderation ({settings.MODERATION_MODEL})")
    # Cleaned: numbering, quotes, trailing period and hashtags gone, case kept.
    assert "Me pretending this slice is for sharing" in batch.texts
    assert "Grandma said one slice. Grandma is not here" in batch.texts
    assert "That moment the oven timer becomes your alarm clock" in batch.texts

    completion = openai_api.completion_requests[0].json()
    assert completion["model"] == settings.OPENAI_MODEL
    assert completion["response_format"]["type"] == "json_schema"
    assert completion["response_format"]["json_schema"]["schema"]["properties"]["captions"]["type"] == "array"
    prompt = completion["messages"][-1]["content"][0]["text"]
    assert "Create a funny caption for a new meme about apple pie." in prompt
    assert "a pie on a windowsill" in prompt and "10 different captions" in prompt

    moderation = openai_api.moderation_requests[0].json()
    assert moderation["model"] == "omni-moderation-latest"
    assert moderation["input"] == batch.texts  # all captions in the one request


def test_the_picture_goes_along_as_a_small_low_detail_jpeg(openai_api, picture):
    generate_captions("apple pie", image=picture, engine="openai")

    (part,) = _image_parts(openai_api.completion_requests[0])
    assert part["image_url"]["detail"] == "low"
    url = part["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert sent.format == "JPEG"
    assert max(sent.size) == settings.VISION_SIZE
    assert sent.size == (512, 320)  # the aspect ratio is kept


def test_vision_off_sends_no_picture(openai_api, picture, monkeypatch):
    monkeypatch.setattr(settings, "OPENAI_VISION", False)
    generate_captions("apple pie", description="a pie", image=picture, engine="openai")

    request = openai_api.completion_requests[0]
    assert _image_parts(request) == []
    assert "data:image" not in request.body.decode()


def test_no_picture_no_image_part(openai_api):
    generate_captions("apple pie", engine="openai")
    assert _image_parts(openai_api.completion_requests[0]) == []


@pytest.mark.parametrize(
    ("rejected", "expected_requests", "kept", "dropped"),
    [
        ({}, 1, {"temperature", "top_p", "reasoning_effort"}, set()),
        ({"temperature": "unsupported_value"}, 2, {"top_p", "reasoning_effort"}, {"temperature"}),
        ({"reasoning_effort": "unsupported_parameter"}, 2, {"temperature", "top_p"}, {"reasoning_effort"}),
        (
            {"temperature": "unsupported_value", "top_p": "unsupported_value"},
            3,
            {"reasoning_effort"},
            {"temperature", "top_p"},
        ),
    ],
)
def test_parameters_a_model_refuses_are_dropped_and_the_request_repeated(
    openai_api, rejected, expected_requests, kept, dropped
):
    openai_api.rejected_params = dict(rejected)
    batch = generate_captions("apple pie", engine="openai")

    requests = openai_api.completion_requests
    assert len(requests) == expected_requests
    last = requests[-1].json()
    assert kept <= set(last) and not (dropped & set(last))
    assert len(batch.captions) == 10
    assert len(openai_api.moderation_requests) == 1


def test_an_unrelated_bad_request_is_not_retried(openai_api):
    openai_api.server.route("/v1/chat/completions", lambda r: _bad_request())
    with pytest.raises(CaptionError, match="rejected the request"):
        generate_captions("apple pie", engine="openai")
    assert len(openai_api.completion_requests) == 1


def _bad_request():
    from tests.standins.server import Response

    return Response.json(
        {
            "error": {
                "message": "Invalid 'messages[1]'",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "invalid_value",
            }
        },
        400,
    )


@pytest.mark.parametrize(
    ("flag_words", "expected"),
    [
        (
            {"grandma": ("harassment", 0.97, True)},
            {"Grandma said one slice. Grandma is not here": (UNSAFE, ["harassment"])},
        ),
        (
            {"diet": ("self-harm", 0.45, False)},
            {"My diet starts after this pie. And the next one": (SENSITIVE, ["self-harm"])},
        ),
        (
            {"crust": ("violence", 0.29, False)},
            {"Crust issues? Never heard of them": (SAFE, [])},
        ),  # below the threshold
    ],
)
def test_moderation_sets_levels_and_categories(openai_api, flag_words, expected):
    openai_api.flag_words = flag_words
    batch = generate_captions("apple pie", engine="openai")

    for caption in batch.captions:
        level, categories = expected.get(caption.text, (SAFE, []))
        assert (caption.level, caption.categories) == (level, categories), caption.text


def test_threshold_setting_is_read_at_call_time(openai_api, monkeypatch):
    openai_api.flag_words = {"crust": ("violence", 0.29, False)}
    monkeypatch.setattr(settings, "SENSITIVE_THRESHOLD", 0.2)
    batch = generate_captions("apple pie", engine="openai")
    (crust,) = [c for c in batch.captions if c.text.startswith("Crust")]
    assert crust.level == SENSITIVE and crust.categories == ["violence"]


def test_a_failed_moderation_falls_back_to_the_word_list_and_says_so(openai_api):
    openai_api.moderation_status = 500
    openai_api.captions = ["This damn pie", "A calm pie", "Pie with a fork"]
    batch = generate_captions("apple pie", engine="openai", n=3)
    assert "word list" in batch.safety_check and "moderation failed" in batch.safety_check
    assert [c.level for c in batch.captions] == [SENSITIVE, SAFE, SAFE]


@pytest.mark.parametrize(
    ("mode", "captions", "n", "count", "note_part"),
    [
        ("lines", None, 10, 10, ""),  # a model that ignores the schema: numbered lines still work
        ("json", ["Same joke", "same joke!", "Another one", ""], 5, 2, "only 2 of 5"),
        ("json", None, 3, 3, ""),
    ],
)
def test_answers_are_cleaned_to_n_or_fewer_with_a_note(openai_api, mode, captions, n, count, note_part):
    openai_api.content_mode = mode
    if captions is not None:
        openai_api.captions = captions
    batch = generate_captions("apple pie", engine="openai", n=n)
    assert len(batch.captions) == count
    assert note_part in batch.note
    assert all(text and not text[0].isdigit() for text in batch.texts)


def test_a_refusal_is_a_clear_error(openai_api):
    openai_api.content_mode = "refusal"
    with pytest.raises(CaptionError, match="declined"):
        generate_captions("apple pie", engine="openai")
    assert openai_api.moderation_requests == []


# --- errors -------------------------------------------------------------------------


def test_a_wrong_key_says_what_to_do_and_never_shows_the_key(openai_api, monkeypatch, capsys, caplog):
    wrong = "sk-wrong-key-9876543210zyxwvuSECRET"
    monkeypatch.setenv("OPENAI_API_KEY", wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CaptionError) as caught:
        generate_captions("apple pie", engine="openai")

    assert str(caught.value).startswith("OpenAI refused the key (HTTP 401")  # it was set: never "set one"
    assert "set one" not in str(caught.value).lower() and "platform.openai.com/api-keys" in str(caught.value)
    assert len(openai_api.completion_requests) == 1  # 401 is not retried
    _assert_key_absent(wrong, caught.value, capsys, caplog)


def test_no_key_at_all_asks_nobody(openai_api, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(CaptionError, match="no OpenAI key is set.*export OPENAI_API_KEY="):
        generate_captions("apple pie", engine="openai")
    assert openai_api.server.requests == []


@pytest.mark.parametrize("pasted", ["“" + FAKE_KEY + "”", FAKE_KEY + " trailing", "sk-…"])
def test_a_key_with_impossible_characters_is_refused_before_any_request(openai_api, monkeypatch, pasted):
    monkeypatch.setenv("OPENAI_API_KEY", pasted)
    with pytest.raises(CaptionError, match="stray quote or space") as caught:
        generate_captions("apple pie", engine="openai")
    assert pasted not in str(caught.value)
    assert openai_api.server.requests == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"captions": ["a", "b"]}', ["a", "b"]),
        ('```json\n{"captions": ["a", "b"]}\n```', ["a", "b"]),
        ('```\n["a", "b"]\n```', ["a", "b"]),
        ("1. a\n2. b", ["1. a", "2. b"]),
        ("", []),
    ],
)
def test_parse_captions_reads_json_fenced_json_or_lines(content, expected):
    assert openai_engine.parse_captions(content) == expected


def test_the_key_appears_nowhere_in_a_successful_run(openai_api, picture, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    batch = generate_captions("apple pie", image=picture, engine="openai")
    assert openai_api.completion_requests[0].headers["authorization"] == f"Bearer {FAKE_KEY}"  # it was used
    _assert_key_absent(FAKE_KEY, None, capsys, caplog)
    assert FAKE_KEY not in repr(batch) and FAKE_KEY not in json.dumps(batch.to_dict())


def _assert_key_absent(key: str, error: BaseException | None, capsys, caplog) -> None:
    out, err = capsys.readouterr()
    assert key not in out and key not in err
    assert key not in caplog.text
    assert all(key not in str(record.args) for record in caplog.records)
    while error is not None:
        assert key not in str(error) and key not in repr(error)
        error = error.__cause__ or error.__context__


def test_rate_limit_is_retried_then_a_clear_error(openai_api, monkeypatch):
    monkeypatch.setattr(settings, "OPENAI_MAX_RETRIES", 2)
    openai_api.server.fault("/v1/chat/completions", "status", status=429, retry_after="0.01")
    with pytest.raises(CaptionError, match="too many requests") as caught:
        generate_captions("apple pie", engine="openai")
    assert len(openai_api.completion_requests) == 3  # the first try and the SDK's two retries
    assert "local engine" in str(caught.value)


def test_a_rate_limit_that_clears_after_retry_after_succeeds(openai_api, monkeypatch):
    monkeypatch.setattr(settings, "OPENAI_MAX_RETRIES", 2)
    openai_api.server.fault("/v1/chat/completions", "status", status=429, retry_after="0.01", times=1)
    batch = generate_captions("apple pie", engine="openai")
    assert len(batch.captions) == 10
    assert len(openai_api.completion_requests) == 2


def test_server_errors_are_retried_then_a_clear_error(openai_api, monkeypatch):
    monkeypatch.setattr(settings, "OPENAI_MAX_RETRIES", 1)
    openai_api.server.fault("/v1/chat/completions", "status", status=500, retry_after="0")
    with pytest.raises(CaptionError, match=r"server error \(HTTP 500\) \(after 1 retry\)\."):
        generate_captions("apple pie", engine="openai")
    assert len(openai_api.completion_requests) == 2


@pytest.mark.parametrize(("status", "message"), [(403, "refused this key access"), (404, "does not offer model")])
def test_access_and_model_errors_are_clear(openai_api, status, message):
    openai_api.server.fault("/v1/chat/completions", "status", status=status)
    with pytest.raises(CaptionError, match=message):
        generate_captions("apple pie", engine="openai")
    assert len(openai_api.completion_requests) == 1


def test_a_slow_answer_times_out_within_the_one_budget(openai_api, monkeypatch):
    monkeypatch.setattr(settings, "OPENAI_TIMEOUT", 0.3)
    monkeypatch.setattr(settings, "OPENAI_MAX_RETRIES", 2)
    openai_api.server.fault("/v1/chat/completions", "delay", seconds=1.5)
    started = time.monotonic()
    with pytest.raises(CaptionError, match=r"did not answer within 0.3 s in total\.") as caught:
        generate_captions("apple pie", engine="openai")
    assert time.monotonic() - started < 2.5  # the budget (and some slack for a busy machine)
    assert "MEMER_OPENAI_TIMEOUT" in str(caught.value) and "retr" not in str(caught.value)  # none were made
    assert len(openai_api.completion_requests) == 1


def test_a_dropped_connection_is_a_clear_error(openai_api):
    openai_api.server.fault("/v1/chat/completions", "reset")
    with pytest.raises(CaptionError, match="could not connect to the OpenAI API"):
        generate_captions("apple pie", engine="openai")


def test_base_url_comes_from_the_environment(openai_api, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", openai_api.server.url + "/elsewhere/v1")
    with pytest.raises(CaptionError):  # nothing answers there: proof the SDK went where OPENAI_BASE_URL says
        generate_captions("apple pie", engine="openai")
    assert [r.path for r in openai_api.server.requests] == ["/elsewhere/v1/chat/completions"]


# --- finding the key ------------------------------------------------------------------


@pytest.fixture
def fake_colab(monkeypatch):
    """Install a stand-in ``google.colab.userdata`` whose ``get`` returns or raises what the test says."""
    secrets: dict[str, object] = {}

    def get(name):
        value = secrets.get(name, KeyError(name))
        if isinstance(value, BaseException):
            raise value
        return value

    google = types.ModuleType("google")
    google.__path__ = []  # a package
    colab = types.ModuleType("google.colab")
    colab.__path__ = []
    userdata = types.ModuleType("google.colab.userdata")
    userdata.get = get
    colab.userdata = userdata
    google.colab = colab
    import importlib.machinery

    for module in (google, colab, userdata):
        module.__spec__ = importlib.machinery.ModuleSpec(module.__name__, None, is_package=module is not userdata)
        monkeypatch.setitem(sys.modules, module.__name__, module)
    return secrets


def test_key_order_explicit_then_environment_then_colab(monkeypatch, fake_colab):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert find_openai_key() is None
    fake_colab["OPENAI_API_KEY"] = "sk-from-colab"
    assert find_openai_key() == "sk-from-colab"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert find_openai_key() == "sk-from-env"
    assert find_openai_key("sk-explicit") == "sk-explicit"
    assert find_openai_key("  ") == "sk-from-env"


@pytest.mark.parametrize(
    "problem", [RuntimeError("SecretNotFoundError"), PermissionError("NotebookAccessError"), TimeoutError()]
)
def test_colab_secret_errors_mean_no_key(monkeypatch, fake_colab, problem):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake_colab["OPENAI_API_KEY"] = problem
    assert find_openai_key() is None


def test_outside_colab_no_secret_lookup(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setitem(sys.modules, "google.colab", None)  # importing it would fail
    assert openai_engine._colab_secret() is None


def test_an_explicit_key_is_used(openai_api, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-this-one")
    batch = generate_captions("apple pie", engine="openai", api_key=FAKE_KEY)
    assert len(batch.captions) == 10


# --- hostile answers (tests/standins/openai_api.py's hostile modes) ------------------------


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"raw_answer": "truncated"}, "JSON cut short or broken"),
        ({"raw_answer": "html"}, "an HTML page instead of JSON"),
        ({"raw_answer": "empty"}, "an empty body"),
        ({"content_mode": "number"}, "the message content is a number, not text"),
        ({"content_mode": "list"}, "the message content is a list, not text"),
        ({"content_mode": "dict"}, "the message content is an object, not text"),
    ],
)
def test_a_broken_completion_is_one_clear_caption_error(openai_api, setup, message):
    for name, value in setup.items():
        setattr(openai_api, name, value)
    with pytest.raises(CaptionError) as caught:
        generate_captions("apple pie", engine="openai")
    text = str(caught.value)
    assert message in text and "OPENAI_BASE_URL" in text and "\n" not in text
    assert caught.value.__cause__ is None  # no traceback hidden inside
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    assert openai_api.moderation_requests == []


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("results-null", "results is null, not a list"),
        ("string-scores", "is a string, not a number"),
        ("flagged-string", "flagged is a string, not true/false"),  # "false" is not False
        ("too-few", "answered for 9 of 10 captions"),
    ],
)
def test_a_broken_moderation_answer_falls_back_to_the_word_list(openai_api, mode, reason):
    openai_api.moderation_mode = mode
    batch = generate_captions("apple pie", engine="openai")
    assert len(batch.captions) == 10
    assert batch.safety_check.startswith(WORD_LIST_CHECK) and reason in batch.safety_check
    assert all(c.level == SAFE for c in batch.captions)  # the word list's levels, not bool("false")


def test_a_silent_server_ends_within_the_budget_counting_no_phantom_retries(openai_api, monkeypatch):
    monkeypatch.setattr(settings, "OPENAI_TIMEOUT", 0.4)
    monkeypatch.setattr(settings, "OPENAI_MAX_RETRIES", 2)
    openai_api.server.fault("/v1/chat/completions", "hang", seconds=3)
    started = time.monotonic()
    with pytest.raises(CaptionError, match=r"did not answer within 0.4 s in total\.") as caught:
        generate_captions("apple pie", engine="openai")
    assert time.monotonic() - started < 3.0  # the budget, with slack for a busy machine
    assert len(openai_api.completion_requests) == 1  # today: 0.4 s × 3 attempts
    assert "retr" not in str(caught.value)


def test_retries_stop_at_the_budget_and_are_counted_truly(openai_api, monkeypatch):
    monkeypatch.setattr(settings, "OPENAI_TIMEOUT", 0.5)
    monkeypatch.setattr(settings, "OPENAI_MAX_RETRIES", 5)
    # Each 503 asks for 0.2 s: two retries fit in 0.5 s, the third would sleep past the deadline.
    openai_api.server.fault("/v1/chat/completions", "status", status=503, retry_after="0.2")
    started = time.monotonic()
    with pytest.raises(CaptionError, match="server error") as caught:
        generate_captions("apple pie", engine="openai")
    assert time.monotonic() - started < 2.5
    made = len(openai_api.completion_requests) - 1
    assert 1 <= made < 5
    assert f"(after {made} retr" in str(caught.value)


@pytest.mark.parametrize("where", ["model", "caption"])
def test_the_key_echoed_back_is_redacted_and_a_caption_quoting_it_dropped(openai_api, where, capsys, caplog):
    openai_api.echo_key = {where}
    batch = generate_captions("apple pie", engine="openai")
    _assert_key_absent(FAKE_KEY, None, capsys, caplog)
    dumped = json.dumps(batch.to_dict())
    assert FAKE_KEY not in dumped and FAKE_KEY[10:] not in dumped
    assert all("My key is" not in text for text in batch.texts)
    if where == "caption":
        assert len(batch.captions) == 10 and "quoting a key" in batch.note
    else:
        assert batch.model.startswith("gpt-echo-") and "[redacted]" in batch.model


def test_a_refusal_that_quotes_the_key_is_redacted(openai_api):
    openai_api.echo_key = {"refusal"}
    with pytest.raises(CaptionError, match="declined") as caught:
        generate_captions("apple pie", engine="openai")
    assert FAKE_KEY not in str(caught.value) and "[redacted]" in str(caught.value)


def test_escapes_in_the_model_name_never_reach_the_batch(openai_api):
    openai_api.model_name = "gpt\x1b[2J\x1b]0;owned\x07-\u202emini"
    batch = generate_captions("apple pie", engine="openai")
    assert batch.model == "gpt-mini"


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b'{"choices": [', "application/json", "cut short"),
        (b"[" * 100_000, "application/json", "JSON"),  # nesting: RecursionError or a parse error, never raised
        (b"<html>", "text/plain", "HTML"),
        (b'{"a": NaN}', "application/json", None),
    ],
)
def test_read_json_never_raises_anything_but_caption_error(body, content_type, problem):
    from memer.captioning.openai_answers import read_json

    if problem is None:
        assert read_json(body, content_type, "chat") == {"a": None}
        return
    with pytest.raises(CaptionError, match=problem):
        read_json(body, content_type, "chat")
