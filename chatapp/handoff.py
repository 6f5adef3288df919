"""Human handoff pages: a consultant asks for help; an administrator watches a session live,
takes it over (the assistant pauses), writes in it, and hands it back."""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from chatapp.admin import admin_required
from chatapp.chats import _views, owned_session, render_chat, viewable_session
from chatapp.errors import error_response, is_htmx, wants_json
from chatapp.services import events, handoff, history, settings
from chatapp.services.conversation import MessageRejected
from chatapp.services.redis_client import get_redis

bp = Blueprint("handoff", __name__)


@bp.post("/chats/<uuid:session_id>/help")
@login_required
def request_help(session_id: uuid.UUID):
    """Ask an administrator for help in the user's own chat (`note`: optional)."""
    chat = owned_session(session_id)
    return _change(chat, lambda: handoff.request_help(chat, current_user,
                                                       request.form.get("note"),
                                                       request.remote_addr))


@bp.post("/chats/<uuid:session_id>/help/cancel")
@login_required
def cancel_help(session_id: uuid.UUID):
    """Withdraw the user's help request."""
    chat = owned_session(session_id)
    return _change(chat, lambda: handoff.cancel_help(chat, current_user, request.remote_addr))


@bp.get("/admin/sessions/<uuid:session_id>")
@admin_required
def show(session_id: uuid.UUID):
    """Any session, read-only and live (the reply streaming token by token), with its help
    request, the takeover controls and its timeline; opening it is audited."""
    chat = viewable_session(session_id)
    handoff.watched(chat, current_user, request.remote_addr)
    return _page(chat)


def _page(chat, *, error: str | None = None, status: int = 200):
    last_id, partial = events.snapshot(get_redis(), chat.id)
    window = history.latest(chat.id, current_app.config["HISTORY_PAGE_SIZE"])
    return render_template("admin/session.html", chat=chat,
                           messages=_views(window.messages, partial),
                           last_event_id=last_id, live_transport=settings.live_transport(),
                           state=handoff.state_of(chat), timeline=handoff.timeline(chat.id),
                           error=error), status


@bp.post("/admin/sessions/<uuid:session_id>/acknowledge")
@admin_required
def acknowledge(session_id: uuid.UUID):
    """Tell the consultant their help request was seen."""
    chat = viewable_session(session_id)
    return _change(chat, lambda: handoff.acknowledge(chat, current_user, request.remote_addr))


@bp.post("/admin/sessions/<uuid:session_id>/takeover")
@admin_required
def take_over(session_id: uuid.UUID):
    """Take the session over: the assistant stops; 409 names the admin who holds it already."""
    chat = viewable_session(session_id)
    return _change(chat, lambda: handoff.take_over(chat, current_user, request.remote_addr))


@bp.post("/admin/sessions/<uuid:session_id>/handback")
@admin_required
def hand_back(session_id: uuid.UUID):
    """Give the session back to the assistant (`note`: optional, added to its context)."""
    chat = viewable_session(session_id)
    return _change(chat, lambda: handoff.hand_back(chat, current_user, request.form.get("note"),
                                                    request.remote_addr))


@bp.post("/admin/sessions/<uuid:session_id>/leave")
@admin_required
def leave(session_id: uuid.UUID):
    """Stop watching the session (handing it back first when holding it)."""
    chat = viewable_session(session_id)
    try:
        handoff.leave(chat, current_user, request.remote_addr)
    except MessageRejected as rejected:
        return error_response(rejected.status, rejected.message)
    return redirect(url_for("chats.list_sessions"), code=303)


@bp.post("/admin/sessions/<uuid:session_id>/messages")
@admin_required
def send_message(session_id: uuid.UUID):
    """Write in the session while holding it; the consultant sees it live."""
    chat = viewable_session(session_id)
    try:
        handoff.post_admin_message(chat, current_user, request.form.get("content"))
    except MessageRejected as rejected:
        if is_htmx():
            return render_template("admin/_composer.html", chat_id=chat.id, error=rejected.message,
                                   draft=request.form.get("content") or "",
                                   oob=True), rejected.status
        return _page(chat, error=rejected.message, status=rejected.status)
    if is_htmx():
        return render_template("admin/_composer.html", chat_id=chat.id, error=None, draft="", oob=True)
    return redirect(url_for("handoff.show", session_id=chat.id, _anchor="composer"), code=303)


def _change(chat, action):
    """Run a handoff change; the pages learn of it through the live stream."""
    try:
        action()
    except MessageRejected as rejected:
        if is_htmx() or wants_json():
            return error_response(rejected.status, rejected.message)
        if chat.owner_id == current_user.id:
            return render_chat(chat, error=rejected.message, status=rejected.status)
        return _page(chat, error=rejected.message, status=rejected.status)
    if is_htmx():
        return "", 204
    if request.path.startswith("/admin/"):
        return redirect(url_for("handoff.show", session_id=chat.id), code=303)
    return redirect(url_for("chats.show", session_id=chat.id), code=303)

