"""API: a session exported as a document (services/export.py), as the chat page downloads it."""

from __future__ import annotations

import uuid

from flask import request

from chatapp.api import bp
from chatapp.chats import owned_session
from chatapp.sharing import export_response


@bp.get("/sessions/<uuid:session_id>/export")
def export_session(session_id: uuid.UUID):
    """The session as JSON (default), Markdown or PDF (`format`), the full record (default) or
    client notes (`kind`)."""
    chat = owned_session(session_id)
    return export_response(chat, request.args.get("format", "json"),
                           request.args.get("kind", "full"))
