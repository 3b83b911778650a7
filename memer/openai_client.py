"""The OpenAI key, client and calls, shared by the caption engine and the generated-pictures source.

The only seam is the SDK's own: ``OPENAI_BASE_URL`` (read by the SDK; memer
never sets ``base_url``) and the key. The key is looked up, handed to the SDK
and nothing else: never printed, logged or put in a message.

Every call runs within one wall-clock :class:`Budget` (MEMER_OPENAI_TIMEOUT): the SDK's
``timeout`` bounds each read, so a server trickling a byte a second never trips it. memer
reads each answer raw, up to a cap, in a worker thread it stops waiting for at the deadline
(:func:`call_within_budget`), and retries itself, so a silent server costs the budget once.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from memer import settings
from memer.text import redact_secrets

KEY_ENV = "OPENAI_API_KEY"


def colab_secret() -> str | None:
    """OPENAI_API_KEY from Colab's secrets panel, when running in Colab and access is granted."""
    import importlib.util

    try:
        if importlib.util.find_spec("google") is None or importlib.util.find_spec("google.colab") is None:
            return None
    except (ImportError, ValueError):
        return None
    try:
        from google.colab import userdata

        value = userdata.get(KEY_ENV)
    except Exception:  # noqa: BLE001 - SecretNotFoundError, NotebookAccessError, TimeoutException ...
        return None
    return value.strip() or None if isinstance(value, str) else None


def find_openai_key(explicit: str | None = None) -> str | None:
    """The key to use: ``explicit`` when given, else ``OPENAI_API_KEY``, else Colab's secret; None if none."""
    if explicit and explicit.strip():
        return explicit.strip()
    from_env = os.environ.get(KEY_ENV, "").strip()
    if from_env:
        return from_env
    return colab_secret()


# What went wrong with OpenAI, in the same words wherever memer calls it (captions, descriptions, generated
# pictures); what to do differs by caller, so each adds its own hint.
REFUSED_KEY = "OpenAI refused the key (HTTP 401: wrong, revoked or from a deleted project)."


def rate_limited(after: str = "") -> str:
    """The words for HTTP 429 (``after``: how long memer already waited, e.g. " (after 2 retries)")."""
    return f"OpenAI says too many requests or the quota is used up{after}."


def no_connection(after: str = "") -> str:
    """The words for a failed connection."""
    return f"could not connect to the OpenAI API{after}."


def preferred_engine(key_found: bool) -> str:
    """The one rule for "OpenAI if a key is found": "openai" with a key, "local" (free, on this machine) without.

    The caption engine, the picture generator and the app's engine switch all start from it.
    """
    return "openai" if key_found else "local"


def key_problem(key: str) -> tuple[str, str] | None:
    """(what is wrong, what to do) when ``key`` cannot be a key at all; None when it may be one."""
    if not key.isascii() or any(c.isspace() for c in key):
        return (
            "the OpenAI key has characters no key has (a stray quote or space?).",
            "Copy the key again and paste only the key.",
        )
    return None


def new_client(key: str, *, max_retries: int | None = None) -> Any:
    """An SDK client with memer's timeout and retries; raises ImportError when openai is not installed.

    ``max_retries=0`` hands the retries to the caller (the caption engine keeps one budget for all attempts).

    base_url is left to the SDK, which reads OPENAI_BASE_URL itself. Close it after use (its connection pool).
    """
    import openai

    return openai.OpenAI(
        api_key=key,
        timeout=settings.OPENAI_TIMEOUT,
        max_retries=settings.OPENAI_MAX_RETRIES if max_retries is None else max_retries,
    )


def redact(text: str, key: str) -> str:
    """Server text with the key (and anything that looks like a secret) replaced by ``[redacted]``.

    SDK error messages and answers may quote the key; the caption engine and the image source both use this.
    """
    if key:
        text = text.replace(key, "[redacted]")
    return redact_secrets(text)


# --- calls within one budget --------------------------------------------------------------


class Budget:
    """One deadline (``seconds`` of wall-clock time) for every attempt of every request of one run.

    memer retries itself (the SDK's own retries are off) so that a silent server costs the
    budget once, not once per attempt, and a message can say how many retries there were.
    """

    def __init__(self, seconds: float, retries: int) -> None:
        self.seconds = max(seconds, 0.001)
        self.deadline = time.monotonic() + self.seconds
        self.retries_allowed = max(retries, 0)
        self.retries = 0  # retries actually made, across requests

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def after(self) -> str:
        if not self.retries:
            return ""
        return f" (after {self.retries} {'retry' if self.retries == 1 else 'retries'})"


class BudgetSpent(Exception):
    """The budget's deadline passed before an answer was read (the SDK's own timeout is per read)."""


class AnswerTooLarge(Exception):
    """An answer longer than the caller's cap: reading stopped there and nothing of it was parsed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"an answer of more than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class RawAnswer:
    """A successful answer as it came: the SDK's models are built without validation, memer checks the body."""

    status: int
    content_type: str
    body: bytes | bytearray


def retry_wait(err: Any, retries_so_far: int) -> float:
    """Seconds to wait before the next attempt: the server's Retry-After (capped), else a doubling backoff."""
    headers = getattr(getattr(err, "response", None), "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            value = float(headers.get(name, "")) * scale
        except (TypeError, ValueError):
            continue
        if math.isfinite(value) and value >= 0:
            return min(value, settings.RETRY_AFTER_MAX)
    return min(0.5 * 2**retries_so_far, 8.0)


def retryable(err: Any) -> bool:
    import openai

    if isinstance(err, openai.APITimeoutError):
        return False  # it took the whole budget that was left
    if isinstance(err, openai.APIConnectionError):
        return True
    status = getattr(err, "status_code", None)
    return isinstance(err, openai.APIStatusError) and (status in (408, 409, 429) or (status or 0) >= 500)


def call_within_budget(budget: Budget, resource: Any, method: str, *, max_bytes: int, **params: Any) -> RawAnswer:
    """``resource.method(**params)`` read raw (at most ``max_bytes``) before the budget's deadline.

    Retried on a rate limit or a server error while the budget lasts. Raises the SDK's errors,
    :class:`BudgetSpent` or :class:`AnswerTooLarge`.
    """
    import openai

    while True:
        if budget.remaining() <= 0:
            raise BudgetSpent()
        try:
            return read_before(budget.deadline, resource, method, max_bytes, params)
        except openai.APIError as err:
            if not retryable(err) or budget.retries >= budget.retries_allowed:
                raise
            wait = retry_wait(err, budget.retries)
            if wait >= budget.remaining() - 0.05:
                raise  # no time left for another attempt: say so now instead of sleeping into the deadline
            time.sleep(wait)
            budget.retries += 1


def read_before(deadline: float, resource: Any, method: str, max_bytes: int, params: dict[str, Any]) -> RawAnswer:
    """One request and its whole answer, or :class:`BudgetSpent` at ``deadline`` (``time.monotonic()``).

    The request runs in a daemon thread: neither a trickled header nor a trickled body holds the
    caller past the deadline. The thread stops at its next chunk, or at its per-read timeout.
    """
    outcome: dict[str, Any] = {}
    done, stop = threading.Event(), threading.Event()

    def work() -> None:
        try:
            outcome["answer"] = _read(deadline, resource, method, max_bytes, params, stop)
        except BaseException as err:  # noqa: BLE001 - handed to the caller, never printed by the thread
            outcome["error"] = err
        finally:
            done.set()

    threading.Thread(target=work, name="memer-openai", daemon=True).start()
    try:
        if not done.wait(max(deadline - time.monotonic(), 0.0)):
            raise BudgetSpent()
    finally:
        stop.set()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["answer"]


def _read(
    deadline: float, resource: Any, method: str, max_bytes: int, params: dict[str, Any], stop: threading.Event
) -> RawAnswer:
    """The answer's body chunk by chunk, stopping at ``max_bytes``, the deadline or ``stop``."""
    timeout = max(deadline - time.monotonic(), 0.001)  # per read; the deadline is kept between reads
    # with_streaming_response (openai >= 1.6) leaves the body unread until memer reads it here.
    with getattr(resource.with_streaming_response, method)(timeout=timeout, **params) as response:
        body = bytearray()
        for chunk in response.iter_bytes():
            if stop.is_set() or time.monotonic() > deadline:
                raise BudgetSpent()
            body += chunk
            if len(body) > max_bytes:
                raise AnswerTooLarge(max_bytes)
        return RawAnswer(response.status_code, str(response.headers.get("content-type", "")), body)
