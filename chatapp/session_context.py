"""A chat's header: its name (renamed in place), its context card (shown, edited in place with
htmx or on its own page), its numbers (metrics, for the owner), the model answering, and
reopening it once ended."""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import login_required

from chatapp.chats import model_choice, owned_session, render_chat
from chatapp.errors import is_htmx
from chatapp.extensions import db
from chatapp.services import context, lifecycle, metrics
from chatapp.services.llm import configured_models

bp = Blueprint("context", __name__)


@bp.get("/chats/<uuid:session_id>/context")
@login_required
def show_card(session_id: uuid.UUID):
    """The card (what the page shows after saving or cancelling)."""
    return render_template("chats/_context.html", chat=owned_session(session_id))


@bp.get("/chats/<uuid:session_id>/context/edit")
@login_required
def edit_card(session_id: uuid.UUID):
    """The card's form: in place of the card for htmx, else a page of its own."""
    chat = owned_session(session_id)
    return _form(chat, chat.client_name, chat.context or {}, error=None)


@bp.post("/chats/<uuid:session_id>/context")
@login_required
def save_card(session_id: uuid.UUID):
    """Save the card; the next reply uses it. A mistake shows the form again, values kept."""
    chat = owned_session(session_id)
    try:
        card = context.from_form(request.form)
    except context.InvalidContext as invalid:
        return _form(chat, request.form.get("client_name"), context.as_typed(request.form),
                     error=str(invalid), status=422)
    chat.client_name = card.client_name
    chat.context = context.merged(chat.context, card)
    db.session.commit()
    if is_htmx():
        return render_template("chats/_context.html", chat=chat)
    return redirect(url_for("chats.show", session_id=chat.id), code=303)


def _form(chat, client_name, values: dict, *, error: str | None, status: int = 200):
    template = "chats/_context_form.html" if is_htmx() else "chats/context_edit.html"
    custom = values.get("custom_text")
    if custom is None:
        custom = context.custom_as_text(values)
    return render_template(template, chat=chat, client_name=client_name or "", values=values,
                           custom=custom, error=error, services=context.SERVICES,
                           clouds=context.CLOUDS), status


@bp.post("/chats/<uuid:session_id>/model")
@login_required
def save_model(session_id: uuid.UUID):
    """Choose the model that writes the chat's next replies."""
    chat = owned_session(session_id)
    model = request.form.get("model", "")
    error = None
    if model in {choice.id for choice in configured_models(current_app.config)}:
        chat.model = model
        db.session.commit()
    else:
        error = "Choose one of the models on offer."
    if is_htmx():
        return render_template("chats/_model.html", chat=chat, model_error=error,
                               **model_choice(chat)), 422 if error else 200
    if error:
        return render_chat(chat, error=error, status=422)
    return redirect(url_for("chats.show", session_id=chat.id), code=303)


@bp.post("/chats/<uuid:session_id>/reopen")
@login_required
def reopen(session_id: uuid.UUID):
    """Continue an ended chat: it becomes the owner's active session again."""
    chat = owned_session(session_id)
    lifecycle.open_session(chat, reopen=True)
    if is_htmx():
        return render_template("chats/_ended.html", state=chat)
    return redirect(url_for("chats.show", session_id=chat.id), code=303)


@bp.get("/chats/<uuid:session_id>/metrics")
@login_required
def show_metrics(session_id: uuid.UUID):
    """The chat's numbers, fresh each time its details are opened."""
    chat = owned_session(session_id)
    return render_template("chats/_metrics.html", chat=chat, m=metrics.of(chat))


@bp.get("/chats/<uuid:session_id>/name/edit")
@login_required
def edit_name(session_id: uuid.UUID):
    """The rename form: in place of the title for htmx, else a page of its own."""
    chat = owned_session(session_id)
    return _name_form(chat, chat.name, error=None)


@bp.post("/chats/<uuid:session_id>/name")
@login_required
def save_name(session_id: uuid.UUID):
    """Rename the chat (1 to 200 characters)."""
    chat = owned_session(session_id)
    name = " ".join(request.form.get("name", "").split())
    if not name or len(name) > 200:
        return _name_form(chat, request.form.get("name", ""),
                          error="Give the chat a name of 1 to 200 characters.", status=422)
    chat.name = name
    chat.named_by_owner = True
    db.session.commit()
    if is_htmx():
        return render_template("chats/_title.html", chat=chat)
    return redirect(url_for("chats.show", session_id=chat.id), code=303)


def _name_form(chat, name: str, *, error: str | None, status: int = 200):
    template = "chats/_title_form.html" if is_htmx() else "chats/rename.html"
    return render_template(template, chat=chat, name=name, error=error), status
