"""Server-sent events: a session's event log, live, resumable by Last-Event-ID.

Every check (sign-in, ownership, arguments) happens before the first byte; the SQL session is
released before streaming, and the generator never touches the Flask session.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator

import redis
from flask import Blueprint, Response, current_app, render_template, request, stream_with_context
from flask_login import login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

from chatapp.chats import owned_session
from chatapp.errors import error_response
from chatapp.extensions import db
from chatapp.services import events
from chatapp.services.fanout import EventHub, Subscription
from chatapp.services.redis_client import get_hub, get_redis

bp = Blueprint("stream", __name__)

MESSAGE_EVENTS = {"message.created", "message.updated", "reply.done", "reply.failed",
                  "reply.cancelled"}


_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # every line break the SSE parser knows


def format_sse(data: str, *, event: str | None = None, event_id: str | None = None) -> str:
    """One SSE frame: a `data:` line per line of payload (always at least one), one space after
    each colon so a payload's own leading space survives the client's parser. Line breaks arrive
    as LF (a CR would end a line early in the client's parser)."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
    return "\n".join(lines) + "\n\n"


@bp.get("/chats/<uuid:session_id>/events")
@login_required
def session_events(session_id: uuid.UUID):
    """The live event stream of one of the user's sessions (`fmt=html` for the page, else JSON)."""
    owned_session(session_id)
    db.session.remove()  # no SQL connection is held while Redis is asked, nor while streaming
    fmt = request.args.get("fmt", "json")
    after = request.headers.get("Last-Event-ID") or request.args.get("after")
    if fmt not in ("html", "json"):
        return error_response(400, "fmt must be 'html' or 'json'.", details={"fmt": fmt})
    if after is not None and not events.is_valid_id(after):
        return error_response(400, "Last-Event-ID / after must be an event id like 1700000000000-0.")
    if fmt == "html":
        generate_csrf()  # cached for the partials rendered while streaming
    try:
        opening, subscription = _open(get_redis(), get_hub(), session_id, after, fmt)
    except redis.RedisError:
        current_app.logger.warning("event stream of session %s refused: Redis unavailable",
                                   session_id)
        return error_response(503, "Live updates are unavailable for a moment; retrying.",
                              headers={"Retry-After": "2"})
    config = current_app.config
    frames = _frames(opening, subscription, fmt, config["SSE_KEEPALIVE_SECONDS"],
                     config["SSE_RECYCLE_SECONDS"])
    response = Response(stream_with_context(frames), mimetype="text/event-stream", headers={
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    response.call_on_close(subscription.close)
    return response


def _open(r: redis.Redis, hub: EventHub, session_id: uuid.UUID, after: str | None,
          fmt: str) -> tuple[str, Subscription]:
    """The stream's first frames (retry, then a snapshot or a reset when due) and its
    subscription to the events that follow them."""
    opening = "retry: 2000\n\n"
    if after is None:
        after, partial = events.snapshot(r, session_id)
        opening += format_sse(_snapshot_data(partial, fmt), event=_named(fmt, "snapshot"),
                              event_id=after)
    elif events.has_gap(r, session_id, after):
        after, partial = events.snapshot(r, session_id)
        opening += format_sse(_snapshot_data(partial, "json"), event="reset", event_id=after)
    return opening, hub.subscribe(session_id, after)


def _frames(opening: str, subscription: Subscription, fmt: str, keepalive: float,
            recycle: float) -> Iterator[str]:
    yield opening
    deadline = time.monotonic() + recycle
    while (remaining := deadline - time.monotonic()) > 0:
        batch = subscription.next_events(timeout=min(keepalive, remaining))
        if batch is None:
            return  # the feed ended (Redis trouble): the client resumes from its last id
        # the events that came together (a burst, a stream catching up) go out in one write
        yield "".join(format_sse(_event_data(event, fmt), event=_named(fmt, event.type),
                                 event_id=event.id) for event in batch) or ": keepalive\n\n"
        time.sleep(0)  # under gevent: let the other streams of this process have a turn


def _named(fmt: str, type_: str) -> str | None:
    """JSON clients get named events; the htmx page gets unnamed ones, which it swaps."""
    return type_ if fmt == "json" else None


def _snapshot_data(partial: dict[int, str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"replies": {str(k): v for k, v in partial.items()}})
    return "".join(
        f'<hx-partial hx-target="#msg-{message_id}-body" hx-swap="innerHTML">{escape(text)}'
        "</hx-partial>" for message_id, text in partial.items())


def _event_data(event: events.Event, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(event.data, separators=(",", ":"))
    if event.type == "reply.delta":
        return (f'<hx-partial hx-target="#msg-{int(event.data["message_id"])}-body" '
                f'hx-swap="beforeend">{escape(event.data["text"])}</hx-partial>')
    if event.type in MESSAGE_EVENTS:
        return render_template("chats/_upsert.html", messages=[event.data["message"]])
    return ""
