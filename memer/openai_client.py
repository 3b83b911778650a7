"""The OpenAI key and client, shared by the caption engine and the generated-pictures source.

The only seam is the SDK's own: ``OPENAI_BASE_URL`` (read by the SDK; memer
never sets ``base_url``) and the key. The key is looked up, handed to the SDK
and nothing else: never printed, logged or put in a message.
"""

from __future__ import annotations

import os
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
        from google.colab import userdata  # type: ignore[import-not-found]

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
