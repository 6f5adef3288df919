"""What every page needs from the app: htmx script tags (CDN with SRI, or the vendored copy),
the Markdown filter and the upload limits the composer checks."""

from __future__ import annotations

import uuid

from flask import Flask, url_for

from chatapp.services.history import MAX_PAGE_SIZE
from chatapp.services.render import render_markdown
from chatapp.services.settings import LIVE_TRANSPORTS
from chatapp.services.uploads import ALLOWED, EXTENSIONS, size_text

HTMX_VERSION = "4.0.1"
CDN_BASE = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/"
# path under dist/ -> SRI hash of the published file (identical to the copy in static/js/vendor/)
HTMX_FILES = {
    "htmx.min.js": "sha384-Qp9rdC8H7EqOoX+nR0P3RPG2Noji+qdwJlGpfzwQJsfOpp3sGwIdSP9xO3+UlEhn",
    "ext/hx-upsert.min.js":
        "sha384-RokoL54Uf58UQMawJe+4j+PvdsTh8FIhlRexOKFKzNSMfDVoMj1ibUt8t9cGkKYd",
}


def htmx_scripts(source: str) -> list[dict[str, str | None]]:
    """`src` and `integrity` of each htmx script, from the CDN or from static/js/vendor/."""
    if source == "vendored":
        return [{"src": url_for("static", filename="js/vendor/" + path.rsplit("/", 1)[-1]),
                 "integrity": None} for path in HTMX_FILES]
    return [{"src": CDN_BASE + path, "integrity": sri} for path, sri in HTMX_FILES.items()]


def file_size(count: int) -> str:
    """A byte count as people read it: "812 bytes", "34 KB", "2.5 MB"."""
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{count / 1024:.0f} KB"
    return f"{count / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


def init_app(app: Flask) -> None:
    """Expose the script list and the Markdown filter to templates."""
    if app.config["HTMX_SOURCE"] not in ("cdn", "vendored"):
        raise RuntimeError("CHATAPP_HTMX_SOURCE must be 'cdn' or 'vendored'.")
    if app.config["LIVE_TRANSPORT"] not in LIVE_TRANSPORTS:
        raise RuntimeError(f"CHATAPP_LIVE_TRANSPORT must be one of {', '.join(LIVE_TRANSPORTS)}.")
    size = app.config["HISTORY_PAGE_SIZE"]
    if not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
        raise RuntimeError(f"CHATAPP_HISTORY_PAGE_SIZE must be a whole number from 1 to {MAX_PAGE_SIZE}.")

    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["filesize"] = file_size
    app.jinja_env.globals["new_client_id"] = lambda: uuid.uuid4().hex  # one per composer shown
    # what the composer checks before uploading, in the upload route's own words
    app.jinja_env.globals.update(upload_allowed=ALLOWED, upload_extensions=EXTENSIONS,
                                 upload_size_text=size_text)

    @app.context_processor
    def inject_scripts():
        return {"htmx_scripts": htmx_scripts(app.config["HTMX_SOURCE"])}
