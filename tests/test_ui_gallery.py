"""Step 2 of the app: picking a picture from the gallery, and the credit it asks for.

Driven as a user would, from the Python side, against the fake pipeline (tests/fakes.py);
shared fixtures and helpers are in tests/ui_helpers.py. tests/test_ui_w7.py runs every
tests/test_ui_*.py once more under ipywidgets 7.7.1.
"""

from __future__ import annotations

import pytest

from memer import settings
from memer.candidates import ImageCandidate
from memer.ui.editor import credit_needed
from tests.ui_helpers import (
    jpeg_size,
    picked,
    renders,
    searched,
    visible,
    with_captions,
)

pytestmark = pytest.mark.usefixtures("quick")


def test_picking_shows_the_picture_and_enables_captions(app, fake):
    searched(app)
    picked(app, 3)
    assert app.candidate is app.result.candidates[3]
    assert app.gallery.buttons[3].description == "✓ Picked" and app.gallery.buttons[3].button_style == "success"
    assert "memer-picked" in app.gallery.cards[3]._dom_classes
    assert visible(app.make_section) and not app.captions.write_button.disabled
    assert max(jpeg_size(app.preview.image.value)) <= settings.UI_PREVIEW_SIZE
    assert "Author &lt;3&gt;" in app.preview.attribution.value
    assert app.preview.meme is None and "render" not in fake.steps()


@pytest.mark.parametrize(
    ("license", "required", "on"),
    [("CC BY-SA 4.0", True, True), ("CC BY 2.0", True, True), ("CC0", True, False), ("Public domain", False, False)],
)
def test_credit_on_the_picture_is_on_when_the_licence_asks_for_credit(license, required, on):
    candidate = ImageCandidate("commons", "t", "u", license=license, attribution_required=required)
    assert credit_needed(candidate) is on


def test_the_credit_switch_follows_the_picture_and_reaches_the_renderer(app, fake):
    with_captions(app, pick=0)  # CC BY-SA 4.0
    assert app.editor.credit.value and "asks for credit" in app.editor.credit_note.value
    assert renders(fake)[-1][1]["attribution_strip"] is True
    picked(app, 1)  # CC0
    assert not app.editor.credit.value and "no credit needed" in app.editor.credit_note.value
