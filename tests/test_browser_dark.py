"""The app in a dark theme, in a real browser: its own text must read on the dark background.

Voila serves tests/notebooks/app_with_fake_pipeline.ipynb with ``--theme=dark`` (JupyterLab Dark's
``--jp-*`` variables, as in JupyterLab); Chromium measures, for each kind of the app's own text (status
lines, notes, credits, what each source answered, warning and error boxes), the contrast of its
computed colour against the background it is drawn on, and asks for WCAG's 4.5:1 for small text.
Issue 20 found the status lines, notes and boxes nearly invisible there (light-theme colours).

With MEMER_UPDATE_SCREENSHOT=1 it writes docs/app-dark.png; otherwise the picture goes to a temp folder.
"""

from __future__ import annotations

import pytest

from tests.test_browser import (
    FAKE_NOTEBOOK,
    FrontEnd,
    button,
    copied,
    open_app,
    screenshot,
    serve,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]
playwright_api = pytest.importorskip("playwright.sync_api")

DARK = FrontEnd("voila", "8", ("--theme=dark",))
KINDS = [".memer-status", ".memer-note", ".memer-credit", ".memer-sources", ".memer-warn", ".memer-error"]

# The effective colours of an element's text and of what is behind it (translucent layers blended, up to
# the page), and their contrast ratio as WCAG 2 defines it.
CONTRAST_JS = """
(el) => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
  const layers = [];
  for (let node = el; node; node = node.parentElement) {
    const bg = parse(getComputedStyle(node).backgroundColor);
    if (bg && bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
  }
  let back = [255, 255, 255, 1];  // the browser's canvas under everything
  for (const layer of layers.reverse()) back = over(layer, back);
  const text = over(parse(getComputedStyle(el).color), back);
  const lum = (c) => { const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const [hi, lo] = [lum(text), lum(back)].sort((a, b) => b - a);
  let page = [255, 255, 255, 1];
  for (const node of [document.documentElement, document.body]) {
    const bg = parse(getComputedStyle(node).backgroundColor); if (bg && bg[3] > 0) page = over(bg, page);
  }
  return {ratio: (hi + 0.05) / (lo + 0.05), text, back, page: lum(page) < 0.2 ? 'dark' : 'light',
          behind: lum(back) < 0.2 ? 'dark' : 'light'};
}
"""


def contrasts(page) -> dict[str, list[dict]]:
    """Each kind of the app's own text that is on screen now, with its contrast measured."""
    found: dict[str, list[dict]] = {}
    for kind in KINDS:
        for element in page.locator(f".memer-app {kind}").all():
            if element.is_visible() and element.inner_text().strip():
                found.setdefault(kind, []).append({"text": element.inner_text()[:60], **element.evaluate(CONTRAST_JS)})
    return found


def test_the_apps_own_text_reads_in_a_dark_theme(tmp_path):
    expect = playwright_api.expect
    env = {"MEMER_FAKE_LOG": str(tmp_path / "fake-calls.jsonl"), "MEMER_FAKE_SEARCH_DELAY": "3"}
    seen: dict[str, list[dict]] = {}
    for url in serve(DARK, copied(FAKE_NOTEBOOK, tmp_path), env, tmp_path):
        with playwright_api.sync_playwright() as pw:
            browser, page = open_app(pw, url, DARK)
            try:
                query = page.locator(".memer-query input")
                query.click()
                page.keyboard.type("apple pie")
                page.keyboard.press("Enter")
                page.wait_for_timeout(700)
                page.keyboard.press("Enter")  # while it runs: a warning box
                expect(page.get_by_text("Already searching for “apple pie”")).to_be_visible()
                seen.update(contrasts(page))
                button(page, "Pick #2").click()  # CC0: the editor's note says no credit is needed
                expect(button(page, "✓ Picked")).to_be_visible()
                button(page, "OpenAI").click()  # no key: an error box
                write = button(page, "Write captions")
                write.scroll_into_view_if_needed()
                write.click()
                expect(page.locator(".memer-error").filter(has_text="No OpenAI key found")).to_be_visible()
                for kind, found in contrasts(page).items():
                    seen.setdefault(kind, []).extend(found)
                screenshot(page, "app-dark.png", tmp_path)
            finally:
                browser.close()
    assert set(seen) == set(KINDS), f"not on screen: {set(KINDS) - set(seen)}"
    assert all(found["page"] == "dark" for kind in seen for found in seen[kind]), "the theme is not dark"
    glaring = [found for kind in seen for found in seen[kind] if found["behind"] != "dark"]
    assert not glaring, f"light boxes on the dark page: {glaring}"
    faint = {kind: found for kind in seen for found in seen[kind] if found["ratio"] < 4.5}
    assert not faint, f"text too faint to read: {faint}"
