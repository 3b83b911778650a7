"""The whole pass in a real browser: Voila serves a notebook, Debian's Chromium clicks through it.

Type a topic, search, pick a picture, write captions, choose one, download, and
check the PNG. Saves a screenshot for the README to tests/screenshots/app.png.
Skipped where Chromium, Voila or Playwright is missing (.ci/run installs Chromium).

Which notebook is served, and with which environment, is a parameter
(``SERVED``): today the app over the fake pipeline; once the pipeline is
wired, add AI_Memer.ipynb with the stand-ins' environment.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("MEMER_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOT = ROOT / "tests" / "screenshots" / "app.png"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVED = {
    # id: (notebook, extra environment for its kernel)
    "fake-pipeline": (ROOT / "tests" / "notebooks" / "app_with_fake_pipeline.ipynb", {}),
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
        sys.executable, "-m", "voila", str(notebook),
        "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
        "--Voila.token=", "--VoilaConfiguration.show_tracebacks=True",
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
def app_url(request, tmp_path) -> Iterator[str]:
    notebook, env = SERVED[request.param]
    yield from serve(notebook, env, tmp_path)


def local_only(route) -> None:
    """Nothing leaves the machine: the page may only talk to the local server."""
    if route.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
        route.continue_()
    else:
        route.abort()


def test_the_whole_pass_in_chromium(app_url, tmp_path):
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
            expect(page.locator(".widget-gridbox img")).to_have_count(10)  # img.widget-image in ipywidgets 8
            expect(page.get_by_text("✅ Wikimedia Commons")).to_be_visible()
            pick.click()
            expect(page.get_by_role("button", name="✓ Picked")).to_be_visible()

            page.get_by_role("button", name="Write captions").click()
            captions = page.locator(".widget-select select")
            expect(captions.locator("option")).to_have_count(10)
            expect(captions.locator("option").nth(6)).to_contain_text("⛔ unsafe")
            label = captions.locator("option").nth(3).inner_text().replace("\xa0", " ")  # Select shows spaces as nbsp
            chosen = label.split(" · ", 1)[1]
            captions.select_option(index=3)
            textarea = page.locator(".widget-textarea textarea")
            expect(textarea).to_have_value(chosen)

            preview = page.locator("img.memer-preview")
            expect(preview).to_be_visible()
            expect(page.locator(".memer-credit").last).to_contain_text("Image:")
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=preview.element_handle()
            )
            expect(page.get_by_role("button", name="Download PNG")).to_be_enabled()  # idle: the render is done
            expect(page.get_by_role("button", name="Search")).to_be_enabled()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.locator(".memer-app").screenshot(path=str(SCREENSHOT))

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
