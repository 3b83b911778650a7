"""The pictures found, as cards that wrap: title, thumbnail, credit and a Pick button.

The grid's columns have a minimum width and wrap, so a phone-width window gets
two columns and a laptop five; each thumbnail is clipped to its card.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memer import settings
from memer.images import jpeg_bytes
from memer.ui.compat import set_tooltip
from memer.ui.style import card_title_html, credit_html

if TYPE_CHECKING:
    from memer.candidates import ImageCandidate


CARD_MIN_WIDTH = "150px"


def thumbnail_jpeg(path: Path | str | None, size: int) -> bytes:
    """A small JPEG of the picture at ``path`` (a grey tile when it cannot be read)."""
    from PIL import Image

    from memer.images import open_image

    try:
        img = open_image(path)  # type: ignore[arg-type]  # None fails like a missing file: the grey tile
    except Exception:  # noqa: BLE001 - a missing or broken picture gets a tile, not a failed gallery
        img = Image.new("RGB", (size, size * 3 // 4), (200, 200, 200))
    return jpeg_bytes(img, size)


def picture_key(candidate: ImageCandidate) -> str:
    """What identifies a picture across searches (the same file found again keeps its captions)."""
    return candidate.image_url or candidate.title


class Gallery:
    """The cards of one search; ``on_pick(index)`` runs when a card's button is pressed."""

    def __init__(self, on_pick: Callable[[int], None]) -> None:
        import ipywidgets as w

        self.on_pick = on_pick
        self.candidates: list[ImageCandidate] = []
        self.buttons: list[Any] = []
        self.cards: list[Any] = []
        self.widget = w.GridBox(
            children=[],
            layout=w.Layout(
                grid_template_columns=f"repeat(auto-fill, minmax({CARD_MIN_WIDTH}, 1fr))",
                grid_gap="8px",
                width="auto",
            ),
        )
        self.widget.add_class("memer-gallery")

    def show(self, candidates: list[ImageCandidate], picked_key: str | None = None) -> None:
        import ipywidgets as w

        cards, buttons = [], []
        for index, candidate in enumerate(candidates):
            image = w.Image(
                value=thumbnail_jpeg(candidate.path, settings.UI_THUMB_SIZE),
                format="jpeg",
                layout=w.Layout(width="auto", height="120px", object_fit="cover", overflow="hidden"),
            )
            image.add_class("memer-thumb")
            button = w.Button(description=f"Pick #{index + 1}", layout=w.Layout(width="auto"))
            set_tooltip(button, f"Make a meme with picture #{index + 1}")
            button.on_click(lambda _, i=index: self.on_pick(i))
            title = w.HTML(value=card_title_html(candidate))
            card = w.VBox([title, image, w.HTML(value=credit_html(candidate)), button], layout=w.Layout(width="auto"))
            card.add_class("memer-card")
            cards.append(card)
            buttons.append(button)
        self.candidates, self.buttons, self.cards = list(candidates), buttons, cards
        self.widget.children = cards
        self.mark(picked_key)

    def mark(self, picked_key: str | None) -> None:
        """Show which card is the picture in use (if it is in this search at all)."""
        for index, (candidate, button, card) in enumerate(zip(self.candidates, self.buttons, self.cards)):
            picked = picked_key is not None and picture_key(candidate) == picked_key
            button.button_style = "success" if picked else ""
            button.description = "✓ Picked" if picked else f"Pick #{index + 1}"
            if picked:
                card.add_class("memer-picked")
            else:
                card.remove_class("memer-picked")

    def set_enabled(self, enabled: bool) -> None:
        for button in self.buttons:
            button.disabled = not enabled
