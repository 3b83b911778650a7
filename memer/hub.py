"""Is the Hugging Face hub reachable? Asked once per process, so an offline load fails in seconds, not minutes.

huggingface_hub retries every file of every model on its own (a CLIP model and a
caption model took 50 s offline, printing each retry). memer asks the hub's
address once (``HF_ENDPOINT``, bounded by ``settings.HUB_TIMEOUT``); when it does
not answer, loads run in the libraries' offline mode: a model already downloaded
still loads from the local cache, one that is not fails at once, and the error
says why (:func:`unreachable_message`).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from memer import settings

DEFAULT_ENDPOINT = "https://huggingface.co"
OFFLINE_HINT = (
    "Connect once to download it (later runs load it from the cache; HF_HUB_OFFLINE=1 skips the hub check), "
    "or use a model in a local folder."
)
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class HubStatus:
    endpoint: str
    reachable: bool
    reason: str = ""  # why not, in words ("timed out after 3 s", "connection refused")
    offline_requested: bool = False  # HF_HUB_OFFLINE=1 was set by the user: the check was skipped


_checked: dict[str, HubStatus] = {}
_lock = threading.Lock()


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def offline_requested() -> bool:
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_status() -> HubStatus:
    """The hub's status, checked at most once per process and endpoint (threads share the one check)."""
    address = endpoint()
    if offline_requested():
        return HubStatus(address, False, "HF_HUB_OFFLINE is set", offline_requested=True)
    with _lock:
        if address not in _checked:
            _checked[address] = _probe(address)
        return _checked[address]


def forget() -> None:
    """Check again next time (a notebook that just got its network back)."""
    with _lock:
        _checked.clear()


def _probe(address: str) -> HubStatus:
    """Any HTTP answer within the timeout means reachable; the body is never read."""
    import requests

    seconds = max(settings.HUB_TIMEOUT, 0.1)
    try:
        with requests.head(address + "/api/models", timeout=(seconds, seconds), allow_redirects=False):
            return HubStatus(address, True)
    except requests.Timeout:
        return HubStatus(address, False, f"no answer within {seconds:g} s")
    except requests.RequestException as err:
        return HubStatus(address, False, _connection_reason(err))


def _connection_reason(err: Exception) -> str:
    text = str(err).lower()
    for needle, words in (
        ("refused", "connection refused"),
        ("name or service not known", "the name does not resolve"),
        ("nodename nor servname", "the name does not resolve"),
        ("temporary failure in name resolution", "the name does not resolve"),
        ("network is unreachable", "no network"),
        ("certificate", "a TLS certificate problem"),
    ):
        if needle in text:
            return words
    return "it cannot be reached"


def unreachable_message(status: HubStatus) -> str:
    if status.offline_requested:
        return "HF_HUB_OFFLINE is set (offline mode) and it is not in the local Hugging Face cache"
    return f"the Hugging Face hub ({status.endpoint}) cannot be reached ({status.reason}) and it is not downloaded yet"


@contextmanager
def offline_if_unreachable() -> Iterator[HubStatus]:
    """Run a model load in the libraries' offline mode when the hub does not answer; yields the status.

    Only the local cache is read then: nothing waits on retries. The mode is put back afterwards.
    """
    status = hub_status()
    if status.reachable or status.offline_requested:
        yield status
        return
    saved = _set_offline(True)
    try:
        yield status
    finally:
        _restore(saved)


def _set_offline(value: bool) -> list[tuple[object, str, object]]:
    """Flip the offline flags huggingface_hub and transformers read at call time; returns what to put back."""
    saved: list[tuple[object, str, object]] = []
    for module_name, attribute in (
        ("huggingface_hub.constants", "HF_HUB_OFFLINE"),
        ("transformers.utils.hub", "_is_offline_mode"),  # transformers 4.x keeps its own copy
    ):
        module = sys.modules.get(module_name)
        if module is None and module_name.startswith("huggingface_hub"):  # light; transformers is not
            try:
                import huggingface_hub.constants as module
            except ImportError:
                continue
        if module is None:
            continue
        if hasattr(module, attribute):
            saved.append((module, attribute, getattr(module, attribute)))
            setattr(module, attribute, value)
    return saved


def _restore(saved: list[tuple[object, str, object]]) -> None:
    for module, attribute, value in saved:
        setattr(module, attribute, value)
