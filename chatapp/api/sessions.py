"""API: sessions (create, list, get, update, delete), their history, sending, stop, regenerate,
and their live events (the same SSE, long-poll and WebSocket as the pages)."""

from __future__ import annotations

import hashlib
import json
import uuid

from flask import current_app, request, url_for
from flask_login import current_user

from chatapp import stream, websocket
from chatapp.api import bp
from chatapp.api.bodies import BadBody, json_body, text_field
from chatapp.chats import owned_message, owned_session
from chatapp.errors import error_response
from chatapp.extensions import db
from chatapp.models import (
    REPLY_IN_PROGRESS,
    SESSION_STATUSES,
    ChatMessage,
    ChatSession,
    as_utc,
)
from chatapp.services import (
    alternatives,
    conversation,
    history,
    lifecycle,
    organise,
    session_list,
)
from chatapp.services.llm import choose_model, configured_models

MAX_LIMIT = 100
MAX_CONTEXT_BYTES = 10_000

bp.add_url_rule("/sessions/<uuid:session_id>/events", endpoint="session_events",
                view_func=stream.session_events)
websocket.sock.route("/sessions/<uuid:session_id>/ws", bp=bp)(websocket.serve)


def session_view(chat: ChatSession) -> dict:
    """A session as the API shows it."""
    return {"id": str(chat.id), "name": chat.name, "client_name": chat.client_name,
            "context": chat.context or {}, "status": chat.status,
            "model": choose_model(current_app.config, chat.model).id,
            "pinned": chat.pinned_at is not None, "archived": chat.archived_at is not None,
            "created_at": as_utc(chat.created_at).isoformat(),
            "last_activity_at": as_utc(chat.last_activity_at).isoformat()}


@bp.get("/models")
def list_models():
    """The models sessions may use, the default first."""
    return {"models": [{"id": choice.id, "label": choice.label, "offline": choice.offline}
                       for choice in configured_models(current_app.config)]}


@bp.post("/sessions")
def create_session():
    """Start a session (name, client_name and context optional)."""
    try:
        body = json_body(request)
        fields = _session_fields(body)
    except BadBody as bad:
        return bad.response()
    name = fields.pop("name", None)
    chat = ChatSession(owner_id=current_user.id, context={}, named_by_owner=bool(name),
                       name=name or conversation.DEFAULT_SESSION_NAME,
                       model=configured_models(current_app.config)[0].id)
    for name, value in fields.items():
        setattr(chat, name, value)
    db.session.add(chat)
    lifecycle.open_session(chat)
    return session_view(chat), 201, {"Location": url_for("api.get_session", session_id=chat.id)}


@bp.get("/sessions")
def list_sessions():
    """The user's sessions, latest activity first, a page at a time (`cursor` from the last
    page's `next_cursor`); filters: `archived` (true or false, the default), `status`,
    `client` (part of the client's name). Deleted sessions are never listed."""
    try:
        limit = _limit(request.args.get("limit"), default=20)
        status = request.args.get("status")
        if status is not None and status not in SESSION_STATUSES:
            raise BadBody(f"status must be one of {', '.join(SESSION_STATUSES)}.", 400, "status")
        archived = request.args.get("archived", "false")
        if archived not in ("true", "false"):
            raise BadBody("archived must be true or false.", 400, "archived")
    except BadBody as bad:
        return bad.response()
    query = session_list.of_owner(current_user.id, archived=archived == "true")
    if status:
        query = query.where(ChatSession.status == status)
    if client := request.args.get("client", "").strip():
        query = query.where(ChatSession.client_name.ilike(f"%{_escape_like(client)}%",
                                                          escape="\\"))
    try:
        page, next_cursor = session_list.keyset_page(query, request.args.get("cursor"), limit)
    except session_list.BadCursor:
        return BadBody("cursor is not one this API gave.", 400, "cursor").response()
    return {"items": [session_view(chat) for chat in page], "next_cursor": next_cursor}


@bp.get("/sessions/<uuid:session_id>")
def get_session(session_id: uuid.UUID):
    """One of the user's sessions."""
    return session_view(owned_session(session_id))


@bp.patch("/sessions/<uuid:session_id>")
def update_session(session_id: uuid.UUID):
    """Rename a session, change its client or context (used from the next reply on), pin or
    archive it."""
    chat = owned_session(session_id)
    try:
        body = json_body(request)
        fields = _session_fields(body)
        flags = {name: _flag(body, name) for name in ("pinned", "archived") if name in body}
    except BadBody as bad:
        return bad.response()
    if "archived" in flags:
        organise.set_archived(chat, flags["archived"])
    if "pinned" in flags:
        organise.set_pinned(chat, flags["pinned"])
    for name, value in fields.items():
        setattr(chat, name, value or (conversation.DEFAULT_SESSION_NAME if name == "name" else
                                      value))
    if "name" in fields:
        chat.named_by_owner = bool(fields["name"])
    db.session.commit()
    return session_view(chat)


@bp.delete("/sessions/<uuid:session_id>")
def delete_session(session_id: uuid.UUID):
    """Delete a session and its history (refused while a reply is being written: stop it)."""
    chat = owned_session(session_id)
    writing = db.session.scalar(db.select(db.func.count()).select_from(ChatMessage).where(
        ChatMessage.session_id == chat.id, ChatMessage.status.in_(REPLY_IN_PROGRESS)))
    if writing:
        return error_response(409, "A reply is being written in this session: stop it first.")
    lifecycle.delete_sessions(ChatSession.id == chat.id)
    lifecycle.announce(chat.id, deleted=True)
    return "", 204


@bp.get("/sessions/<uuid:session_id>/messages")
def list_messages(session_id: uuid.UUID):
    """The session's messages in order, a page at a time: the latest `limit`, or those `before`
    or `after` a message number (`seq`). An unchanged page answers 304 to `If-None-Match`."""
    chat = owned_session(session_id)
    try:
        limit = _limit(request.args.get("limit"), default=50)
        before, after = _seq(request.args.get("before"), "before"), _seq(
            request.args.get("after"), "after")
    except BadBody as bad:
        return bad.response()
    page, more = history.read(chat.id, limit, before=before, after=after)
    body = {"items": [m.to_view() for m in page], "has_more": more}
    etag = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        return "", 304, {"ETag": f'"{etag}"'}
    return body, 200, {"ETag": f'"{etag}"', "Cache-Control": "private, no-cache"}


@bp.post("/sessions/<uuid:session_id>/messages")
def send_message(session_id: uuid.UUID):
    """Send a message (`client_id`: your id for it; a repeat returns the first send's result;
    `attachment_ids`: your uploaded, scanned files it carries); 202 with the message and the
    reply being written (follow it on the events)."""
    chat = owned_session(session_id)
    try:
        body = json_body(request)
        content = text_field(body, "content", max_length=10**6, strip=False)
        client_id = text_field(body, "client_id", max_length=64)
        attachment_ids = body.get("attachment_ids") or []
        if not isinstance(attachment_ids, list) or not all(
                type(item) is int for item in attachment_ids):
            raise BadBody("attachment_ids must be a list of attachment ids.",
                          field="attachment_ids")
    except BadBody as bad:
        return bad.response()
    try:
        message, reply = conversation.post_user_message(chat, current_user, content, client_id,
                                                        attachment_ids)
    except conversation.MessageRejected as rejected:
        return error_response(rejected.status, rejected.message)
    return {"message": message.to_view(), "reply": reply and reply.to_view()}, 202


@bp.post("/sessions/<uuid:session_id>/messages/<int:message_id>/stop")
def stop_reply(session_id: uuid.UUID, message_id: int):
    """Stop a reply being written (it ends cancelled with its text so far, on the events)."""
    chat, message = owned_message(session_id, message_id)
    return _change(lambda: conversation.stop_reply(chat, message), message)


@bp.post("/sessions/<uuid:session_id>/messages/<int:message_id>/regenerate")
def regenerate_reply(session_id: uuid.UUID, message_id: int):
    """Write the latest reply again (the current text stays as a version)."""
    chat, message = owned_message(session_id, message_id)
    return _change(lambda: alternatives.regenerate(chat, message), message)


def _change(action, message: ChatMessage):
    try:
        action()
    except conversation.MessageRejected as rejected:
        return error_response(rejected.status, rejected.message)
    return {"message": message.to_view()}, 202


def _session_fields(body: dict) -> dict:
    fields = {}
    for name in ("name", "client_name"):
        if name in body:
            fields[name] = text_field(body, name) or None
    if "context" in body:
        context = body["context"]
        if not isinstance(context, dict):
            raise BadBody("context must be a JSON object.", field="context")
        if len(json.dumps(context)) > MAX_CONTEXT_BYTES:
            raise BadBody(f"context is limited to {MAX_CONTEXT_BYTES:,} bytes of JSON.",
                          field="context")
        fields["context"] = context
    if "model" in body:
        offered = {choice.id for choice in configured_models(current_app.config)}
        if not isinstance(body["model"], str) or body["model"] not in offered:
            raise BadBody("model must be the id of a model on offer (GET /api/v1/models).",
                          field="model")
        fields["model"] = body["model"]
    return fields


def _flag(body: dict, name: str) -> bool:
    if not isinstance(body[name], bool):
        raise BadBody(f"{name} must be true or false.", field=name)
    return body[name]


def _limit(raw: str | None, default: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadBody(f"limit must be a whole number from 1 to {MAX_LIMIT}.", 400, "limit")
    return int(raw)


def _seq(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise BadBody(f"{name} must be a message number (seq).", 400, name)
    return int(raw)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
