"""Your own picture instead of a search: an upload, or a link to a picture (issue 13).

Both go through :func:`memer.pipeline.own_picture` (the same checks as any
download) in the background; the picture becomes the one in use, as if picked
in the gallery. Errors show under these controls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from memer.ui.compat import clear_upload, set_tooltip
from memer.ui.jobs import Cancelled, Job, Runner
from memer.ui.messages import error_for_app
from memer.ui.status import StepStatus

if TYPE_CHECKING:
    from memer.candidates import ImageCandidate
    from memer.contract import Pipeline


class OwnPicturePanel:
    """``on_picture(candidate)`` runs (in a background thread) once the picture is ready."""

    def __init__(self, pipeline: Pipeline, runner: Runner, on_picture: Callable[[ImageCandidate], None]) -> None:
        import ipywidgets as w

        self.pipeline, self.runner, self.on_picture = pipeline, runner, on_picture
        self.upload = w.FileUpload(
            accept="image/*", multiple=False, description="Upload picture", layout=w.Layout(width="auto")
        )
        set_tooltip(self.upload, "Use a picture of your own (JPEG, PNG, WebP …)")
        self.link = w.Text(placeholder="or paste a link to a picture (https://…)", layout=w.Layout(flex="1 1 200px"))
        self.link.add_class("memer-link")
        self.link_button = w.Button(description="Use link", icon="link")
        self.status = StepStatus(runner)
        self.widget = w.VBox(
            [
                w.HBox([self.upload, self.link, self.link_button], layout=w.Layout(flex_flow="row wrap")),
                self.status.widget,
            ]
        )
        self.upload.observe(self._uploaded, names="value")
        self.link_button.on_click(lambda _: self.use_link())
        self.job: Job | None = None

    def _uploaded(self, change: dict) -> None:
        value = change.get("new")
        if not value:
            return  # emptied by clear_upload
        try:
            content, name = self.pipeline.uploaded_file(value)
        except Exception as err:  # noqa: BLE001 - shown under the control
            self.status.fail(None, error_for_app(err))
            return
        self._start(lambda: self.pipeline.own_picture(content, name=name), f"Checking {name or 'your picture'}…")

    def use_link(self) -> None:
        url = self.link.value.strip()
        if not url:
            self.status.fail(None, "Paste a link to a picture first (https://…).")
            return
        self._start(lambda: self.pipeline.own_picture(url), "Downloading the picture…")

    def _start(self, work: Callable[[], ImageCandidate], message: str) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
        job = self.job = Job("own")
        self.status.start(job, message)
        self.runner.spawn(lambda: self._run(job, work), name="memer-ui-own")

    def _run(self, job: Job, work: Callable[[], ImageCandidate]) -> None:
        try:
            candidate = work()
            job.check()
            self.status.finish(job, "Your picture is in use: write or pick a caption below.")
            self.on_picture(candidate)
        except Cancelled:
            pass
        except BaseException as err:  # noqa: BLE001 - every failure is a message in the app
            self.last_error = err
            if job is self.job:
                self.status.fail(job, error_for_app(err))
        finally:
            job.done.set()
            if isinstance(self.upload.value, dict) or self.upload.value:
                try:
                    clear_upload(self.upload)  # the same file may be chosen again
                except Exception:  # noqa: BLE001 - an odd FileUpload must not hide the result
                    pass
