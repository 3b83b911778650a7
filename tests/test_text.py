"""Shared text rules (memer.text): secret redaction, whitespace, titles, error lines, sizes."""

from __future__ import annotations

import pytest

from memer.text import (
    collapse_whitespace,
    display_safe,
    first_line,
    human_size,
    plain_title,
    redact_secrets,
    strip_namespace,
    trim_words,
)

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


# --- the small shared rules (one place each) ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("  apple \t pie\n\n ", "apple pie"), ("", ""), ("one", "one"), ("a\u00a0b", "a b")],
)
def test_collapse_whitespace(text, expected):
    assert collapse_whitespace(text) == expected


def test_trim_words_marks_a_cut():
    assert trim_words("a  b c", 3) == "a b c"
    assert trim_words("a b c d", 2) == "a b …"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("File:Apple_pie (2).jpg", "Apple pie (2)"),
        ("file: Apple pie.JPEG", "Apple pie"),
        ("Image:Orchard.png", "Orchard"),
        ("Apple pie", "Apple pie"),
        ("File:Notes.pdf", "Notes.pdf"),  # only picture endings are words' noise
        ("Category:File:x.jpg", "Category:File:x"),  # one namespace, at the start
    ],
)
def test_plain_title(title, expected):
    assert plain_title(title) == expected


def test_strip_namespace_keeps_the_extension():
    assert strip_namespace("File:Apple pie.jpg") == "Apple pie.jpg"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError("bad thing\nsecond line"), "bad thing"),
        (RuntimeError(""), "RuntimeError"),
        ("  plain text  ", "plain text"),
        ("", ""),
    ],
)
def test_first_line(error, expected):
    assert first_line(error) == expected


def test_first_line_is_cut():
    assert first_line("x" * 500, 10) == "x" * 9 + "…"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Please check your connection and try again", 30, "Please check your connection…"),  # not "connecti"
        ("short", 30, "short"),
        ("a" * 40, 10, "a" * 9 + "…"),  # one long word: cut where the limit falls
        ("word " * 3, 10, "word word…"),
    ],
)
def test_shorten_cuts_at_a_word(text, limit, expected):
    from memer.text import shorten

    assert shorten(text, limit) == expected
    assert len(shorten(text, limit)) <= limit


def test_display_safe_never_cuts_mid_word():
    assert display_safe("Please check your connection and try again", 30) == "Please check your connection…"


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1024, "1 KB"),
        (1536, "1.5 KB"),
        (25 * 1024 * 1024, "25 MB"),
        (50 * 1024 * 1024, "50 MB"),  # the README's MEMER_MAX_IMAGE_BYTES, as users now see it
        (int(2.5 * 1024**3), "2.5 GB"),
        (5000 * 1024**3, "5000 GB"),
    ],
)
def test_human_size_uses_the_readmes_unit(size, expected):
    assert human_size(size) == expected


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("clear\x1b[2Jscreen", "clearscreen"),  # CSI: erase display
        ("a\x1b]8;;https://evil.example\x07link\x1b]8;;\x07b", "alinkb"),  # OSC 8 hyperlink
        ("x\x1b]0;new title\x07y", "xy"),  # OSC 0: window title
        ("x\x1b]0;unterminated", "x"),
        ("\u202eevil.exe", "evil.exe"),  # right-to-left override
        ("\u2066isolated\u2069", "isolated"),
        ("bell\x07 and nul\x00", "bell and nul"),
        ("c1 \x9b31m red", "c1 red"),
        ("key " + "sk-" + "abcdefghijklmnopqrstu leaked", "key [redacted] leaked"),
        ("many   spaces\nand lines", "many spaces and lines"),
        ("שלום 😀 café", "שלום 😀 café"),  # letters, emoji and accents stay
        (42, "42"),
    ],
)
def test_display_safe_removes_what_a_terminal_would_obey(raw, shown):
    assert display_safe(raw) == shown


def test_display_safe_cuts_to_the_limit_and_keeps_newlines_when_asked():
    assert display_safe("a" * 50, 10) == "a" * 9 + "…"
    assert len(display_safe("b" * 10_000_000, 100)) == 100
    assert display_safe("top\n\x1b[1mbottom", keep_newlines=True) == "top\nbottom"
