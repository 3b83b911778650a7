"""Fetching a caption model from the Hugging Face hub, its progress (in MB) told through memer's hook.

A local folder is used as it is. A hub id is fetched with ``snapshot_download``
(weights, config, tokenizer and processor files only); the hub's own bars are
replaced by a tqdm class that reports to ``progress(message, fraction)``, so a
multi-GB first download shows how far it is instead of a silent wait.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memer.progress import Progress

# What transformers reads from a model repository; everything else (demo images, other formats) stays there.
MODEL_FILES = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model", "*.tiktoken", "*.py.lock"]


def progress_bar_class(progress: Progress, name: str) -> Any:
    """A tqdm class that prints nothing and tells ``progress`` how many MB of ``name`` have arrived."""
    from tqdm.auto import tqdm

    class HookBar(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("name", None)  # huggingface_hub passes its logger name; tqdm does not take it
            kwargs["disable"] = False
            kwargs["file"] = _Silent()
            super().__init__(*args, **kwargs)

        def display(self, msg: Any = None, pos: Any = None) -> bool:
            total = self.total or 0
            if self.unit == "B":
                done_mb = self.n / 1e6
                if total:
                    progress(f"Downloading {name}: {done_mb:,.0f} of {total / 1e6:,.0f} MB", min(1.0, self.n / total))
                else:
                    progress(f"Downloading {name}: {done_mb:,.0f} MB", None)
            elif total:
                progress(f"Downloading {name}: file {self.n} of {total}", min(1.0, self.n / total))
            return True

    return HookBar


class _Silent:
    """A file that swallows what tqdm writes (the hook says it instead)."""

    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        return None


def model_folder(name: str, progress: Progress | None = None) -> str:
    """A local folder holding the model ``name``: ``name`` itself when it is one, else the hub's cached snapshot."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    from huggingface_hub import snapshot_download

    options: dict[str, Any] = {"allow_patterns": MODEL_FILES}
    if progress is not None:
        options["tqdm_class"] = progress_bar_class(progress, name)
    return snapshot_download(name, **options)
