""" "Make N": N memes of the picture in use, with its top N captions, in one ZIP to download.

The captions are the first N shown that may be used (:meth:`memer.ui.work.PictureWork.top`: an unsafe one
only once the user confirmed it), each set on the picture with the editor's look at the moment of the click.
The files inside are named so they sort (``01-…png``), as ``memer make --count`` names them.
"""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from memer import settings
from memer.ui.editor import Look, text_for_position
from memer.ui.jobs import Cancelled, Job, Runner
from memer.ui.messages import error_for_app
from memer.ui.preview import in_colab, meme_file_name
from memer.ui.status import StepStatus
from memer.ui.style import esc

if TYPE_CHECKING:
    from memer.candidates import ImageCandidate
    from memer.captioning.base import Caption
    from memer.contract import Pipeline
    from memer.ui.work import PictureWork

MAX_MEMES = 10


def zip_bytes(files: list[tuple[str, bytes]]) -> bytes:
    """The files in one ZIP (PNGs are compressed already: stored as they are)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return out.getvalue()


def zip_link_html(data: bytes | None, filename: str, label: str) -> str:
    """A real link that saves the ZIP, styled as the meme's download button; nothing while there is none."""
    import base64
    import html

    if not data:
        return ""
    name = html.escape(filename, quote=True)
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<a download="{name}" href="data:application/zip;base64,{encoded}" class="memer-download" '
        f'title="Save {name}">{esc(label)}</a>'
    )


class SeveralPanel:
    """``current()`` gives (candidate, theme, work); ``look()`` the editor's look now."""

    def __init__(
        self,
        pipeline: Pipeline,
        runner: Runner,
        current: Callable[[], tuple[ImageCandidate | None, str, PictureWork | None]],
        look: Callable[[], Look],
    ) -> None:
        import ipywidgets as w

        self.pipeline, self.runner, self.current, self.look = pipeline, runner, current, look
        self.colab = in_colab()
        self.count = w.BoundedIntText(value=3, min=1, max=MAX_MEMES, description="Make", layout=w.Layout(width="150px"))
        self.button = w.Button(description="memes of the top captions", icon="clone")
        self.button.on_click(lambda _: self.make())
        self.link = w.HTML(value="")
        self.download_button = w.Button(description="Download ZIP", button_style="success", icon="download")
        self.download_button.on_click(lambda _: self.download())
        self.download_button.layout.display = "none"
        self.status = StepStatus(runner)
        self.widget = w.VBox(
            [
                w.HBox([self.count, self.button], layout=w.Layout(flex_flow="row wrap")),
                self.link,
                self.download_button,
                self.status.widget,
            ]
        )
        self.files: list[tuple[str, bytes]] = []  # the last set made: (name in the ZIP, PNG)
        self.zip_name = ""
        self._lock = threading.Lock()

    def make(self) -> None:
        """The button: render the top N captions in the background, then offer the ZIP."""
        candidate, theme, work = self.current()
        if candidate is None or work is None:
            self.status.fail(None, "Pick a picture first.")
            return
        captions = work.top(int(self.count.value))
        if not captions:
            self.status.fail(None, "Write captions first: the memes are made from the top captions shown.")
            return
        job = Job("several", theme)
        self.link.value = ""
        self.download_button.layout.display = "none"
        self.status.start(job, f"Making {len(captions)} memes…")
        look = self.look()
        self.runner.spawn(lambda: self._run(job, candidate, theme, work, captions, look), "memer-ui-several")

    def _run(
        self, job: Job, candidate: ImageCandidate, theme: str, work: PictureWork, captions: list[Caption], look: Look
    ) -> None:
        from memer.several import sortable_name
        from memer.text import file_words

        try:
            files = []
            for number, caption in enumerate(captions, 1):
                job.check()
                text = text_for_position(caption.text, look.position)
                meme = self.pipeline.render(
                    candidate,
                    text,
                    position=look.position,
                    font_size=look.font_size,
                    keep_case=look.keep_case,
                    attribution_strip=look.credit_on_picture,
                    engine=work.engine,
                    text_color=look.text_color,
                    outline_color=look.outline_color,
                    ai_label=look.ai_label,
                    description=work.description,
                )
                name = sortable_name(number, len(captions), meme_file_name(meme.filename, replace(look, text=text)))
                files.append((name, meme.png))
            job.check()
            zip_name = f"{file_words(theme) or 'memes'}-{len(files)}-memes.zip"
            with self._lock:
                self.files, self.zip_name = files, zip_name
            if self.colab:
                self.download_button.layout.display = ""
            else:
                self.link.value = zip_link_html(zip_bytes(files), zip_name, f"⬇️ Download {len(files)} memes (ZIP)")
            self.status.finish(job, f"{len(files)} memes ready: {', '.join(name for name, _ in files)}")
        except Cancelled:
            pass
        except BaseException as err:  # noqa: BLE001 - a caption that cannot be drawn: said under the button
            self.last_error = err
            self.status.fail(job, error_for_app(err))
        finally:
            job.done.set()

    def download(self) -> None:
        """Colab's button (the kernel's own thread: files.download needs the cell's output)."""
        with self._lock:
            files, zip_name = self.files, self.zip_name
        if not files:
            self.status.fail(None, "Nothing to download yet: make the memes first.")
            return
        try:
            folder = Path(settings.MEME_DIR)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / zip_name
            path.write_bytes(zip_bytes(files))
            from google.colab import files as colab_files

            colab_files.download(str(path))
        except BaseException as err:  # noqa: BLE001 - shown under the button
            self.last_error = err
            self.status.fail(None, f"Could not download the memes: {error_for_app(err)}")
