"""No code from a model folder or hub repo ever runs: folders that ask for it are refused before loading.

A model folder is a stranger's. transformers imports a folder's own Python when
a config's ``auto_map`` names it and the caller trusts it, and when nobody said,
it asks on stdin (so ``yes | memer caption`` said yes); open_clip hands the
``tokenizer_kwargs`` of ``open_clip_config.json`` (``trust_remote_code: true``)
straight to transformers; diffusers can name classes and libraries outside
itself. memer reads those configs first and refuses, in one line, a folder that
asks for its own code; every load also passes ``trust_remote_code=False``, and
:func:`never_ask` keeps transformers from reading stdin meanwhile.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from memer.errors import ModelError

# The configs transformers reads class names from (config, tokenizer, processor, image/video/audio processors).
TRANSFORMERS_CONFIGS = (
    "config.json",
    "tokenizer_config.json",
    "processor_config.json",
    "preprocessor_config.json",
    "video_preprocessor_config.json",
    "audio_tokenizer_config.json",
)
CODE_KEYS = ("auto_map", "custom_pipelines")  # a class or pipeline mapped to the folder's (or a repo's) Python
CODE_FOLDERS = ("custom_generate",)  # transformers before 4.57 ran custom_generate/generate.py from a local folder
DIFFUSERS_LIBRARIES = ("diffusers", "transformers")
MAX_CONFIG_BYTES = 64 * 1024 * 1024  # far above any real config; a bigger one is not read
HINT = "memer never runs code from a model folder: use a model the library supports with its own classes."


def refuse(what: str, where: str, reason: str) -> ModelError:
    """The one-line refusal: which model, where, what in it asks for code."""
    return ModelError(f"{what} {where!r} asks to run its own Python code ({reason}), so it is not loaded.", HINT)


def read_config(path: Path) -> dict[str, Any] | None:
    """A JSON config as a dict; None when the file is absent or not an object. Too large or not JSON: ModelError."""
    if not path.is_file():
        return None
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ModelError(f"{path} is {size:,} bytes, too large for a config")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ModelError(f"{path} is not a readable JSON config ({type(err).__name__})") from None
    return value if isinstance(value, dict) else None


def check_transformers_folder(folder: str | Path, what: str, where: str = "") -> None:
    """Refuse a transformers model folder whose configs map a class to code, or that ships code transformers runs.

    ``where`` names the folder in the message (default: its path).
    """
    folder = Path(folder)
    where = where or str(folder)
    for name in CODE_FOLDERS:
        if (folder / name).exists():
            raise refuse(what, where, f"it has a {name} folder")
    for name in TRANSFORMERS_CONFIGS:
        try:
            config = read_config(folder / name)
        except ModelError as err:
            raise ModelError(f"{what} {where!r} cannot be checked: {err.message}.", "Check the model folder.") from None
        key = next((key for key in CODE_KEYS if config and key in config), None)
        if key is not None:
            raise refuse(what, where, f"{key} in {name}")


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def check_open_clip_config(config: Mapping[str, Any], where: str, tokenizer_folder: Path | None = None) -> None:
    """Refuse an open_clip config that trusts remote code, or whose HF tokenizer or text tower folder maps code.

    ``tokenizer_folder`` is where a ``local-dir:`` model's HF tokenizer is read
    from (open_clip reads it from the model folder itself).
    """
    text = _mapping(_mapping(config.get("model_cfg")).get("text_cfg"))
    kwargs = _mapping(text.get("tokenizer_kwargs"))
    for key in kwargs:
        if "remote_code" in str(key).lower() and kwargs[key] is not False:
            raise refuse("The CLIP model", where, f"tokenizer_kwargs.{key} in open_clip_config.json")
    if text.get("hf_tokenizer_name") and tokenizer_folder is not None:
        check_transformers_folder(tokenizer_folder, "The CLIP model")
    tower = text.get("hf_model_name")
    if isinstance(tower, str) and tower and Path(tower).expanduser().is_dir():
        check_transformers_folder(Path(tower).expanduser(), "The CLIP model's text tower")


def uses_hf_tokenizer(config: Mapping[str, Any]) -> bool:
    """Whether open_clip builds an HF tokenizer for this config (it then takes ``trust_remote_code``)."""
    return bool(_mapping(_mapping(config.get("model_cfg")).get("text_cfg")).get("hf_tokenizer_name"))


def check_diffusers_index(index: Mapping[str, Any], where: str, folder: Path | None = None) -> None:
    """Refuse a diffusers ``model_index.json`` naming a pipeline, library or class diffusers does not ship.

    With ``folder`` (a pipeline on disk), each part's folder is also checked as
    a transformers folder (its configs must not map classes to code).
    """
    import diffusers
    import transformers

    what = "The image model"
    name = index.get("_class_name")
    if not isinstance(name, str) or not hasattr(diffusers, name):
        raise refuse(what, where, f"model_index.json names the pipeline {name!r}, which diffusers does not have")
    libraries = {"diffusers": diffusers, "transformers": transformers}
    for part, entry in index.items():
        if part.startswith("_") or not isinstance(entry, list):
            continue  # not a part: a setting of the pipeline (requires_safety_checker ...)
        if len(entry) != 2:
            raise refuse(what, where, f"model_index.json declares its {part} as {entry!r}")
        library, class_name = entry
        if library is None and class_name is None:
            continue  # a part the pipeline goes without (no safety checker)
        if not isinstance(library, str) or not isinstance(class_name, str):
            raise refuse(what, where, f"model_index.json declares its {part} as {entry!r}")
        module = libraries.get(library) or _diffusers_pipeline_module(library)
        if module is None or not hasattr(module, class_name):
            raise refuse(what, where, f"its {part} is {library}.{class_name}, which is not part of diffusers")
        if folder is not None and (folder / part).is_dir():
            check_transformers_folder(folder / part, what, f"{where}/{part}")


def _diffusers_pipeline_module(library: str) -> Any:
    """diffusers' own pipeline module of that name (e.g. ``stable_diffusion`` for its safety checker), else None."""
    from diffusers import pipelines

    if not library.isidentifier():
        return None
    return getattr(pipelines, library, None)


_ask_lock = threading.Lock()
_asking_off = 0
_saved_timeout: int | None = None


@contextmanager
def never_ask() -> Iterator[None]:
    """While inside, transformers refuses remote code instead of asking on stdin (its question times out at once).

    transformers asks "Do you wish to run the custom code? [y/N]" when a load
    did not say ``trust_remote_code``; memer always says False, and this covers
    a library that loads without saying (open_clip's HF text tower).
    """
    global _asking_off, _saved_timeout
    try:
        from transformers import dynamic_module_utils
    except ImportError:  # not installed: nothing can ask
        yield
        return
    with _ask_lock:
        if _asking_off == 0:
            _saved_timeout = dynamic_module_utils.TIME_OUT_REMOTE_CODE
            dynamic_module_utils.TIME_OUT_REMOTE_CODE = 0
        _asking_off += 1
    try:
        yield
    finally:
        with _ask_lock:
            _asking_off -= 1
            if _asking_off == 0 and _saved_timeout is not None:
                dynamic_module_utils.TIME_OUT_REMOTE_CODE = _saved_timeout
