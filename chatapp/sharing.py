"""Export and share a chat: downloads (Markdown, JSON, PDF; the full record or client notes),
read-only links to a snapshot (made, listed, revoked by the owner) and the shared page itself,
which needs no sign-in and shows nothing of the owner's account."""

from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required

from chatapp.chats import owned_session
from chatapp.errors import error_response, is_htmx
from chatapp.models import ChatSession
from chatapp.services import export, pdf, ratelimit, shares

bp = Blueprint("sharing", __name__)

# The shared page: never indexed, never sent on as a referrer (its URL is the secret), never
# kept by a shared cache (a revoked link must stop at once).
SHARED_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow",
                  "Cache-Control": "no-store", "X-Frame-Options": "DENY"}


@bp.get("/chats/<uuid:session_id>/export")
@login_required
def download(session_id: uuid.UUID):
    """The chat as a file: ``format`` md, json or pdf; ``kind`` full (default) or client_notes."""
    chat = owned_session(session_id)
    return export_response(chat, request.args.get("format", ""), request.args.get("kind", "full"))


def export_response(chat: ChatSession, extension: str, kind: str):
    """The download of `chat` in a format (a key of export.FORMATS) and kind (one of
    export.KINDS), or a 400 naming the choices (the pages and the API share it)."""
    if extension not in export.FORMATS:
        return error_response(400, "Choose an export format: md, json or pdf.")
    if kind not in export.KINDS:
        return error_response(400, "Choose what to export: full or client_notes.")
    doc = export.document(chat, kind)
    if extension == "pdf":
        body = pdf.render(doc)
    elif extension == "json":
        body = export.as_json(doc)
    else:
        body = export.as_markdown(doc)
    response = make_response(body)
    response.headers["Content-Type"] = export.FORMATS[extension]
    response.headers["Content-Disposition"] = export.content_disposition(
        export.filename(doc, extension))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/chats/<uuid:session_id>/share")
@login_required
def list_links(session_id: uuid.UUID):
    """The chat's shared links and the form to make one."""
    return _links(owned_session(session_id))


@bp.post("/chats/<uuid:session_id>/share")
@login_required
def create_link(session_id: uuid.UUID):
    """Make a link to a snapshot of the chat as it is now, and show it, once."""
    chat = owned_session(session_id)
    expires = request.form.get("expires", "")
    if expires not in shares.EXPIRY_CHOICES:
        return _links(chat, error="Choose when the link expires.", status=422)
    link, token = shares.create(chat, expires)
    return _links(chat, new_url=url_for("sharing.shared", token=token, _external=True),
                  new_link=link, status=201)


@bp.post("/chats/<uuid:session_id>/share/<int:link_id>/revoke")
@login_required
def revoke_link(session_id: uuid.UUID, link_id: int):
    """Revoke one of the chat's links: it answers 404 from now on."""
    chat = owned_session(session_id)
    if not shares.revoke(chat, link_id):
        abort(404)
    if is_htmx():
        return _links(chat, notice="Link revoked: it no longer opens.")
    flash("Link revoked: it no longer opens.")
    return redirect(url_for("sharing.list_links", session_id=chat.id), code=303)


def _links(chat, *, new_url: str | None = None, new_link=None, error: str | None = None,
           notice: str | None = None, status: int = 200):
    template = "sharing/_links.html" if is_htmx() else "sharing/share.html"
    return render_template(template, chat=chat, links=shares.links_of(chat), new_url=new_url,
                           new_link=new_link, error=error, notice=notice,
                           choices=shares.EXPIRY_CHOICES, default=shares.DEFAULT_EXPIRY,
                           is_live=shares.is_live), status


@bp.get("/s/<token>")
def shared(token: str):
    """The shared snapshot, read-only, for anyone with the link; 404 once it is gone."""
    refused = ratelimit.refusal("shared-link", request.remote_addr or "-",
                                current_app.config["RATE_LIMIT_SHARED_LINKS"])
    if refused:
        return refused
    link = shares.opened(token)
    if link is None:
        return render_template("sharing/gone.html"), 404, SHARED_HEADERS
    return (render_template("sharing/shared.html", doc=link.snapshot, when=export.when), 200,
            SHARED_HEADERS)
