"""Every major script is drawn: alone and beside Latin, each character by a font that has it, each cluster
with ink; complex scripts shaped; and what cannot be drawn is named where the user looks."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFont

from memer import pipeline
from memer.rendering import RenderOptions, fonts, plan_meme, render_meme
from memer.rendering.case import upper_case
from memer.rendering.coverage import caption_warnings
from memer.ui.preview import undrawn_note

ROOT = Path(__file__).resolve().parents[1]
# A word or two in each script (the script's own name, mostly), and the bundled font that must draw it.
SCRIPTS = {
    "Devanagari": ("नमस्ते दुनिया", "NotoSansDevanagari"),
    "Bengali": ("বাংলা ভাষা", "NotoSansBengali"),
    "Tamil": ("தமிழ் மொழி", "NotoSansTamil"),
    "Telugu": ("తెలుగు భాష", "NotoSansTelugu"),
    "Gujarati": ("ગુજરાતી ભાષા", "NotoSansGujarati"),
    "Gurmukhi": ("ਪੰਜਾਬੀ ਭਾਸ਼ਾ", "NotoSansGurmukhi"),
    "Kannada": ("ಕನ್ನಡ ಭಾಷೆ", "NotoSansKannada"),
    "Malayalam": ("മലയാളം ഭാഷ", "NotoSansMalayalam"),
    "Sinhala": ("සිංහල භාෂාව", "NotoSansSinhala"),
    "Thai": ("ภาษาไทย สวัสดี", "NotoSansThai"),
    "Lao": ("ພາສາລາວ ສະບາຍດີ", "NotoSansLao"),
    "Khmer": ("ភាសាខ្មែរ", "NotoSansKhmer"),
    "Myanmar": ("မြန်မာဘာသာ", "NotoSansMyanmar"),
    "Tibetan": ("བོད་ཡིག", "NotoSerifTibetan"),
    "Georgian": ("ქართული ენა", "NotoSansGeorgian"),  # kept as written: Mtavruli is a display style (rendering.case)
    "Armenian": ("Հայերեն լեզու", "NotoSansArmenian"),
    "Ethiopic": ("ግዕዝ ቋንቋ", "NotoSansEthiopic"),
    "Hebrew": ("שלום עולם", "DejaVuSansCondensed"),
    "Arabic": ("مرحبا بالعالم", "DejaVuSansCondensed"),
    "Cyrillic": ("ПРИВЕТ МИР", "DejaVuSansCondensed"),
    "Greek": ("ΓΕΙΑ ΣΟΥ", "DejaVuSansCondensed"),
    "Han": ("你好世界", "DroidSansFallbackFull"),
    "Hangul": ("안녕하세요", "NanumSquareB"),
}
needs_shaper = pytest.mark.skipif(not fonts.has_shaper(), reason="Pillow without libraqm")


def _drawn_clusters(text: str, keep_case: bool) -> list[fonts.Cluster]:
    """The clusters of every line the renderer lays out for ``text`` on a 1024 x 768 picture."""
    placements = plan_meme(1024, 768, text, RenderOptions(keep_case=keep_case))
    return [cluster for placement in placements for line in placement.layout.lines for cluster in line]


def _check_every_character_drawn(text: str, keep_case: bool) -> None:
    stack = fonts.font_stack()
    clusters = _drawn_clusters(text, keep_case)
    shown = text if keep_case else upper_case(text)  # the renderer's own case rule (memer.rendering.case)
    drawn = "".join(cluster.text for cluster in clusters if cluster.text not in fonts.ISOLATES)
    assert drawn.replace(" ", "") == shown.replace(" ", "")  # nothing left out
    for cluster in clusters:
        if cluster.text == " ":
            continue
        face = stack.faces[cluster.face]
        assert all(ord(char) in face.codepoints for char in cluster.text)  # a real glyph, never .notdef
        font = fonts.load_font(face.path, 80)
        left, top, right, bottom = font.getbbox(cluster.text, anchor="ls")
        assert right > left and bottom > top, cluster  # the cluster has ink
    assert caption_warnings(text, keep_case) == []


@needs_shaper
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_each_script_is_drawn_alone_and_beside_latin(script):
    word, font_name = SCRIPTS[script]
    stack = fonts.font_stack()
    faces = {Path(stack.faces[c.face].path).stem.split("-")[0] for c in stack.clusters(word) if c.text != " "}
    assert font_name in faces
    for text in (word, f"HELLO {word} 2024", f"{word}, WORLD!"):
        _check_every_character_drawn(text, keep_case=False)
    image = render_meme(Image.new("RGB", (640, 480), (128, 128, 128)), word, RenderOptions(output_size=640))
    white = np.asarray(image).min(axis=2) > 235
    assert white.sum() > 400  # white letters on the grey picture
    columns = np.flatnonzero(white.any(axis=0))
    assert columns.max() - columns.min() > 60  # a word's width, not one glyph


@needs_shaper
def test_hello_namaste_draws_both_words():
    [placement] = plan_meme(1024, 768, "HELLO नमस्ते", RenderOptions())
    assert placement.layout.text_lines == ["HELLO नमस्ते"]
    assert caption_warnings("HELLO नमस्ते") == []


@needs_shaper
def test_complex_scripts_are_shaped_not_drawn_letter_by_letter():
    """A conjunct fuses (narrower than its letters side by side); the i-sign moves before its consonant."""
    path = str(fonts.font_stack().faces[1].path)
    assert path.endswith("NotoSansDevanagari-Bold.ttf")
    shaped = ImageFont.truetype(path, 100, layout_engine=ImageFont.Layout.RAQM)
    plain = ImageFont.truetype(path, 100, layout_engine=ImageFont.Layout.BASIC)
    assert shaped.getlength("क्ष") < plain.getlength("क्ष") - 10
    assert np.asarray(shaped.getmask("कि")).tobytes() != np.asarray(plain.getmask("कि")).tobytes()
    assert fonts.load_font(path, 100).getlength("क्ष") == shaped.getlength("क्ष")  # memer's fonts are shaped


def test_characters_no_font_has_are_named():
    [warning] = caption_warnings("PIE \U000e01f0\u0378 TIME")
    assert "No font can draw" in warning and "U+0378" in warning and "left out" in warning
    assert caption_warnings("PIE \u200d\u200f TIME \U0001f600") == []  # controls and emoji are no loss


def test_without_a_shaper_complex_scripts_are_named_once(monkeypatch):
    monkeypatch.setattr(fonts, "has_shaper", lambda: False)
    warnings = caption_warnings("HELLO नमस्ते שלום")
    assert len(warnings) == 1 and "libraqm" in warnings[0] and "न" in warnings[0] and "ש" in warnings[0]
    clusters = _drawn_clusters("HELLO नमस्ते", keep_case=False)
    assert "".join(c.text for c in clusters).strip() == "HELLO"  # not drawn broken


def test_the_api_result_carries_the_warning(tmp_path):
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (320, 240), (40, 90, 160)).save(photo)
    meme = pipeline.render(pipeline.own_picture(photo), "PIE \u0378 TIME")
    assert len(meme.warnings) == 1 and "U+0378" in meme.warnings[0]
    assert pipeline.render(pipeline.own_picture(photo), "PIE TIME").warnings == []


def test_memer_render_says_what_was_left_out(tmp_path):
    picture = tmp_path / "in.jpg"
    Image.new("RGB", (320, 240), (40, 90, 160)).save(picture)
    out = tmp_path / "meme.png"
    command = [sys.executable, "-m", "memer", "render", str(picture), "PIE \u0378 TIME", "-o", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0 and Image.open(io.BytesIO(out.read_bytes())).size == (1024, 768)
    assert result.stderr.count("\n") == 1 and "warning: No font can draw" in result.stderr and "U+0378" in result.stderr


def test_the_app_shows_the_warning_under_the_preview():
    note = undrawn_note(["No font can draw <x> (U+0378): left out of the meme."])
    assert "memer-note" in note and "&lt;x&gt;" in note and "U+0378" in note
    assert undrawn_note([]) == ""
