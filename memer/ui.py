"""The notebook app: an ipywidgets face on :mod:`memer.pipeline`.

Type a topic, pick one of the pictures found, write or pick a caption, watch the
preview and download the meme. Works with ipywidgets 7 (Colab ships 7.7.1) and
8. Every callback runs inside :meth:`App._guarded`, so a failure becomes a
readable message in the app, never a traceback.
"""

from __future__ import annotations

import base64
import html
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memer import captions, settings
from memer.candidates import source_display_name
from memer.errors import MemerError
from memer.images import jpeg_bytes
from memer.render import POSITIONS
from memer.text import redact_secrets

BADGES = {0: "✅ safe", 1: "⚠️ sensitive", 2: "⛔ unsafe"}

_CSS = """
<style>
.memer-credit { font-size: 12px; line-height: 1.3; color: #555; overflow-wrap: anywhere; }
.memer-error { background: #fdecea; color: #8a1c13; border-left: 4px solid #d93025; padding: 6px 10px; }
.memer-sources { font-size: 13px; }
.memer-h { font-size: 16px; font-weight: 600; margin: 6px 0 2px 0; }
.memer-note { font-size: 12px; color: #555; }
</style>
"""


def openai_key_found() -> bool:
    """Whether an OpenAI key is already set up (Colab secret or environment); the key itself is not kept."""
    try:
        return bool(captions.find_openai_key())
    except Exception:  # noqa: BLE001 - e.g. Colab secrets refused: the app still opens, with the key box
        return False


def thumbnail_jpeg(path: Path | str | None, size: int) -> bytes:
    """A small JPEG of the picture at ``path`` (a grey tile when it cannot be read)."""
    from PIL import Image

    from memer.images import open_image

    try:
        img = open_image(path)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - a missing or broken picture gets a tile, not a failed gallery
        img = Image.new("RGB", (size, size * 3 // 4), (200, 200, 200))
    return jpeg_bytes(img, size)


def credit_html(candidate: Any) -> str:
    """Source, author and licence of a picture, escaped; the licence links to its text when known."""
    license_text = html.escape(candidate.license or "licence unknown")
    url = candidate.license_url or ""
    if url.startswith(("https://", "http://")):
        license_text = f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener">{license_text}</a>'
    return (
        f'<div class="memer-credit"><b>{html.escape(candidate.source_name)}</b><br>'
        f"{html.escape(candidate.author or 'unknown')}<br>{license_text}</div>"
    )


def sources_html(sources: list[Any]) -> str:
    """Which sources answered and which failed, and why."""
    parts = []
    for status in sources:
        name = html.escape(source_display_name(status.name))
        if status.ok:
            note = f" ({html.escape(status.message)})" if status.message else ""
            parts.append(f"✅ {name}: {status.count} found{note}")
        else:
            parts.append(f"❌ {name}: {html.escape(status.message or 'failed')}")
    return '<div class="memer-sources">' + " &nbsp;·&nbsp; ".join(parts) + "</div>"


def caption_label(index: int, caption: Any) -> str:
    return f"{index + 1}. {BADGES.get(caption.level, '?')} · {caption.text}"


def download_link_html(png: bytes, filename: str) -> str:
    """A link that saves ``png`` as ``filename`` from the browser, without a server."""
    name = html.escape(Path(filename).name or "meme.png", quote=True)
    data = base64.b64encode(png).decode("ascii")
    return f'<a download="{name}" href="data:image/png;base64,{data}" class="memer-download">⬇️ Save {name}</a>'


def _set_tooltip(widget: Any, text: str) -> None:
    """ipywidgets 8 calls it ``tooltip``; 7 has ``description_tooltip`` (Button has ``tooltip`` in both)."""
    if widget.has_trait("tooltip"):
        widget.tooltip = text
    elif widget.has_trait("description_tooltip"):
        widget.description_tooltip = text


def _show(widget: Any, visible: bool) -> None:
    widget.layout.display = "" if visible else "none"


class App:
    """The meme maker as widgets. ``pipeline`` is :mod:`memer.pipeline` unless given (tests pass a fake)."""

    def __init__(self, pipeline: Any = None) -> None:
        if pipeline is None:
            from memer import pipeline as pipeline_module

            pipeline = pipeline_module
        self.pipeline = pipeline
        self.result: Any = None  # SearchResult
        self.candidate: Any = None  # the picked ImageCandidate
        self.batch: Any = None  # CaptionBatch
        self.meme: Any = None  # the last rendered Meme
        self.last_error: BaseException | None = None  # for debugging; never shown as a traceback
        self.working = False
        self.key_found = openai_key_found()
        self._typed_key: str | None = None  # only in memory; cleared from the widget once read
        self._build()

    # --- layout ---------------------------------------------------------------------

    def _build(self) -> None:
        import ipywidgets as w

        def full() -> Any:  # a new Layout each time: hiding one widget must not hide its neighbours
            return w.Layout(width="100%")

        self.query = w.Text(placeholder="a topic, e.g. apple pie", layout=w.Layout(flex="1 1 auto", width="auto"))
        self.search_button = w.Button(description="Search", button_style="primary", icon="search")
        _set_tooltip(self.search_button, "Find pictures for the topic")
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, layout=w.Layout(width="220px"))
        self.status = w.Label(value="")
        self.message = w.HTML(value="")
        self.sources = w.HTML(value="")
        self.gallery = w.GridBox(
            children=[],
            layout=w.Layout(grid_template_columns="repeat(5, minmax(0, 1fr))", grid_gap="8px", width="100%"),
        )
        self.pick_buttons: list[Any] = []

        engines = captions.ENGINES
        default_engine = settings.CAPTION_ENGINE or ("openai" if self.key_found else "local")
        self.engine = w.ToggleButtons(
            options=list(engines),
            value=default_engine if default_engine in engines else engines[0],
            description="Engine",
        )
        styles = captions.STYLES
        self.style = w.Dropdown(
            options=list(styles),
            value=settings.CAPTION_STYLE if settings.CAPTION_STYLE in styles else styles[0],
            description="Style",
        )
        # Synced on Enter or leaving the box, then taken out of it at once: the saved widget state never holds it.
        self.key_box = w.Password(
            placeholder="sk-… (kept in memory only)", description="OpenAI key", continuous_update=False
        )
        self.key_box.observe(self._take_key, names="value")
        _set_tooltip(self.key_box, "No OpenAI key was found; paste one here or use the local engine")
        self.generate_button = w.Button(description="Write captions", button_style="primary", icon="pencil")
        self.captions_list = w.Select(options=[], rows=10, layout=full())
        self.safety_note = w.HTML(value="")

        self.caption_text = w.Textarea(
            placeholder="Pick a caption above or write your own (for top and bottom, split with |)",
            continuous_update=False,  # re-render when the user leaves the box, not on every key
            layout=w.Layout(width="100%", height="70px"),
        )
        self.position = w.ToggleButtons(options=list(POSITIONS), value="bottom", description="Position")
        self.auto_size = w.Checkbox(value=True, description="Auto font size", indent=False)
        self.font_size = w.IntSlider(
            value=64, min=12, max=200, step=2, description="Size", disabled=True, continuous_update=False
        )
        self.preview = w.Image(
            value=b"",
            format="jpeg",
            layout=w.Layout(max_width="100%", width="auto", max_height="520px", object_fit="contain"),
        )
        self.preview.add_class("memer-preview")  # a handle for styling and the browser test
        self.attribution = w.HTML(value="")
        self.download_button = w.Button(description="Download PNG", button_style="success", icon="download")
        self.download_link = w.HTML(value="")

        self.search_button.on_click(lambda _: self.search())
        with warnings.catch_warnings():  # ipywidgets 8 deprecates on_submit but still sends it; 7 has nothing else
            warnings.simplefilter("ignore", DeprecationWarning)
            self.query.on_submit(lambda _: self.search() if not self.search_button.disabled else None)
        self.generate_button.on_click(lambda _: self.generate())
        self.download_button.on_click(lambda _: self.download())
        self.engine.observe(lambda _: self._sync(), names="value")
        self.captions_list.observe(self._on_caption_selected, names="value")
        self.caption_text.observe(lambda _: self._guarded(self._render), names="value")
        self.position.observe(lambda _: self._guarded(self._render), names="value")
        self.font_size.observe(lambda _: self._guarded(self._render), names="value")
        self.auto_size.observe(self._on_auto_size, names="value")

        def heading(text: str) -> Any:
            return w.HTML(value=f'<div class="memer-h">{text}</div>')

        self.pick_section = w.VBox([heading("2. Pick a picture"), self.gallery])
        self.caption_section = w.VBox(
            [
                heading("3. Captions"),
                w.HBox([self.engine, self.style], layout=w.Layout(flex_flow="row wrap")),
                self.key_box,
                self.generate_button,
                self.captions_list,
                self.safety_note,
                heading("4. Edit"),
                self.caption_text,
                self.position,
                w.HBox([self.auto_size, self.font_size]),
            ],
            layout=w.Layout(flex="1 1 420px", min_width="320px", margin="0 16px 0 0"),
        )
        self.meme_section = w.VBox(
            [heading("Preview"), self.preview, self.attribution, self.download_button, self.download_link],
            layout=w.Layout(flex="1 1 420px", min_width="320px"),
        )
        self.make_section = w.HBox([self.caption_section, self.meme_section], layout=w.Layout(flex_flow="row wrap"))
        self.widget = w.VBox(
            [
                w.HTML(value=_CSS + '<div class="memer-h" style="font-size:20px">memer: make a meme</div>'),
                heading("1. Find a picture"),
                w.HBox([self.query, self.search_button], layout=full()),
                w.HBox([self.progress, self.status]),
                self.message,
                self.sources,
                self.pick_section,
                self.make_section,
            ],
            layout=w.Layout(width="100%", max_width="1100px", padding="4px 4px 8px 4px"),
        )
        self.widget.add_class("memer-app")
        self._sync()

    def show(self) -> App:
        from IPython.display import display

        display(self.widget)
        return self

    def __repr__(self) -> str:
        return f"<memer App, query={self.query.value!r}>"

    # --- state ------------------------------------------------------------------------

    def _sync(self) -> None:
        """Enable, disable, show and hide widgets from the app's state."""
        picked = self.candidate is not None
        self.search_button.disabled = self.working
        for button in self.pick_buttons:
            button.disabled = self.working
        self.generate_button.disabled = self.working or not picked
        self.download_button.disabled = self.working or self.meme is None
        _show(self.pick_section, bool(self.pick_buttons))
        _show(self.make_section, picked)
        _show(self.key_box, self.engine.value == "openai" and not self.key_found)
        _show(self.captions_list, bool(self.captions_list.options))

    def _guarded(self, work: Callable[[], None]) -> None:
        """Run ``work`` with buttons disabled; show a failure as a message, never a traceback."""
        if self.working:
            return  # a widget changed by the work itself; the work renders what it needs
        self.working = True
        self.message.value = ""
        self._sync()
        try:
            work()
        except MemerError as err:
            self.last_error = err
            self.status.value = ""
            self._error(str(err))
        except Exception as err:  # noqa: BLE001 - anything else is still a message, not a traceback
            self.last_error = err
            self.status.value = ""
            self._error(
                f"Something went wrong: {type(err).__name__}: {err}. Try again; if it keeps happening, report it."
            )
        finally:
            self.working = False
            self._sync()

    def _take_key(self, change: dict) -> None:
        """Keep a typed key in memory only and empty the box (its value would be saved with the notebook)."""
        typed = (change.get("new") or "").strip()
        if typed:
            self._typed_key = typed
            self.key_box.value = ""
            self.key_box.placeholder = "key in use (hidden); type a new one to replace it"

    def _error(self, text: str) -> None:
        if self._typed_key:
            text = text.replace(self._typed_key, "***")
        text = redact_secrets(text)  # keys found anywhere, not only typed ones
        self.message.value = f'<div class="memer-error">{html.escape(text)}</div>'

    def _progress(self, message: str, fraction: float | None) -> None:
        self.status.value = message
        if fraction is not None:
            self.progress.value = min(1.0, max(0.0, float(fraction)))

    # --- 1. search ------------------------------------------------------------------

    def search(self) -> None:
        """The Search button: find pictures for the topic and fill the gallery."""
        self._guarded(self._search)

    def _search(self) -> None:
        query = self.query.value.strip()
        if not query:
            raise MemerError("Type a topic first, e.g. “apple pie”.")
        self.progress.value = 0.0
        self.result = self.candidate = self.batch = self.meme = None
        self.pick_buttons = []
        self.gallery.children = []
        self.sources.value = ""
        self._clear_captions()
        result = self.pipeline.search(query, progress=self._progress)
        self.result = result
        self.sources.value = sources_html(result.sources)
        self._fill_gallery(result.candidates)
        self.progress.value = 1.0
        self.status.value = f"{len(result.candidates)} pictures: pick one."
        if not result.candidates:
            raise MemerError(f"No pictures found for “{query}”.", "Try other words, or check the sources above.")

    def _fill_gallery(self, candidates: list[Any]) -> None:
        import ipywidgets as w

        cells, buttons = [], []
        for index, candidate in enumerate(candidates):
            image = w.Image(
                value=thumbnail_jpeg(candidate.path, settings.UI_THUMB_SIZE),
                format="jpeg",
                layout=w.Layout(width="100%", height="110px", object_fit="cover"),
            )
            button = w.Button(description=f"Pick #{index + 1}", layout=w.Layout(width="100%"))
            _set_tooltip(button, candidate.title)
            button.on_click(lambda _, i=index: self.pick(i))
            cells.append(w.VBox([image, button, w.HTML(value=credit_html(candidate))], layout=w.Layout(width="100%")))
            buttons.append(button)
        self.pick_buttons = buttons
        self.gallery.children = cells

    # --- 2. pick ---------------------------------------------------------------------

    def pick(self, index: int) -> None:
        """A gallery button: use the ``index``-th picture."""
        self._guarded(lambda: self._pick(index))

    def _pick(self, index: int) -> None:
        self.candidate = self.result.candidates[index]
        self.batch = self.meme = None
        for i, button in enumerate(self.pick_buttons):
            button.button_style = "success" if i == index else ""
            button.description = "✓ Picked" if i == index else f"Pick #{i + 1}"
        self._clear_captions()
        self.caption_text.value = ""
        self._render()

    # --- 3. captions -----------------------------------------------------------------

    def generate(self) -> None:
        """The Write captions button: ask the chosen engine for captions of the picked picture."""
        self._guarded(self._generate)

    def _generate(self) -> None:
        if self.candidate is None:
            raise MemerError("Pick a picture first.")
        api_key = None
        if self.engine.value == "openai" and not self.key_found:
            if not self._typed_key:
                raise MemerError("No OpenAI key found.", "Paste one in the key box, or choose the local engine.")
            api_key = self._typed_key
        self.progress.value = 0.0
        self._clear_captions()
        batch = self.pipeline.captions(
            self.candidate,
            theme=self.result.query,
            engine=self.engine.value,
            style=self.style.value,
            api_key=api_key,
            progress=self._progress,
        )
        self.batch = batch
        self.progress.value = 1.0
        self.status.value = f"{len(batch.captions)} captions: pick one or write your own."
        note = f"Safety check: {html.escape(batch.safety_check)}"
        if batch.note:
            note += f". {html.escape(batch.note)}"
        self.safety_note.value = f'<div class="memer-note">{note}</div>'
        self.captions_list.options = [(caption_label(i, c), i) for i, c in enumerate(batch.captions)]
        first_safe = next((i for i, c in enumerate(batch.captions) if c.level < 2), None)
        self.captions_list.value = first_safe  # fills the text box and renders, below
        if first_safe is not None:
            self._use_caption(first_safe)

    def _clear_captions(self) -> None:
        self.captions_list.options = []
        self.safety_note.value = ""

    def _on_caption_selected(self, change: dict) -> None:
        if change["new"] is not None:
            self._guarded(lambda: self._use_caption(change["new"]))

    def _use_caption(self, index: int) -> None:
        self.caption_text.value = self.batch.captions[index].text
        self._render()

    # --- 4. edit, preview, download ---------------------------------------------------

    def _on_auto_size(self, change: dict) -> None:
        self.font_size.disabled = bool(change["new"])
        self._guarded(self._render)

    def _render(self) -> None:
        """Re-draw the preview from the text box, position and size."""
        if self.candidate is None:
            return
        self.download_link.value = ""
        self.attribution.value = f'<div class="memer-credit">{html.escape(self.candidate.attribution())}</div>'
        text = self.caption_text.value.strip()
        if not text:
            self.meme = None
            self.preview.value = thumbnail_jpeg(self.candidate.path, settings.UI_PREVIEW_SIZE)
            return
        self.meme = None  # until the new one is drawn
        meme = self.pipeline.render(
            self.candidate,
            text,
            position=self.position.value,
            font_size=None if self.auto_size.value else int(self.font_size.value),
            engine=self.batch.engine if self.batch is not None else "",
        )
        self.meme = meme
        self.preview.value = jpeg_bytes(meme.image, settings.UI_PREVIEW_SIZE)
        self.attribution.value = f'<div class="memer-credit">{html.escape(meme.attribution)}</div>'

    def download(self) -> None:
        """The Download button: Colab's download on Colab, a save link elsewhere."""
        self._guarded(self._download)

    def _download(self) -> None:
        if self.meme is None:
            raise MemerError("Nothing to download yet.", "Pick a picture and a caption first.")
        from memer.setup import in_colab

        filename = Path(self.meme.filename).name or "meme.png"
        if in_colab():
            from google.colab import files

            folder = Path(settings.MEME_DIR)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / filename
            path.write_bytes(self.meme.png)
            files.download(str(path))
            self.download_link.value = f'<div class="memer-note">Saved as {html.escape(str(path))}.</div>'
        else:
            self.download_link.value = download_link_html(self.meme.png, filename)


def launch(pipeline: Any = None) -> App:
    """Show the app in the notebook (the notebook's one app cell) and return it."""
    return App(pipeline).show()
