"""Writers racing each other: several real processes saving the same pictures at the same moment.

``race(worker, processes, rounds)`` starts ``processes`` spawned processes that meet at a
barrier before every round, so each round's saves start together; every process checks
what it was handed the moment it gets it (a file completed later by another writer would
hide the fault) and reports each problem as one line. The workers are plain module
functions so a spawned process can import them.
"""

from __future__ import annotations

import io
import multiprocessing
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROUND_TIMEOUT = 30.0  # seconds a barrier waits for the others: a stuck process fails the race, never hangs it


def picture(round_: int) -> bytes:
    """A small PNG, the same in every process for one round and different from round to round."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (48, 32), (round_ * 37 % 256, round_ * 11 % 256, 200)).save(out, "PNG")
    return out.getvalue()


def problems_with(path: Path | None, data: bytes) -> str | None:
    """What is wrong with the file a save handed back, or None when it holds the picture whole."""
    from memer.images import open_image

    if path is None:
        return "no path"
    try:
        held = Path(path).read_bytes()
    except OSError as err:
        return f"{type(err).__name__}: {err}"
    if held != data:
        return f"{path.name} holds {len(held)} of {len(data)} bytes, or other bytes"
    try:
        open_image(path).close()
    except Exception as err:  # noqa: BLE001 - reported to the test
        return f"{path.name} does not decode: {err}"
    return None


def save_upload(round_: int) -> str | None:
    """One process's save of round ``round_``'s upload, as the app's upload button does it."""
    from memer.sources.own import own_picture

    data = picture(round_)
    return problems_with(own_picture(data, name="race.png").path, data)


def save_generated(round_: int) -> str | None:
    """One process's keep of a generated picture (the same saving code as uploads, another folder)."""
    from memer.images import keep_picture

    data = picture(round_)
    return problems_with(keep_picture(data, "generated")[0], data)


def _run(worker: Callable[[int], str | None], rounds: int, barrier: Any, reports: Any) -> None:
    found: list[str] = []
    for round_ in range(rounds):
        try:
            barrier.wait(ROUND_TIMEOUT)
        except Exception:  # noqa: BLE001 - a broken barrier: another process failed; stop here
            found.append(f"round {round_}: the others never arrived")
            break
        try:
            problem = worker(round_)
        except BaseException as err:  # noqa: BLE001 - every exception is a finding
            problem = f"{type(err).__name__}: {err} | {traceback.format_exc(limit=3)!r}"
        if problem is not None:
            found.append(f"round {round_}: {problem}")
    reports.put(found)


def race(worker: Callable[[int], str | None], processes: int = 4, rounds: int = 50) -> list[str]:
    """Every problem any process met, one line each (an empty list: every save was whole)."""
    context = multiprocessing.get_context("spawn")  # no fork of a test process that runs server threads
    barrier = context.Barrier(processes)
    reports = context.Queue()
    started = [context.Process(target=_run, args=(worker, rounds, barrier, reports)) for _ in range(processes)]
    for process in started:
        process.start()
    found: list[str] = []
    try:
        for _ in started:
            found += reports.get(timeout=ROUND_TIMEOUT * 2 + rounds)
    finally:
        for process in started:
            process.join(10)
            if process.is_alive():
                process.kill()
    return found
