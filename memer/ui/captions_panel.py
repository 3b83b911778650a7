"""Step 3: the caption engine, style and language, Write / More captions, Cancel, and the captions to choose from.

Captions belong to their picture (:mod:`memer.ui.work`): "More captions" adds
a batch, a failed batch leaves the list as it was, and a click on a caption
(even the chosen one) puts its original text back in the box. An unsafe
caption is used only after a confirm that says why it was flagged. The
language box offers the common languages and takes any other typed as a code
or a name; its last choice is kept for the session (a new app starts with it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from memer import captioning as captions
from memer import settings
from memer.language import COMMON, parse_language
from memer.text import display_safe
from memer.ui.compat import set_tooltip, show
from memer.ui.jobs import Cancelled, Job, Runner
from memer.ui.logs import Meter
from memer.ui.messages import error_for_app
from memer.ui.status import StepStatus
from memer.ui.style import BADGES, esc, note_html
from memer.ui.work import PictureWork

if TYPE_CHECKING:
    from memer.candidates import ImageCandidate
    from memer.captioning.base import Caption
    from memer.contract import Pipeline


def openai_key_found() -> bool:
    """Whether an OpenAI key is already set up (Colab secret or environment); the key itself is not kept."""
    try:
        return bool(captions.find_openai_key())
    except Exception:  # noqa: BLE001 - e.g. Colab secrets refused: the app still opens, with the key box
        return False


_last_language: list[str] = []  # the language last chosen in this session (Python process)


def language_choices() -> dict[str, str]:
    """The language box's list: "Hindi (हिन्दी)" -> "hi", the common languages in order."""
    choices = {}
    for code in COMMON:
        try:
            choices[parse_language(code).label] = code
        except Exception:  # noqa: BLE001 - babel missing or too old: the box still takes a typed code
            continue
    return choices


def default_language(choices: dict[str, str]) -> str:
    """What the box shows first: this session's last choice, else MEMER_LANGUAGE, else English."""
    if _last_language:
        return _last_language[-1]
    try:
        language = parse_language(settings.LANGUAGE, fix="MEMER_LANGUAGE")
    except Exception:  # noqa: BLE001 - an unknown MEMER_LANGUAGE shows as typed; writing captions says why
        return settings.LANGUAGE.strip()
    return next((label for label, code in choices.items() if code == language.code), language.label)


def caption_label(index: int, caption: Caption) -> str:
    """A caption as its button reads: number, safety badge, its fit score when ranked, text (line breaks as " / ")."""
    text = display_safe(caption.text.replace("\n", " / "), 300)
    score = getattr(caption, "score", None)
    fit = f"fit {score:.2f} · " if score is not None else ""
    return f"{index + 1}. {BADGES.get(caption.level, '?')} · {fit}{text}"


def flag_reason(caption: Caption, safety_check: str) -> str:
    """Why a caption was flagged, in words."""
    what = ", ".join(display_safe(c, 40) for c in caption.categories) or "no category given"
    return (
        f"flagged {BADGES.get(caption.level, '?').split(' ', 1)[-1]} by {safety_check or 'the safety check'} ({what})"
    )


class CaptionsPanel:
    """``on_choose(text)`` runs when a caption is chosen; ``current()`` gives (candidate, theme, work)."""

    def __init__(
        self,
        pipeline: Pipeline,
        runner: Runner,
        current: Callable[[], tuple[ImageCandidate | None, str, PictureWork | None]],
        on_choose: Callable[[str], None],
    ) -> None:
        import ipywidgets as w

        self.pipeline, self.runner, self.current, self.on_choose = pipeline, runner, current, on_choose
        self.key_found = openai_key_found()
        self._typed_key: str | None = None  # only in memory; cleared from the widget once read
        engines = captions.engines()
        try:
            default = captions.choose_engine(key_found=self.key_found)
        except Exception:  # noqa: BLE001 - an unknown MEMER_CAPTION_ENGINE: the first engine, said when captioning
            default = engines[0].name
        self.engine = w.ToggleButtons(
            options=[(engine.label, engine.name) for engine in engines],
            value=default,
            description="Engine",
        )
        styles = list(captions.STYLES)
        self.style = w.Dropdown(
            options=styles,
            value=settings.CAPTION_STYLE if settings.CAPTION_STYLE in styles else styles[0],
            description="Style",
        )
        self.languages = language_choices()
        self.language = w.Combobox(
            options=list(self.languages),
            value=default_language(self.languages),
            placeholder="English, or a code such as hi, ja, pt-BR",
            description="Language",
            ensure_option=False,
            continuous_update=False,
            layout=w.Layout(width="auto", flex="0 1 320px"),
        )
        set_tooltip(self.language, "The captions' language: pick one, or type a code (hi, ja, pt-BR) or a name")
        self.language.observe(self._remember_language, names="value")
        # Synced on Enter or leaving the box, then taken out of it at once: the saved widget state never holds it.
        self.key_box = w.Password(
            placeholder="sk-… (kept in memory only)", description="OpenAI key", continuous_update=False
        )
        self.key_box.observe(self._take_key, names="value")
        set_tooltip(self.key_box, "No OpenAI key was found; paste one here, or choose Engine: local")
        self.seed = w.Text(
            placeholder="any (a number repeats the local captions)",
            description="Seed",
            continuous_update=False,
            layout=w.Layout(width="auto", flex="0 1 320px"),
        )
        self.write_button = w.Button(description="Write captions", button_style="primary", icon="pencil")
        self.cancel_button = w.Button(description="Cancel", icon="times", layout=w.Layout(display="none"))
        self.status = StepStatus(runner, Meter())
        self.safety_note = w.HTML(value="")
        self.description = w.HTML(value="")  # what the model saw in the picture
        self.list = w.VBox([], layout=w.Layout(width="auto"))
        self.list.add_class("memer-captions")
        self.buttons: list[Any] = []
        self.confirm_text = w.HTML(value="")
        self.confirm_yes = w.Button(description="Use it anyway", button_style="danger")
        self.confirm_no = w.Button(description="Keep my caption")
        self.confirm = w.VBox(
            [self.confirm_text, w.HBox([self.confirm_yes, self.confirm_no], layout=w.Layout(flex_flow="row wrap"))],
            layout=w.Layout(display="none"),
        )
        self._asked: int | None = None
        self.confirm_yes.on_click(lambda _: self._confirmed(True))
        self.confirm_no.on_click(lambda _: self._confirmed(False))
        self.write_button.on_click(lambda _: self.generate())
        self.cancel_button.on_click(lambda _: self.cancel())
        self.engine.observe(lambda _: self._sync(), names="value")
        self.widget = w.VBox(
            [
                w.HBox([self.engine, self.style, self.language, self.seed], layout=w.Layout(flex_flow="row wrap")),
                self.key_box,
                w.HBox([self.write_button, self.cancel_button], layout=w.Layout(flex_flow="row wrap")),
                self.status.widget,
                self.description,
                self.safety_note,
                self.list,
                self.confirm,
            ]
        )
        self.job: Job | None = None
        self._lock = threading.RLock()
        self._sync_lock = threading.Lock()
        self._sync()

    # --- the OpenAI key -----------------------------------------------------------------------

    def _take_key(self, change: dict) -> None:
        """Keep a typed key in memory only and empty the box (its value would be saved with the notebook)."""
        typed = (change.get("new") or "").strip()
        if typed:
            self._typed_key = typed
            self.key_box.value = ""
            self.key_box.placeholder = "key in use (hidden); type a new one to replace it"

    def redact(self, text: str) -> str:
        return text.replace(self._typed_key, "***") if self._typed_key else text

    # --- the language -------------------------------------------------------------------------

    def _remember_language(self, change: dict) -> None:
        """The session keeps the last choice: a new app (the cell run again) starts with it."""
        _last_language[:] = [str(change.get("new") or "")]

    def language_code(self) -> str | None:
        """The language box as a code ("hi"), checked; None when empty (MEMER_LANGUAGE, else English).

        Raises the library's ``language.unknown`` error for a value that names no language.
        """
        typed = (self.language.value or "").strip()
        if not typed:
            return None
        return self.languages.get(typed) or parse_language(typed).code

    # --- writing captions ---------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.running

    def generate(self) -> None:
        """Write captions (or More captions): a batch for the picture in use, added to its list."""
        candidate, theme, work = self.current()
        if candidate is None or work is None:
            self.status.fail(None, "Pick a picture first.")
            return
        if self.busy:
            self.status.warn("Captions are being written: wait, or press Cancel.")
            return
        api_key = None
        if self.engine.value == "openai" and not self.key_found:
            if not self._typed_key:
                self.status.fail(None, "No OpenAI key found. Paste one in the key box, or choose Engine: local.")
                return
            api_key = self._typed_key
        seed_text = self.seed.value.strip()
        try:
            seed = captions.check_seed(seed_text) if seed_text else None
            language = self.language_code()
        except Exception as err:  # noqa: BLE001 - CaptionError, language.unknown: a one-line message under the button
            self.status.fail(None, error_for_app(err))
            return
        job = self.job = Job("captions", theme)
        more = bool(work.captions)
        self.status.start(job, "Writing more captions…" if more else "Writing captions…")
        self._sync()
        engine, style = self.engine.value, self.style.value
        self.runner.spawn(
            lambda: self._run(job, candidate, theme, work, (engine, style, language), api_key, seed),
            "memer-ui-captions",
        )

    def _run(
        self, job: Job, candidate: ImageCandidate, theme: str, work: PictureWork, asked: tuple, api_key, seed
    ) -> None:
        engine, style, language = asked
        try:
            batch = self.pipeline.captions(
                candidate,
                theme=theme,
                engine=engine,
                style=style,
                api_key=api_key,
                progress=job.hook(lambda m, f: self.status.report(job, m, f)),
                language=language,
                **({"seed": seed} if seed is not None else {}),
            )
            job.check()
            with self._lock:
                start = len(work.captions)
                work.add_batch(batch)
                if not batch.captions:
                    self.status.fail(job, batch.note or "The engine gave no captions this time. Try again.")
                else:
                    self.status.finish(job, f"{len(batch.captions)} new captions: click one to use it.")
                showing = self.current()[2] is work
                if showing:
                    self.show(work)
                pick = work.first_safe(start) if (work.chosen is None and not work.text.strip()) else None
            if showing and pick is not None:
                self.choose(pick)
        except Cancelled:
            pass
        except BaseException as err:  # noqa: BLE001 - a failed batch is a message; the list stays as it was
            self.last_error = err
            if job is self.job and not job.cancelled:
                text = error_for_app(err)
                self.status.fail(job, self.redact(text))
        finally:
            job.done.set()
            self._sync()

    def cancel(self) -> None:
        job = self.job
        if job is None or not job.running:
            return
        job.cancel()
        self.status.finish(job, "Cancelled: the captions you had are kept.", icon="⏹️")
        self._sync()

    # --- the list -----------------------------------------------------------------------------

    def show(self, work: PictureWork | None) -> None:
        """The captions of the picture in use (none before a picture is picked)."""
        import ipywidgets as w

        self._hide_confirm()
        items = work.captions if work is not None else []
        buttons = []
        for index, caption in enumerate(items):
            button = w.Button(description=caption_label(index, caption), layout=w.Layout(width="auto"))
            button.add_class("memer-caption-button")
            set_tooltip(button, "Use this caption (a click brings its original text back)")
            button.on_click(lambda _, i=index: self.choose(i))
            buttons.append(button)
        self.buttons = buttons
        self.list.children = buttons
        checks = list(dict.fromkeys(work.safety_checks)) if work is not None else []
        note = f"Safety check: {', '.join(checks)}." if checks else ""
        if work is not None and work.ranked_by:
            note += (
                f" Each batch best first by {work.ranked_by} (the score: how well the words match it, not how funny)."
            )
        if work is not None and work.note:
            note += f" {work.note}"
        self.safety_note.value = note_html(note)
        seen = work.description if work is not None else ""
        self.description.value = note_html(f"What the model sees: {seen}") if seen else ""
        self.mark(work)
        self._sync()

    def mark(self, work: PictureWork | None) -> None:
        for index, button in enumerate(self.buttons):
            button.button_style = "info" if work is not None and work.chosen == index else ""

    def choose(self, index: int) -> None:
        """A caption's button: use it (an unsafe one only after the confirm)."""
        _candidate, _theme, work = self.current()
        if work is None or not 0 <= index < len(work.captions):
            return
        caption = work.captions[index]
        if not caption.usable and index not in work.confirmed_unsafe:
            self._asked = index
            reason = flag_reason(caption, work.safety_checks[-1] if work.safety_checks else "")
            self.confirm_text.value = (
                f'<div class="memer-warn">⛔ Caption {index + 1} was {esc(reason)}. '
                "Memes get shared: use it anyway?</div>"
            )
            show(self.confirm, True)
            return
        self._hide_confirm()
        work.chosen = index
        self.mark(work)
        self.on_choose(caption.text)

    def _confirmed(self, yes: bool) -> None:
        index, self._asked = self._asked, None
        _candidate, _theme, work = self.current()
        self._hide_confirm()
        if yes and index is not None and work is not None:
            work.confirmed_unsafe.add(index)
            self.choose(index)

    def _hide_confirm(self) -> None:
        self._asked = None
        show(self.confirm, False)

    def _sync(self) -> None:
        """The controls as the state is now. Called from the kernel's thread and the caption worker alike, so each
        call reads and writes under one lock (a call that read "busy" must not write it after a later call wrote
        "done": the button would stay disabled). The list is always shown; empty, it takes no room."""
        _candidate, _theme, work = self.current()  # the app's lock: taken before this panel's, never inside it
        with self._sync_lock:
            busy = self.busy
            show(self.key_box, self.engine.value == "openai" and not self.key_found)
            show(self.cancel_button, busy)
            self.write_button.disabled = busy or work is None
            self.write_button.description = "More captions" if work is not None and work.captions else "Write captions"
