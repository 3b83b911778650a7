"""The live preview and the one-click download.

The preview is redrawn once typing pauses (the app debounces). Download is one
click: on Colab the button hands the PNG to ``google.colab.files.download``;
elsewhere it is a real download link, styled as a button, that always holds
the meme shown (a GIF, WebP or APNG, playing in the preview, when the picture moves) (greyed out while a newer one is being drawn). Each caption
gets its own file name, so three memes of one picture are three files.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from memer import settings
from memer.files import write_atomic
from memer.images import jpeg_bytes
from memer.text import file_words, human_size
from memer.ui.editor import Look
from memer.ui.jobs import Runner
from memer.ui.messages import error_for_app
from memer.ui.status import StepStatus
from memer.ui.style import download_link_html, esc

if TYPE_CHECKING:
    from memer.candidates import ImageCandidate
    from memer.contract import Pipeline
    from memer.pipeline import Meme


DOWNLOAD_LABEL = "⬇️ Download PNG"


def in_colab() -> bool:
    from memer.setup import in_colab as colab

    return colab()


def meme_file_name(base: str, look: Look) -> str:
    """``apple-pie-meme.png`` + the caption's first words + a short hash of the whole look (the base's
    extension kept: ``.gif`` or ``.webp`` for a meme that moves)."""
    stem = Path(base or "meme.png").stem
    suffix = Path(base or "meme.png").suffix or ".png"
    words = file_words(look.text, 5, letters=None)
    digest = hashlib.sha1(repr(look).encode("utf-8")).hexdigest()[:6]
    return "-".join(part for part in (stem, words, digest) if part) + suffix


def credit_with_restrictions(credit: str, candidate: ImageCandidate) -> str:
    """The credit line, and what the picture may not be used for (a link's rights, a model's licence)."""
    restrictions = getattr(candidate, "restrictions", "") or ""
    note = f'<div class="memer-note">{esc(restrictions, 300)}</div>' if restrictions else ""
    return f'<div class="memer-credit">{esc(credit, 300)}</div>{note}'


def undrawn_note(warnings: list[str]) -> str:
    """What of the caption is not on the meme, under the preview: nothing vanishes without a word."""
    return "".join(f'<div class="memer-note">⚠️ {esc(line, 400)}</div>' for line in warnings)


class Preview:
    def __init__(self, pipeline: Pipeline, runner: Runner) -> None:
        import ipywidgets as w

        self.pipeline, self.runner = pipeline, runner
        self.colab = in_colab()
        self.image = w.Image(value=b"", format="jpeg", layout=w.Layout(width="100%", height="auto"))
        self.image.add_class("memer-preview")
        self.attribution = w.HTML(value="")
        self.undrawn = w.HTML(value="")  # characters of the caption no font could draw, and why
        self.status = StepStatus(runner)
        self.download_button = w.Button(description="Download PNG", button_style="success", icon="download")
        self.download_link = w.HTML(value=download_link_html(None, "", DOWNLOAD_LABEL))
        self.download_note = w.HTML(value="")
        self.download_button.on_click(lambda _: self.download())
        self.download_button.layout.display = "" if self.colab else "none"
        self.download_link.layout.display = "none" if self.colab else ""
        self.widget = w.VBox(
            [
                self.image,
                self.undrawn,
                self.attribution,
                self.download_button,
                self.download_link,
                self.download_note,
                self.status.widget,
            ]
        )
        self.meme: Meme | None = None
        self.look: Look | None = None
        self.filename = ""
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._sync()

    def stale(self) -> None:
        """A control changed: the link must not save the old meme while the new one is drawn."""
        self.download_link.value = download_link_html(None, "", DOWNLOAD_LABEL)
        self.download_button.disabled = True

    def clear(self, candidate: ImageCandidate | None) -> None:
        """No caption: the plain picture, nothing to download."""
        from memer.ui.gallery import thumbnail_jpeg

        with self._lock:
            self.meme = self.look = None
        self.image.format = "jpeg"
        self.image.value = thumbnail_jpeg(candidate.path, settings.UI_PREVIEW_SIZE) if candidate is not None else b""
        self.attribution.value = credit_with_restrictions(candidate.attribution(), candidate) if candidate else ""
        self.undrawn.value = ""
        self.status.clear()
        self._sync()

    def render(
        self,
        candidate: ImageCandidate | None,
        look: Look,
        engine: str,
        description: str = "",
        language: str | None = None,
    ) -> Meme | None:
        """Draw the meme for ``look`` (any thread) in ``language``'s letter case; shows it, or the error under it."""
        if candidate is None:
            return None
        if not look.text and not look.boxes:
            self.clear(candidate)
            return None
        try:
            meme = self.pipeline.render(
                candidate,
                look.text,
                position=look.position,
                font_size=look.font_size,
                keep_case=look.keep_case,
                attribution_strip=look.credit_on_picture,
                engine=engine,
                text_color=look.text_color,
                outline_color=look.outline_color,
                ai_label=look.ai_label,
                description=description,
                language=language,
                boxes=look.boxes,
            )
        except BaseException as err:  # noqa: BLE001 - shown under the preview, never a traceback
            self.last_error = err
            self.status.fail(None, error_for_app(err))
            self.undrawn.value = ""
            with self._lock:
                self.meme = self.look = None
            self._sync()
            return None
        if meme.animated:  # the file itself: the browser plays a GIF, WebP or APNG in the Image widget
            self.image.format = meme.format
            self.image.value = meme.data
        else:
            self.image.format = "jpeg"
            self.image.value = jpeg_bytes(meme.image, settings.UI_PREVIEW_SIZE)
        self.attribution.value = credit_with_restrictions(meme.attribution, candidate)
        self.undrawn.value = undrawn_note(meme.warnings)
        self.status.clear()
        with self._lock:
            self.meme, self.look = meme, look
            self.filename = meme_file_name(meme.filename, look)
        self._sync()
        return meme

    def _sync(self) -> None:
        with self._sync_lock:  # read and written as one step: renders finish on worker threads
            with self._lock:
                meme, filename = self.meme, self.filename
            self.download_button.disabled = meme is None
            kind = meme.format.upper() if meme is not None else "PNG"
            self.download_button.description = f"Download {kind}"
            if not self.colab:
                data = meme.data if meme is not None else None
                mime = meme.mime_type if meme is not None else "image/png"
                self.download_link.value = download_link_html(data, filename, f"⬇️ Download {kind}", mime)
                frames = f" · {len(meme.animation.frames)} frames" if meme is not None and meme.animation else ""
                self.download_note.value = (
                    f'<div class="memer-note">{esc(filename)} · {human_size(len(data))}{frames}</div>' if data else ""
                )

    def download(self) -> None:
        """Colab's button (the kernel's own thread: files.download needs the cell's output)."""
        with self._lock:
            meme, filename = self.meme, self.filename
        if meme is None:
            self.status.fail(None, "Nothing to download yet: pick a picture and a caption first.")
            return
        try:
            path = write_atomic(Path(settings.MEME_DIR) / filename, meme.data)  # never half a file
            from google.colab import files

            files.download(str(path))
        except BaseException as err:  # noqa: BLE001 - shown under the button
            self.last_error = err
            self.status.fail(None, f"Could not download the meme: {error_for_app(err)}")
            return
        self.download_note.value = f'<div class="memer-note">Saved as {esc(str(path))} and sent to your browser.</div>'
