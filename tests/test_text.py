"""Shared text rules (memer.text): secret redaction."""

from __future__ import annotations

import pytest

from memer.text import redact_secrets

# Fake keys, assembled so that secret scanners do not flag this file.
SECRETS = [
    "sk-" + "proj-abcdefghijklmnopqrstuvwxyz0123456789",
    "sk-" + "abcdefghijklmnopqrstuvwx",
    "hf_abcdefghijklmnopqrstuvwxyz123456",
    "Bearer abcdefghijklmnop.qrstuvwxyz",
    "AKIA" + "ABCDEFGHIJKLMNOP",
    "ghp_" + "abcdefghijklmnopqrstuvwxyz0123",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_redact_secrets_hides_keys_and_keeps_the_rest(secret):
    redacted = redact_secrets(f"caption {secret} end")
    assert secret not in redacted
    assert secret.split()[-1][-10:] not in redacted
    assert redacted.startswith("caption ") and redacted.endswith(" end")
    assert "[redacted]" in redacted


def test_redact_secrets_keeps_the_name_of_a_url_key():
    url = "https://example.org/p?id=3&api_key=topsecret123&x=1"
    assert redact_secrets(url) == "https://example.org/p?id=3&api_key=[redacted]&x=1"
    assert redact_secrets("https://x.org/?token=abc#frag") == "https://x.org/?token=[redacted]#frag"


@pytest.mark.parametrize("plain", ["", "no keys here", "sk-short", "ask-me-anything", "https://example.org/p?id=3"])
def test_redact_secrets_leaves_plain_text_alone(plain):
    assert redact_secrets(plain) == plain
