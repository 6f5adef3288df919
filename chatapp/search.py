"""Search pages: all of the user's chats (with filters, results as you type) and one chat's
messages (each hit opens the chat at that message)."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from chatapp.chats import owned_session
from chatapp.errors import is_htmx
from chatapp.services import search

bp = Blueprint("search", __name__)


@bp.get("/search")
@login_required
def find():
    """The search page; htmx gets the results alone (as the user types), or the next page's hits
    (the "more results" link)."""
    query, error, results = _run(search.Query(), None)
    if is_htmx():
        template = "search/_hits.html" if query.page > 1 else "search/_results.html"
    else:
        template = "search/index.html"
    return render_template(template, query=query, error=error, results=results,
                           clients=search.client_names(current_user.id)), 422 if error else 200


@bp.get("/chats/<uuid:session_id>/search")
@login_required
def find_in_session(session_id: uuid.UUID):
    """The messages of one chat that match, in the chat's order: the list alone for htmx (the
    search field of the chat page), else a page of its own."""
    chat = owned_session(session_id)
    query, error, results = _run(search.Query(), chat.id)
    template = "search/_session_hits.html" if is_htmx() else "search/session.html"
    return render_template(template, chat=chat, query=query, error=error,
                           results=results), 422 if error else 200


@bp.after_request
def vary_with_htmx(response):
    """A page and its results alone share a URL (pushed to the history): caches must keep them
    apart, or going back shows the bare results."""
    response.vary.add("HX-Request")
    return response


def _run(blank: search.Query, session_id: uuid.UUID | None):
    """The query asked for, an error message for the user (or None) and the results (None when
    nothing was searched)."""
    try:
        query = search.read_query(request.args)
    except search.InvalidSearch as invalid:
        return blank, invalid.message, None
    if not query.text:
        return query, None, None
    return query, None, search.search(current_user.id, query, session_id=session_id)
