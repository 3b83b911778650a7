"""The whole pass in a real browser: Voila serves a notebook, Debian's Chromium clicks through it.

Type a topic, search, pick a picture, write captions, choose one, download, and
check the PNG. Takes a screenshot of the app; with MEMER_UPDATE_SCREENSHOT=1 it
becomes the README's picture (tests/screenshots/app.png), else it stays in a temp folder.
Skipped where Chromium, Voila or Playwright is missing (.ci/run installs Chromium).

Two notebooks are served (``SERVED``): AI_Memer.ipynb itself over the real
pipeline, with every outside service stood in (tests/standins/world.py), and a
test notebook over a fake pipeline that also shows unsafe captions.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("MEMER_CHROMIUM", "/usr/bin/chromium"))
# The README's picture; rewritten only when asked (MEMER_UPDATE_SCREENSHOT=1), else the shot goes to tmp_path.
README_SCREENSHOT = ROOT / "tests" / "screenshots" / "app.png"
UPDATE_SCREENSHOT = os.environ.get("MEMER_UPDATE_SCREENSHOT", "") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Served:
    notebook: Path
    world: bool  # True: the kernel sees the stood-in world (real pipeline); False: the notebook brings a fake one
    pictures: int  # how many the search shows
    unsafe_caption: int | None  # index of a caption marked unsafe, if the engine gives one
    screenshot: bool  # the README's picture comes from this run


SERVED = {
    "ai-memer": Served(ROOT / "AI_Memer.ipynb", world=True, pictures=10, unsafe_caption=None, screenshot=True),
    "fake-pipeline": Served(
        ROOT / "tests" / "notebooks" / "app_with_fake_pipeline.ipynb",
        world=False,
        pictures=10,
        unsafe_caption=6,
        screenshot=False,
    ),
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(180),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("voila")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(host: str, port: int, process: subprocess.Popen, log: Path, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"voila exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:  # a connection, not a page: every page request would start a kernel
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"voila did not listen on {host}:{port} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def serve(notebook: Path, env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Voila on 127.0.0.1, token-less, quiet, with ``env`` for the kernel; yields the app's URL."""
    port = free_port()
    kernel_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        "MEMER_USER_CACHE": str(tmp_path / "user-cache"),
        "MEMER_MEME_DIR": str(tmp_path / "memes"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),  # nothing from the user's config
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        **env,
    }
    kernel_env.pop("OPENAI_API_KEY", None) if "OPENAI_API_KEY" not in env else None
    log = tmp_path / "voila.log"
    command = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        "--Voila.token=",
        "--VoilaConfiguration.show_tracebacks=True",
    ]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=notebook.parent, env=kernel_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_up("127.0.0.1", port, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(params=sorted(SERVED))
def served(request, tmp_path) -> Iterator[tuple[Served, str]]:
    case = SERVED[request.param]
    env = request.getfixturevalue("world").env if case.world else {}
    # Voila runs the kernel beside the notebook: a copy keeps whatever it writes out of the repo.
    copy = tmp_path / "served" / case.notebook.name
    copy.parent.mkdir()
    shutil.copy(case.notebook, copy)
    for url in serve(copy, env, tmp_path):
        yield case, url


def local_only(route) -> None:
    """Nothing leaves the machine: the page may only talk to the local server."""
    if route.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
        route.continue_()
    else:
        route.abort()


def test_the_whole_pass_in_chromium(served, tmp_path):
    case, app_url = served
    expect = playwright_api.expect
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1500}, accept_downloads=True)
            page.route("**/*", local_only)
            page.set_default_timeout(30_000)
            page.goto(app_url)

            query = page.locator(".widget-text input[type=text]").first
            query.fill("apple pie")
            page.get_by_role("button", name="Search").click()

            pick = page.get_by_role("button", name="Pick #3")
            expect(pick).to_be_visible()
            expect(page.locator(".widget-gridbox img")).to_have_count(case.pictures)
            expect(page.get_by_text("✅ Wikimedia Commons")).to_be_visible()
            pick.click()
            expect(page.get_by_role("button", name="✓ Picked")).to_be_visible()

            page.get_by_role("button", name="Write captions").click()
            captions = page.locator(".widget-select select")
            expect(captions.locator("option")).to_have_count(10)
            if case.unsafe_caption is not None:
                expect(captions.locator("option").nth(case.unsafe_caption)).to_contain_text("⛔ unsafe")
            label = captions.locator("option").nth(3).inner_text().replace("\xa0", " ")  # Select shows spaces as nbsp
            chosen = label.split(" · ", 1)[1]
            captions.select_option(index=3)
            textarea = page.locator(".widget-textarea textarea")
            expect(textarea).to_have_value(chosen)

            preview = page.locator("img.memer-preview")
            expect(preview).to_be_visible()
            expect(page.locator(".memer-credit").last).to_contain_text("Image:")
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
            expect(page.get_by_role("button", name="Download PNG")).to_be_enabled()  # idle: the render is done
            expect(page.get_by_role("button", name="Search")).to_be_enabled()
            if case.screenshot:
                shot = README_SCREENSHOT if UPDATE_SCREENSHOT else tmp_path / "app.png"
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.locator(".memer-app").screenshot(path=str(shot))
                assert shot.stat().st_size > 10_000  # a real picture of the app, not an empty box

            page.get_by_role("button", name="Download PNG").click()
            link = page.locator("a.memer-download")
            expect(link).to_be_visible()
            with page.expect_download() as download_info:
                link.click()
            download = download_info.value
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
        finally:
            browser.close()

    assert saved.name.endswith(".png")
    image = Image.open(io.BytesIO(saved.read_bytes()))
    assert image.format == "PNG" and min(image.size) > 100
    assert any(chosen.lower() in value.lower() for value in image.text.values()), image.text
