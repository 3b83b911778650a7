"""How the app looks: its style sheet and the small pieces of HTML it shows.

Every piece of outside text (titles, authors, messages) goes through
:func:`memer.text.display_safe` and is HTML-escaped here, so no other module
builds HTML from outside strings.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from memer.candidates import source_display_name
from memer.text import display_safe

if TYPE_CHECKING:
    from memer.candidates import ImageCandidate
    from memer.pipeline import DropReason, SourceStatus


# Colours come from the front end's theme: JupyterLab's (and Voila's) --jp-* variables, which ipywidgets'
# own style sheet also defines in Notebook 6 and Colab; where one is missing, the text inherits the page's
# colour and the boxes are translucent tints, so the app reads on a light or a dark page alike.
# Widgets of 100% width with ipywidgets' 2 px margins overflow their box: the app's boxes size by
# stretching instead, and nothing inside the app may be wider than the app.
CSS = """
<style>
.memer-app, .memer-app * { box-sizing: border-box; }
.memer-app { max-width: 1100px; width: 100%; overflow-x: hidden; }
.memer-app .widget-box, .memer-app .jupyter-widgets { max-width: 100%; min-width: 0; }
.memer-app .widget-html-content { white-space: normal; }
.memer-app .widget-inline-hbox, .memer-app .widget-inline-vbox { max-width: calc(100% - 4px); min-width: 0; }
.memer-app .widget-toggle-buttons { flex-wrap: wrap; height: auto; }
.memer-app .widget-toggle-buttons .widget-toggle-button { width: auto; min-width: 4.5em; }
.memer-app .widget-dropdown > select, .memer-app .widget-text > input { min-width: 0; }
.memer-app .widget-label { min-width: 0; }
.memer-h { font-size: 16px; font-weight: 600; margin: 10px 0 2px 0; }
.memer-title { font-size: 20px; font-weight: 700; }
.memer-note { font-size: 12px; color: var(--jp-ui-font-color2, inherit); overflow-wrap: anywhere; }
.memer-credit { font-size: 12px; line-height: 1.3; color: var(--jp-ui-font-color2, inherit); overflow-wrap: break-word;
  word-break: normal; }
.memer-card-title { font-size: 12px; font-weight: 600; line-height: 1.25; max-height: 2.5em; overflow: hidden;
  overflow-wrap: break-word; }
.memer-error { background: rgba(229, 57, 53, 0.14); color: var(--jp-ui-font-color1, inherit);
  border-left: 4px solid var(--jp-error-color1, #e53935); padding: 6px 10px; overflow-wrap: anywhere; }
.memer-warn { background: rgba(251, 140, 0, 0.14); color: var(--jp-ui-font-color1, inherit);
  border-left: 4px solid var(--jp-warn-color1, #fb8c00); padding: 6px 10px; overflow-wrap: anywhere; }
.memer-status { font-size: 13px; color: var(--jp-ui-font-color1, inherit); overflow-wrap: anywhere; }
.memer-status .memer-elapsed { color: var(--jp-ui-font-color2, inherit); }
.memer-sources { font-size: 13px; line-height: 1.5; }
.memer-card { border: 1px solid var(--jp-border-color2, rgba(128, 128, 128, 0.35)); border-radius: 6px; padding: 4px;
  overflow: hidden; min-width: 0; }
.memer-card.memer-picked { border: 2px solid var(--jp-success-color1, #2e7d32); }
.memer-thumb, .memer-thumb img, img.memer-thumb { overflow: hidden; overflow: clip; display: block; }
.memer-gallery { overflow: hidden; }
.memer-caption-button { white-space: normal !important; height: auto !important; min-height: 30px;
  text-align: left !important; line-height: 1.3 !important; padding: 4px 8px !important; }
.memer-position .widget-toggle-button.mod-active, .memer-position button.mod-active {
  background: #1565c0 !important; color: #fff !important; font-weight: 600; }
img.memer-preview, .memer-preview { width: 100% !important; height: auto; margin-left: 0 !important;
  margin-right: 0 !important; }
a.memer-download { display: inline-block; padding: 6px 14px; border-radius: 2px; background: #4caf50;
  color: #fff !important; text-decoration: none; font-size: 13px; line-height: 20px; }
a.memer-download:hover { background: #43a047; }
.memer-download.memer-disabled { background: rgba(128, 128, 128, 0.3); color: var(--jp-ui-font-color2, inherit);
  pointer-events: none; }
</style>
"""

BADGES = {0: "✅ safe", 1: "⚠️ sensitive", 2: "⛔ unsafe"}


def esc(text: Any, limit: int | None = None) -> str:
    """Outside text made safe to show, then escaped for HTML."""
    return html.escape(display_safe(str(text), limit))


def heading(text: str) -> str:
    return f'<div class="memer-h">{esc(text)}</div>'


def error_html(text: str) -> str:
    return f'<div class="memer-error" role="alert">{esc(text, 600)}</div>'


def warning_html(text: str) -> str:
    return f'<div class="memer-warn">{esc(text, 600)}</div>'


def note_html(text: str) -> str:
    return f'<div class="memer-note">{esc(text, 600)}</div>' if text else ""


def status_html(icon: str, text: str, elapsed: str = "") -> str:
    tail = f' <span class="memer-elapsed">· {esc(elapsed)}</span>' if elapsed else ""
    return f'<div class="memer-status">{icon} {esc(text, 300)}{tail}</div>' if text else ""


def credit_html(candidate: ImageCandidate) -> str:
    """Source, author and licence of a picture; the licence links to its text when known."""
    license_text = esc(candidate.license or "licence unknown", 80)
    url = candidate.license_url or ""
    if url.startswith(("https://", "http://")):
        href = html.escape(display_safe(url, 300), quote=True)
        license_text = f'<a href="{href}" target="_blank" rel="noopener">{license_text}</a>'
    return (
        f'<div class="memer-credit"><b>{esc(candidate.source_name)}</b><br>'
        f"{esc(candidate.author or 'unknown', 120)}<br>{license_text}</div>"
    )


def card_title_html(candidate: ImageCandidate) -> str:
    from memer.text import plain_title

    title = plain_title(candidate.title or "") or "untitled"
    return f'<div class="memer-card-title" title="{esc(title, 200)}">{esc(title, 90)}</div>'


def sources_html(sources: list[SourceStatus], notes: dict[str, str] | None = None) -> str:
    """Which sources answered, how many pictures each gave, and why one failed (``notes``: calmer words)."""
    notes = notes or {}
    lines = []
    for status in sources:
        name = esc(source_display_name(status.name))
        if status.name in notes:
            lines.append(f"ℹ️ {name}: {esc(notes[status.name], 300)}")
        elif status.ok and status.count:
            note = f" ({esc(status.message, 200)})" if status.message else ""
            lines.append(f"✅ {name}: {status.count} found{note}")
        elif status.ok:
            lines.append(f"➖ {name}: nothing for this topic")
        else:
            lines.append(f"❌ {name}: {esc(status.message or 'failed', 300)}")
    return '<div class="memer-sources">' + "<br>".join(lines) + "</div>"


def drops_html(reasons: list[DropReason]) -> str:
    """One short line per kind of failure: "2 pictures dropped: HTTP 404"."""
    lines = [
        f"{r.count} picture{'s' if r.count != 1 else ''} dropped: {esc(r.reason, 120)}" for r in reasons if r.count
    ]
    return '<div class="memer-note">' + "<br>".join(lines) + "</div>" if lines else ""


def download_link_html(png: bytes | None, filename: str, label: str = "⬇️ Download PNG", mime: str = "image/png") -> str:
    """A real link that saves ``png`` (or a GIF / WebP, by ``mime``) as ``filename``, styled as a button;
    greyed out while there is none."""
    import base64

    name = html.escape(filename or "meme.png", quote=True)
    if not png:
        return f'<span class="memer-download memer-disabled">{esc(label)}</span>'
    data = base64.b64encode(png).decode("ascii")
    kind = html.escape(mime, quote=True)
    return (
        f'<a download="{name}" href="data:{kind};base64,{data}" class="memer-download" '
        f'title="Save {name}">{esc(label)}</a>'
    )
