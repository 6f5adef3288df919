"""Chat pages: the session list, a new chat, the chat view, sending and retrying."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from chatapp.errors import error_response, is_htmx, wants_json
from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession
from chatapp.services import (
    alternatives,
    conversation,
    events,
    handoff,
    history,
    lifecycle,
    metrics,
    organise,
    quick_actions,
    session_list,
    settings,
    uploads,
)
from chatapp.services.llm import choose_model, configured_models
from chatapp.services.redis_client import get_redis

bp = Blueprint("chats", __name__)


def owned_session(session_id: uuid.UUID) -> ChatSession:
    """The current user's session, or 404 (also for another user's session: its existence stays
    private, and for a deleted one)."""
    chat = db.session.get(ChatSession, session_id)
    if chat is None or chat.deleted_at is not None or chat.owner_id != current_user.id:
        abort(404)
    return chat


def viewable_session(session_id: uuid.UUID) -> ChatSession:
    """A session the current user may watch live: their own, or any for an admin (admins watch
    sessions to answer help requests); else 404, as owned_session."""
    chat = db.session.get(ChatSession, session_id)
    if chat is None or chat.deleted_at is not None or not (
            chat.owner_id == current_user.id or current_user.role == "admin"):
        abort(404)
    return chat


def model_choice(chat: ChatSession) -> dict:
    """What the model selector needs: the models on offer and the one answering in `chat`."""
    return {"models": configured_models(current_app.config),
            "current": choose_model(current_app.config, chat.model)}


@bp.get("/")
@login_required
def index():
    """The home page is the session list."""
    return redirect(url_for("chats.list_sessions"))


LIST_VIEWS = ("chats", "archived")


@bp.get("/chats")
@login_required
def list_sessions():
    """The user's sessions a page at a time: pinned ones first, then by latest activity;
    `view=archived` lists the archived ones. htmx asks for the next page's rows only (when the
    end of the list comes into view); `deleted` (a chat just deleted) shows its Undo."""
    view = request.args.get("view", "chats")
    if view not in LIST_VIEWS:
        return error_response(400, "view must be “archived” or left out.")
    try:
        page = session_list.page(current_user.id, archived=view == "archived",
                                 cursor=request.args.get("cursor"),
                                 limit=current_app.config["SESSIONS_PER_PAGE"])
    except session_list.BadCursor as bad:
        return error_response(400, str(bad))
    if is_htmx() and request.args.get("cursor"):
        return render_template("chats/_session_page.html", page=page, view=view)
    return render_template("chats/index.html", page=page, view=view,
                           undo=_just_deleted(request.args.get("deleted")))


def _just_deleted(raw_id: str | None) -> ChatSession | None:
    """The user's session `raw_id` if it was deleted and can still be brought back."""
    try:
        chat = db.session.get(ChatSession, uuid.UUID(raw_id)) if raw_id else None
    except ValueError:
        return None
    if chat is None or chat.owner_id != current_user.id or not organise.restorable(chat):
        return None
    return chat


@bp.get("/chats/new")
@login_required
def new_session_form():
    """The form to start a chat."""
    return render_template("chats/new.html", error=None, form={},
                           models=configured_models(current_app.config))


@bp.post("/chats")
@login_required
def create_session():
    """Start a chat, optionally naming it and its client, and open it."""
    name = request.form.get("name", "").strip()
    client_name = request.form.get("client_name", "").strip()
    models = configured_models(current_app.config)
    model = request.form.get("model") or models[0].id
    error = None
    if len(name) > 200 or len(client_name) > 200:
        error = "Names are limited to 200 characters."
    elif model not in {choice.id for choice in models}:
        error = "Choose one of the models on offer."
    if error:
        if is_htmx():
            return error_response(422, error)
        return render_template("chats/new.html", error=error, form=request.form,
                               models=models), 422
    chat = ChatSession(owner_id=current_user.id, name=name or conversation.DEFAULT_SESSION_NAME,
                       named_by_owner=bool(name), client_name=client_name or None, context={},
                       model=model)
    db.session.add(chat)
    lifecycle.open_session(chat)
    return redirect(url_for("chats.show", session_id=chat.id), code=303)


@bp.get("/chats/<uuid:session_id>")
@login_required
def show(session_id: uuid.UUID):
    """The chat view: the latest page of history (or, with `around=<message id>`, the page around
    that message), the reply in progress (if any) and the composer."""
    chat = owned_session(session_id)
    lifecycle.open_session(chat)
    around = request.args.get("around")
    if around is None:
        return render_chat(chat)
    if not around.isdigit() or len(around) > 18:
        return error_response(400, "around must be the id of a message of this chat.")
    _, message = owned_message(session_id, int(around))
    return render_chat(chat, page=functools.partial(history.around, message, _page_size()))


@bp.get("/chats/<uuid:session_id>/messages")
@login_required
def history_page(session_id: uuid.UUID):
    """The messages before (`before=<seq>`) or after (`after=<seq>`) those on the page, `limit`
    at most: htmx gets them with the link to the next ones (loaded as the reader scrolls), a
    plain request (the link without JavaScript) the chat page showing them."""
    chat = owned_session(session_id)
    try:
        direction, seq, limit = history.page_from(request.args, _page_size())
    except history.BadPage as bad:
        return error_response(400, str(bad))
    load = {"before": history.before, "after": history.after}[direction]
    page = functools.partial(load, chat.id, seq, limit)
    if is_htmx():
        _, partial = events.snapshot(get_redis(), chat.id)
        window = page()
        response = make_response(render_template(
            "chats/_history.html", chat=chat, direction=direction, window=window,
            messages=_views(window.messages, partial)))
    else:
        response = make_response(render_chat(chat, page=page))
    response.vary.add("HX-Request")  # one URL, two answers: caches must keep them apart
    return response


def _page_size() -> int:
    return current_app.config["HISTORY_PAGE_SIZE"]


def _views(messages: list[ChatMessage], partial: dict[int, str]) -> list[dict]:
    """Message views, replies in progress showing their text so far from the event log."""
    views = []
    for message in messages:
        view = message.to_view()
        if message.id in partial:
            view.update(status="streaming", content=partial[message.id])
        views.append(view)
    return views


def render_chat(chat: ChatSession, *, page: Callable[[], history.Window] | None = None,
                draft: str = "", draft_attachments: list[dict] = (), error: str | None = None,
                status=200):
    """The full chat page showing the messages `page()` reads (by default the latest page of
    history). Replies in progress show their text so far from the event log, read together with
    the id the page's live stream resumes after."""
    last_id, partial = events.snapshot(get_redis(), chat.id)
    # read after the snapshot: a message stored in between is on the page and in the live stream
    # (shown once: the page replaces a message it has), never in neither
    window = page() if page else history.latest(chat.id, _page_size())
    return render_template(
        "chats/chat.html", chat=chat, messages=_views(window.messages, partial), window=window,
        last_event_id=last_id, draft=draft, draft_attachments=draft_attachments, error=error,
        **model_choice(chat),
        live_transport=settings.live_transport(), numbers=metrics.of(chat),
        quick_actions=quick_actions.current(), handoff=handoff.state_of(chat),
    ), status


@bp.post("/chats/<uuid:session_id>/messages")
@login_required
def send_message(session_id: uuid.UUID):
    """Send a message: htmx gets the new messages and a fresh composer, a script asking for JSON
    (the page's outbox) the two messages (202), a plain form a redirect."""
    chat = owned_session(session_id)
    return _send(chat, request.form.get("content"), request.form.get("client_id"),
                 request.form.getlist("attachment_ids"))


@bp.post("/chats/<uuid:session_id>/actions/<int:index>")
@login_required
def quick_action(session_id: uuid.UUID, index: int):
    """Send the prompt of quick action `index` (0-based), answered as a send."""
    chat = owned_session(session_id)
    actions = quick_actions.current()
    if index >= len(actions):
        abort(404)
    try:
        conversation.refuse_while_taken_over(chat)
    except conversation.MessageRejected as rejected:
        return error_response(rejected.status, rejected.message)
    # no client id: a second tap is refused while the first one's reply is written
    return _send(chat, actions[index].prompt(chat.client_name), None)


def _send(chat: ChatSession, raw: str | None, client_id: str | None,
          attachment_ids: list[str] = ()):
    try:
        user_message, reply = conversation.post_user_message(chat, current_user, raw, client_id,
                                                             attachment_ids)
    except conversation.MessageRejected as rejected:
        if wants_json():
            return error_response(rejected.status, rejected.message)
        # the composer comes back with the text and files as they were: nothing is lost
        drafts = uploads.drafts(chat, current_user, attachment_ids)
        if is_htmx():
            return render_template("chats/_composer.html", chat=chat, draft=raw or "",
                                   draft_attachments=drafts, error=rejected.message,
                                   oob=True), rejected.status
        return render_chat(chat, draft=raw or "", draft_attachments=drafts,
                           error=rejected.message, status=rejected.status)
    if wants_json():
        return {"message": user_message.to_view(), "reply": reply and reply.to_view()}, 202
    if is_htmx():
        return render_template("chats/_sent.html", chat=chat, messages=[
            message.to_view() for message in (user_message, reply) if message])
    return redirect(url_for("chats.show", session_id=chat.id, _anchor="composer"), code=303)


def owned_message(session_id: uuid.UUID, message_id: int) -> tuple[ChatSession, ChatMessage]:
    """The current user's session and one of its messages, or 404."""
    chat = owned_session(session_id)
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.session_id != chat.id:
        abort(404)
    return chat, message


@bp.post("/chats/<uuid:session_id>/messages/<int:message_id>/retry")
@login_required
def retry(session_id: uuid.UUID, message_id: int):
    """Try a failed reply again."""
    chat, message = owned_message(session_id, message_id)
    try:
        conversation.retry_reply(chat, message)
    except conversation.MessageRejected as rejected:
        return error_response(rejected.status, rejected.message)
    if is_htmx():
        return render_template("chats/_message_oob.html", m=message.to_view(), chat=chat)
    return redirect(url_for("chats.show", session_id=chat.id), code=303)


@bp.post("/chats/<uuid:session_id>/messages/<int:message_id>/stop")
@login_required
def stop(session_id: uuid.UUID, message_id: int):
    """Stop a reply being written; the live stream shows it ending with its text so far."""
    chat, message = owned_message(session_id, message_id)
    return _change(chat, lambda: conversation.stop_reply(chat, message))


@bp.post("/chats/<uuid:session_id>/messages/<int:message_id>/regenerate")
@login_required
def regenerate(session_id: uuid.UUID, message_id: int):
    """Write the latest reply again; the current one stays as a version."""
    chat, message = owned_message(session_id, message_id)
    return _change(chat, lambda: alternatives.regenerate(chat, message))


@bp.post("/chats/<uuid:session_id>/messages/<int:message_id>/edit")
@login_required
def edit(session_id: uuid.UUID, message_id: int):
    """Reword the latest question and regenerate its reply; both keep their earlier versions."""
    chat, message = owned_message(session_id, message_id)
    content = request.form.get("content")
    return _change(chat, lambda: alternatives.edit_and_regenerate(chat, message, content))


@bp.post("/chats/<uuid:session_id>/messages/<int:message_id>/versions/<int:index>")
@login_required
def show_version(session_id: uuid.UUID, message_id: int, index: int):
    """Show another version (1-based `index`) of a message."""
    chat, message = owned_message(session_id, message_id)
    return _change(chat, lambda: alternatives.show_version(chat, message, index - 1))


def _change(chat: ChatSession, action):
    """Run a change whose result reaches the page through the live stream."""
    try:
        action()
    except conversation.MessageRejected as rejected:
        return error_response(rejected.status, rejected.message)
    if is_htmx():
        return "", 204
    return redirect(url_for("chats.show", session_id=chat.id), code=303)
