"""API: search the user's sessions and messages, as the search page does."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from chatapp.api import bp
from chatapp.api.bodies import BadBody
from chatapp.services import search


@bp.get("/search")
def search_chats():
    """Hits for `q` among the user's sessions (names, client names) and finished messages, best
    first, a page at a time; filters `client`, `status`, `from`, `to` (dates)."""
    try:
        query = search.read_query(request.args)
        if not query.text:
            raise search.InvalidSearch("q is required: the words to look for.", "q")
    except search.InvalidSearch as invalid:
        return BadBody(invalid.message, 400, invalid.field).response()
    results = search.search(current_user.id, query)
    return {"items": [_hit_view(hit) for hit in results.hits],
            "next_page": query.page + 1 if results.more else None}


def _hit_view(hit: search.Hit) -> dict:
    return {"session_id": str(hit.session_id), "session_name": hit.name.striptags(),
            "client_name": hit.client.striptags() or None, "status": hit.status,
            "message_id": hit.message_id, "at": hit.at.isoformat(),
            "snippet": str(hit.snippet or hit.name)}
