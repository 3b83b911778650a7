"""The Open Images cache, set up from the app (issue 14): use Drive's copy, download, build, or skip.

Everything is :mod:`memer.cache_setup`; this panel shows its one calm status
line and one button per choice it offers. A build first shows the measured
estimate (it loads CLIP, so it runs in the background) and starts only on a
second click. Slow steps run off the kernel's thread with their own status
and Cancel-free progress (a build resumes where it stopped).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from memer.ui.compat import show
from memer.ui.jobs import Cancelled, Job, Runner
from memer.ui.logs import Meter
from memer.ui.messages import error_for_app
from memer.ui.status import StepStatus
from memer.ui.style import note_html

CHOICE_LABELS = {
    "drive": "Use the cache on my Drive",
    "download": "Download it",
    "build-quick": "Build it (quick)",
    "build-full": "Build it (full)",
    "skip": "Skip",
}


class CachePanel:
    """``setup`` is :mod:`memer.cache_setup` unless given (tests pass a stand-in)."""

    def __init__(self, runner: Runner, setup: Any = None) -> None:
        import ipywidgets as w

        if setup is None:
            from memer import cache_setup as setup
        self.setup, self.runner = setup, runner
        self.line = w.HTML(value="")
        self.buttons: dict[str, Any] = {}
        self.choices = w.HBox([], layout=w.Layout(flex_flow="row wrap"))
        self.estimate = w.HTML(value="")
        self.start_build = w.Button(
            description="Start the build", button_style="warning", layout=w.Layout(display="none")
        )
        self.start_build.on_click(lambda _: self._build())
        self.keep_on_drive = w.Checkbox(value=False, description="Keep it on my Google Drive", indent=False)
        self.mount = w.Button(description="Mount Drive", icon="hdd-o")
        self.mount.on_click(lambda _: self._run("Mounting Google Drive…", lambda hook: self.setup.mount_drive()))
        self.drive_row = w.HBox([self.keep_on_drive, self.mount], layout=w.Layout(flex_flow="row wrap", display="none"))
        self.status = StepStatus(runner, Meter(lambda: [self.status_dir()]))
        self.widget = w.VBox(
            [self.line, self.choices, self.drive_row, self.estimate, self.start_build, self.status.widget]
        )
        self._kind = ""
        self._skipped = False
        self.job: Job | None = None
        self.current: Any = None
        self.refresh()

    def status_dir(self) -> Any:
        from pathlib import Path

        return Path(self.current.directory) if self.current is not None else Path(".")

    def refresh(self) -> None:
        """Ask for the cache's status again and show its line and choices."""
        import ipywidgets as w

        try:
            self.current = status = self.setup.cache_status()
        except Exception as err:  # noqa: BLE001 - the panel says it; the app still works without the cache
            self.line.value = note_html(error_for_app(err))
            return
        self.line.value = note_html(status.line)
        choices = [] if status.ready or self._skipped else list(status.choices)
        self.buttons = {}
        for choice in choices:
            button = w.Button(description=CHOICE_LABELS.get(choice, choice))
            button.on_click(lambda _, c=choice: self.choose(c))
            self.buttons[choice] = button
        self.choices.children = list(self.buttons.values())
        show(self.drive_row, bool(status.on_colab) and not status.ready)
        show(self.mount, bool(status.on_colab) and not status.drive_mounted)

    def choose(self, choice: str) -> None:
        if choice == "skip":
            self._skipped = True
            self.estimate.value = ""
            show(self.start_build, False)
            self.status.say("Skipped for this session: searches use Wikimedia Commons and Wikipedia.")
            self.refresh()
        elif choice == "drive":
            self._run("Switching to the cache on your Drive…", lambda hook: self.setup.use_drive())
        elif choice == "download":
            self._run(
                "Downloading the Open Images cache…",
                lambda hook: self._then_drive(self.setup.run_download(progress=hook)),
            )
        elif choice.startswith("build-"):
            self._kind = choice.split("-", 1)[1]
            self._run(f"Measuring how long a {self._kind} build takes here…", self._estimated)

    def _estimated(self, hook: Callable) -> None:
        estimate = self.setup.estimate_build(self._kind, progress=hook)
        self.estimate.value = note_html(estimate.line)
        self.start_build.description = f"Start the {self._kind} build"
        show(self.start_build, True)

    def _build(self) -> None:
        show(self.start_build, False)
        kind = self._kind or "quick"
        self._run(
            f"Building the Open Images cache ({kind})…",
            lambda hook: self._then_drive(self.setup.run_build(kind, progress=hook)),
        )

    def _then_drive(self, report: Any) -> Any:
        if self.keep_on_drive.value and self.current is not None and self.current.on_colab:
            self.setup.copy_to_drive()
        return report

    def _run(self, message: str, work: Callable[[Callable], Any]) -> None:
        if self.job is not None and self.job.running:
            self.status.warn("The cache is busy with the last step: wait for it.")
            return
        job = self.job = Job("cache")
        self.status.start(job, message)
        self.runner.spawn(lambda: self._work(job, work), name="memer-ui-cache")

    def _work(self, job: Job, work: Callable[[Callable], Any]) -> None:
        try:
            work(job.hook(lambda m, f: self.status.report(job, m, f)))
            self.status.finish(job, "Done.")
        except Cancelled:
            pass
        except BaseException as err:  # noqa: BLE001 - every failure is a message under the panel
            self.last_error = err
            self.status.fail(job, error_for_app(err))
        finally:
            job.done.set()
            self.refresh()
