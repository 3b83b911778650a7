"""Free text boxes in the app: add one, place it (a named place or four sliders), edit its text, remove it.

Each change redraws the live preview (the app debounces). A box is placed by
fractions of the picture, as the renderer takes it (memer.rendering.TextBox), so
the place holds whatever the picture's size; a box that would reach past the
edge is cut to the picture rather than refused while a slider moves.
"""

from __future__ import annotations

from collections.abc import Callable

from memer.rendering.boxes import PRESETS, TextBox

CUSTOM = "custom"


class BoxRow:
    """One text box's controls."""

    def __init__(self, place: str, on_change: Callable[[], None], on_remove: Callable[[BoxRow], None]) -> None:
        import ipywidgets as w

        self.on_change = on_change
        self._quiet = False
        self.text = w.Text(placeholder="Text in this box", continuous_update=True, layout=w.Layout(width="auto"))
        self.place = w.Dropdown(options=[*PRESETS, CUSTOM], value=place, description="Place")
        slider = {"min": 0.0, "max": 1.0, "step": 0.01, "continuous_update": False, "readout_format": ".2f"}
        self.x, self.y, self.w, self.h = (w.FloatSlider(description=name, **slider) for name in ("X", "Y", "W", "H"))
        self.remove = w.Button(description="Remove", icon="trash", layout=w.Layout(width="auto"))
        self.remove.on_click(lambda _: on_remove(self))
        self._set(PRESETS[place])
        self.widget = w.VBox(
            [
                w.HBox([self.text, self.place, self.remove], layout=w.Layout(flex_flow="row wrap")),
                w.HBox([self.x, self.y, self.w, self.h], layout=w.Layout(flex_flow="row wrap")),
            ]
        )
        self.widget.add_class("memer-box")
        self.text.observe(lambda _: self._changed(), names="value")
        self.place.observe(self._on_place, names="value")
        for control in (self.x, self.y, self.w, self.h):
            control.observe(lambda _: self._on_slider(), names="value")

    def _set(self, values: tuple[float, float, float, float]) -> None:
        self._quiet = True
        try:
            self.x.value, self.y.value, self.w.value, self.h.value = values
        finally:
            self._quiet = False

    def _on_place(self, change: dict) -> None:
        if change["new"] in PRESETS:
            self._set(PRESETS[change["new"]])
            self._changed()

    def _on_slider(self) -> None:
        if self._quiet:
            return
        here = (self.x.value, self.y.value, self.w.value, self.h.value)
        if PRESETS.get(self.place.value) != here:
            self._quiet = True
            try:
                self.place.value = CUSTOM  # the sliders now say where it is
            finally:
                self._quiet = False
        self._changed()

    def _changed(self) -> None:
        if not self._quiet:
            self.on_change()

    def box(self) -> TextBox | None:
        """The box as the renderer takes it (cut to the picture); None while it has no text."""
        if not self.text.value.strip():
            return None
        x, y = min(self.x.value, 0.98), min(self.y.value, 0.98)
        return TextBox(
            x, y, max(0.02, min(self.w.value, 1.0 - x)), max(0.02, min(self.h.value, 1.0 - y)), self.text.value
        )


class BoxesPanel:
    """The list of text boxes and the button that adds one (each new one at the next free named place)."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        import ipywidgets as w

        self.on_change = on_change
        self.rows: list[BoxRow] = []
        self.add = w.Button(description="Add text box", icon="plus", layout=w.Layout(width="auto"))
        self.add.on_click(lambda _: self.add_box())
        self.list = w.VBox([])
        self.widget = w.VBox([self.list, self.add])

    def add_box(self, place: str | None = None, text: str = "") -> BoxRow:
        """A new box at ``place`` (else the first named place no box uses yet)."""
        used = {row.place.value for row in self.rows}
        place = place or next((p for p in PRESETS if p not in used), "middle")
        row = BoxRow(place, self.on_change, self._remove)
        row.text.value = text
        self.rows.append(row)
        self.list.children = [r.widget for r in self.rows]
        if text:
            self.on_change()
        return row

    def _remove(self, row: BoxRow) -> None:
        self.rows.remove(row)
        self.list.children = [r.widget for r in self.rows]
        self.on_change()

    def boxes(self) -> tuple[TextBox, ...]:
        """The boxes that have text, in the order they were added."""
        return tuple(box for box in (row.box() for row in self.rows) if box is not None)
