"""Passing signals from a watcher of a session: typing and presence (away when a tab is hidden).

The page posts them here whatever transport brings it events (a WebSocket may carry them too,
see websocket.py); they reach the session's live viewers at once and are never logged.
"""

from __future__ import annotations

import uuid

import redis
from flask import Blueprint, current_app, request
from flask_login import current_user, login_required

from chatapp.chats import viewable_session
from chatapp.errors import error_response
from chatapp.extensions import db
from chatapp.services import presence
from chatapp.services.redis_client import get_redis

bp = Blueprint("signals", __name__)


class BadSignal(ValueError):
    """A signal that cannot be understood."""


@bp.post("/chats/<uuid:session_id>/signals")
@login_required
def send_signal(session_id: uuid.UUID):
    """`type=typing&on=true|false`, or `type=presence&state=online|away&viewer=<page id>`."""
    viewable_session(session_id)
    db.session.remove()
    watcher = presence.Watcher.of(current_user, request.form.get("viewer"))
    try:
        apply_signal(get_redis(), session_id, watcher, dict(request.form))
    except BadSignal as bad:
        return error_response(400, str(bad))
    except redis.RedisError:
        current_app.logger.warning("signal for session %s dropped: Redis unavailable", session_id)
        return error_response(503, "Live updates are unavailable for a moment.",
                              headers={"Retry-After": "2"})
    return "", 204


def apply_signal(r: redis.Redis, session_id, watcher: presence.Watcher, signal: dict) -> None:
    """Pass on one signal (from a form or a WebSocket frame); BadSignal when malformed."""
    kind = signal.get("type")
    if kind == "typing":
        on = signal.get("on")
        if on not in (True, False, "true", "false"):
            raise BadSignal("on must be true or false.")
        presence.typing(r, session_id, watcher, on in (True, "true"))
    elif kind == "presence":
        if signal.get("state") not in presence.STATES:
            raise BadSignal(f"state must be one of {', '.join(presence.STATES)}.")
        presence.mark(r, session_id, watcher, signal["state"])
    else:
        raise BadSignal("type must be typing or presence.")
