"""Organising chats from the session list and the chat's header: pin, archive, delete (after a
confirmation, with an Undo for a few seconds) and undo. Plain forms redirect back; htmx gets the
changed row (or the header's buttons) in place."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from chatapp.chats import owned_session
from chatapp.errors import is_htmx
from chatapp.extensions import db
from chatapp.models import ChatSession
from chatapp.services import organise

bp = Blueprint("organise", __name__)

CHANGES = {"pin": (organise.set_pinned, True), "unpin": (organise.set_pinned, False),
           "archive": (organise.set_archived, True), "unarchive": (organise.set_archived, False)}


@bp.post("/chats/<uuid:session_id>/<any(pin, unpin, archive, unarchive):change>")
@login_required
def apply_change(session_id: uuid.UUID, change: str):
    """Pin, unpin, archive or unarchive a chat. `back=chat` comes from the chat's header (its
    buttons are answered), else from the list (its row is answered)."""
    chat = owned_session(session_id)
    apply, on = CHANGES[change]
    apply(chat, on)
    db.session.commit()
    if not is_htmx():
        return _back(chat)
    if request.form.get("back") == "chat":
        return render_template("chats/_organise.html", chat=chat)
    return render_template("chats/_organised.html", s=chat, change=change)


@bp.get("/chats/<uuid:session_id>/delete")
@login_required
def confirm_delete(session_id: uuid.UUID):
    """Ask before deleting (pages without JavaScript; htmx asks in the browser)."""
    chat = owned_session(session_id)
    return render_template("chats/delete.html", chat=chat, back=request.args.get("back", ""))


@bp.post("/chats/<uuid:session_id>/delete")
@login_required
def delete(session_id: uuid.UUID):
    """Delete a chat: it is hidden at once (a reply being written is stopped) and can be
    brought back for DELETE_UNDO_SECONDS."""
    chat = owned_session(session_id)
    organise.delete(chat)
    if is_htmx():
        return render_template("chats/_undo.html", s=chat)
    return _back(chat, deleted=chat.id)


@bp.post("/chats/<uuid:session_id>/restore")
@login_required
def restore(session_id: uuid.UUID):
    """Undo a delete, while the undo window lasts (after it, the chat is gone: 404)."""
    chat = db.session.get(ChatSession, session_id)
    if not organise.restorable(chat) or chat.owner_id != current_user.id:
        abort(404)
    organise.restore(chat)
    if is_htmx():
        return render_template("chats/_session.html", s=chat)
    return _back(chat)


def _back(chat: ChatSession, **args):
    """Where a plain form returns: the chat, or the list it was sent from (`back`)."""
    back = request.form.get("back")
    if back == "chat" and chat.deleted_at is None:
        return redirect(url_for("chats.show", session_id=chat.id), code=303)
    view = "archived" if back == "archived" else None
    return redirect(url_for("chats.list_sessions", view=view, **args), code=303)
