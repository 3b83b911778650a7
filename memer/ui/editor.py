"""Step 4: the caption as the meme will show it, and how it looks.

The text box is multi-line (a new line stays a new line on the meme); ``|``
splits the top from the bottom text: typing one with Position top or bottom
switches to both, and with top or bottom chosen again it breaks the line
instead, so the hint is always true (auto keeps it: it splits there). Position
auto is pre-selected and the note under it says where it put the caption. The
size slider starts from the size auto-fit chose, in pixels. Free text boxes
are added below (memer.ui.boxes_panel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from memer.rendering import POSITIONS
from memer.ui.compat import set_tooltip
from memer.ui.style import note_html

if TYPE_CHECKING:
    from memer.candidates import ImageCandidate
    from memer.rendering.boxes import TextBox


COLOURS = {"white": "White", "yellow": "Yellow", "black": "Black", "#ff4081": "Pink", "#40c4ff": "Sky blue"}
OUTLINES = {"black": "Black", "white": "White", "#3e2723": "Brown", "none": "None"}
HINT = "A new line stays a new line. Type | to put text at the top and the bottom."
PLACES = {"top": "at the top", "bottom": "at the bottom", "both": "at the top and the bottom"}


def credit_needed(candidate: ImageCandidate) -> bool:
    """Whether the picture's licence asks for credit: the candidate's own rule (ImageCandidate.needs_credit)."""
    return candidate.needs_credit


@dataclass(frozen=True)
class Look:
    """Everything the renderer is asked for, read from the controls at one moment."""

    text: str
    position: str
    font_size: int | None  # None: auto-fit
    keep_case: bool
    text_color: str
    outline_color: str
    credit_on_picture: bool
    ai_label: bool | None = None  # the "AI-generated" tag on a generated picture; None: settings.AI_LABEL
    boxes: tuple[TextBox, ...] = ()  # free text boxes (memer.ui.boxes_panel)


def text_for_position(text: str, position: str) -> str:
    """With one block (top, bottom or a band), ``|`` is a line break: the text keeps its parts either way (auto
    keeps it: there it asks for the split)."""
    text = text.replace("\r\n", "\n").strip()
    if position not in ("both", "auto"):
        text = "\n".join(part.strip() for part in text.split("|"))
    return text


class Editor:
    """``on_change()`` runs on every edit (the app debounces the preview)."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        import ipywidgets as w

        self.on_change = on_change
        self._quiet = False  # set while the app itself changes a control
        self.text = w.Textarea(
            placeholder="Pick a caption above or write your own",
            continuous_update=True,  # the preview follows typing (debounced by the app)
            rows=3,
            layout=w.Layout(width="auto", height="84px"),
        )
        self.text.add_class("memer-caption-text")
        self.hint = w.HTML(value=note_html(HINT))
        self.position = w.ToggleButtons(options=list(POSITIONS), value="auto", description="Position")
        set_tooltip(
            self.position, "auto: off faces, on the least detail; above/below: a plain band outside the picture"
        )
        self.position.add_class("memer-position")
        self.keep_case = w.Checkbox(value=False, description="Keep case (not ALL CAPS)", indent=False)
        self.text_color = w.Dropdown(options=[(v, k) for k, v in COLOURS.items()], value="white", description="Text")
        self.outline_color = w.Dropdown(
            options=[(v, k) for k, v in OUTLINES.items()], value="black", description="Outline"
        )
        self.auto_size = w.Checkbox(value=True, description="Auto size", indent=False)
        self.font_size = w.IntSlider(
            value=64,
            min=12,
            max=240,
            step=1,
            description="Size (px)",
            disabled=True,
            continuous_update=False,
            layout=w.Layout(width="auto", min_width="0", flex="1 1 200px"),
        )
        set_tooltip(self.font_size, "Font size in pixels on the finished meme; untick Auto size to change it")
        self.credit = w.Checkbox(value=False, description="Credit on the picture", indent=False)
        self.credit_note = w.HTML(value="")
        from memer import settings

        self.ai_label = w.Checkbox(
            value=settings.AI_LABEL, description="Mark generated pictures “AI-generated”", indent=False
        )
        self.ai_label.layout.display = "none"  # shown for a generated picture only
        self.note = w.HTML(value="")
        self.placed = w.HTML(value="")  # where auto put the caption
        from memer.ui.boxes_panel import BoxesPanel

        self.boxes = BoxesPanel(self._changed)
        self.widget = w.VBox(
            [
                self.text,
                self.hint,
                self.position,
                self.placed,
                self.note,
                w.HBox([self.text_color, self.outline_color], layout=w.Layout(flex_flow="row wrap")),
                self.keep_case,
                w.HBox([self.auto_size, self.font_size], layout=w.Layout(flex_flow="row wrap", width="auto")),
                self.credit,
                self.credit_note,
                self.ai_label,
                self.boxes.widget,
            ]
        )
        self.text.observe(self._on_text, names="value")
        self.position.observe(lambda _: self._note_position(), names="value")
        self.auto_size.observe(self._on_auto, names="value")
        for control in (
            self.position,
            self.keep_case,
            self.text_color,
            self.outline_color,
            self.font_size,
            self.credit,
            self.ai_label,
        ):
            control.observe(lambda _: self._changed(), names="value")

    def _changed(self) -> None:
        if not self._quiet:
            self.on_change()

    def _on_text(self, change: dict) -> None:
        old, new = change.get("old") or "", change.get("new") or ""
        if "|" in new and "|" not in old and self.position.value not in ("both", "auto") and not self._quiet:
            self.position.value = "both"  # the hint's promise; _note_position says so
        self._changed()

    def _note_position(self) -> None:
        if "|" not in self.text.value:
            self.note.value = ""
        elif self.position.value in ("both", "auto"):
            self.note.value = note_html("Top and bottom: the text before | goes at the top.")
        else:
            self.note.value = note_html(f"Position {self.position.value}: | starts a new line.")

    def _on_auto(self, change: dict) -> None:
        self.font_size.disabled = bool(change["new"])  # the slider already shows the size auto-fit chose
        self._changed()

    # --- the app sets these ----------------------------------------------------------------------

    def set_text(self, text: str) -> None:
        """Put a caption in the box (the app renders it itself)."""
        self._quiet = True
        try:
            self.text.value = text
            self._note_position()
        finally:
            self._quiet = False

    def set_credit(self, candidate: ImageCandidate) -> None:
        """The credit switch is on when the picture's licence asks for credit, and says why."""
        needed = credit_needed(candidate)
        self._quiet = True
        try:
            self.credit.value = needed
        finally:
            self._quiet = False
        self.ai_label.layout.display = "" if getattr(candidate, "ai_generated", False) else "none"
        licence = getattr(candidate, "license", "") or "its licence"
        self.credit_note.value = note_html(
            f"{licence} asks for credit, and social networks strip the credit kept in the PNG's data: "
            "it is drawn on the picture."
            if needed
            else f"{licence}: no credit needed; it is kept in the PNG's data anyway."
        )

    def show_auto_size(self, size: int | None) -> None:
        """While Auto size is on, the slider follows the size auto-fit chose (so unticking starts there)."""
        if size is None or not self.auto_size.value:
            return
        self._quiet = True
        try:
            self.font_size.max = max(self.font_size.max, int(size))
            self.font_size.value = max(self.font_size.min, int(size))
        finally:
            self._quiet = False

    def show_position(self, used: str) -> None:
        """Say where auto placed the caption (nothing for a place the user chose)."""
        where = PLACES.get(used, "")
        self.placed.value = note_html(f"Auto placed it {where}.") if self.position.value == "auto" and where else ""

    def look(self) -> Look:
        """What the controls say now."""
        outline = self.outline_color.value
        return Look(
            text=text_for_position(self.text.value, self.position.value),
            position=self.position.value,
            font_size=None if self.auto_size.value else int(self.font_size.value),
            keep_case=bool(self.keep_case.value),
            text_color=self.text_color.value,
            outline_color=self.text_color.value if outline == "none" else outline,
            credit_on_picture=bool(self.credit.value),
            ai_label=bool(self.ai_label.value),
            boxes=self.boxes.boxes(),
        )
