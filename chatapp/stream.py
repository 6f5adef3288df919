"""A session's live events over HTTP: server-sent events, or long-poll (`?wait=<seconds>`).

Every check (sign-in, ownership, arguments) happens before the first byte; the SQL session is
released before streaming or waiting, and neither touches the Flask session afterwards. Both
carry the events of chatapp/live.py, resumable from the last id seen.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import redis
from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from flask_login import current_user, login_required

from chatapp import live
from chatapp.chats import viewable_session
from chatapp.errors import error_response
from chatapp.extensions import db
from chatapp.services import presence
from chatapp.services.fanout import Subscription
from chatapp.services.redis_client import get_hub, get_redis

bp = Blueprint("stream", __name__)

POLL_MAX_WAIT = 30  # seconds a long-poll may be asked to wait
POLL_LINGER = 0.1  # seconds a poll that got an event waits for more (fewer polls mid-reply)
# Sent first on every stream, without an id: the client knows its stream delivers (a proxy that
# buffers responses would hold it back) even when nothing else is due.
READY = "event: ready\ndata: {}\n\n"

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
    """The live events of a session the user may watch (`fmt=html` for the page, else JSON): a
    stream of server-sent events, or with `wait` one long-poll answer. The watcher counts as
    online meanwhile (`viewer`: the page's own id, see services/presence.py)."""
    viewable_session(session_id)
    watcher = presence.Watcher.of(current_user, request.args.get("viewer"))
    db.session.remove()  # no SQL connection is held while Redis is asked, nor while streaming
    fmt = request.args.get("fmt", "json")
    after = request.headers.get("Last-Event-ID") or request.args.get("after")
    wait = request.args.get("wait")
    try:
        live.check_arguments(fmt, after)
        wait = _poll_wait(wait)
    except live.BadRequest as bad:
        return error_response(400, str(bad), details={"fmt": fmt, "after": after})
    r = get_redis()
    try:
        opening, subscription = live.start_watching(r, get_hub(), session_id, after, fmt, watcher)
    except redis.RedisError:
        current_app.logger.warning("live events of session %s refused: Redis unavailable",
                                   session_id)
        return error_response(503, "Live updates are unavailable for a moment; retrying.",
                              headers={"Retry-After": "2"})
    if wait is not None:  # the next poll renews the watcher's presence, or it expires
        return _poll(opening, subscription, fmt, wait)
    config = current_app.config
    frames = _sse(opening, subscription, fmt, config["SSE_KEEPALIVE_SECONDS"],
                  config["SSE_RECYCLE_SECONDS"], renew=lambda: live.keep_alive(r, session_id, watcher))
    response = Response(stream_with_context(frames), mimetype="text/event-stream", headers={
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    response.call_on_close(subscription.close)
    response.call_on_close(lambda: _quietly(presence.leave, r, session_id, watcher))
    return response


def _quietly(action, *args) -> None:
    """Run a presence update whose failure (Redis away) must not break a closing response: the
    entry expires by itself."""
    try:
        action(*args)
    except redis.RedisError:
        current_app.logger.info("presence not updated: Redis unavailable")


def _poll_wait(wait: str | None) -> float | None:
    if wait is None:
        return None
    try:
        seconds = float(wait)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= POLL_MAX_WAIT:
        raise live.BadRequest(f"wait must be a number of seconds from 0 to {POLL_MAX_WAIT}.")
    return seconds


def _poll(opening: list[live.Frame], subscription: Subscription, fmt: str, wait: float):
    """One long-poll answer: the opening frames, else the events after the client's id as soon
    as there are any (waiting up to `wait` s), and the id to ask after next time."""
    try:
        frames = list(opening)
        if not frames:
            batch = subscription.next_events(timeout=wait) or []
            if batch:
                time.sleep(POLL_LINGER)
                batch += subscription.next_events(timeout=0) or []
            frames = [live.to_frame(event, fmt) for event in batch]
    finally:
        subscription.close()
    return jsonify(events=[frame.as_dict() for frame in frames],
                   last_id=live.last_id(frames, subscription.last_id)), 200, {
        "Cache-Control": "no-store"}


def _sse(opening: list[live.Frame], subscription: Subscription, fmt: str, keepalive: float,
         recycle: float, renew) -> Iterator[str]:
    yield "retry: 2000\n\n" + READY + "".join(_sse_frame(frame, fmt) for frame in opening)
    now = time.monotonic()
    deadline, renew_at = now + recycle, now + presence.RENEW_EVERY
    while (remaining := deadline - time.monotonic()) > 0:
        batch = subscription.next_events(timeout=min(keepalive, remaining))
        if batch is None:
            return  # the feed ended (Redis trouble): the client resumes from its last id
        if time.monotonic() >= renew_at:
            renew_at = time.monotonic() + presence.RENEW_EVERY
            _quietly(renew)
        # the events that came together (a burst, a stream catching up) go out in one write
        yield "".join(_sse_frame(live.to_frame(event, fmt), fmt)
                      for event in batch) or ": keepalive\n\n"
        time.sleep(0)  # under gevent: let the other streams of this process have a turn


def _sse_frame(frame: live.Frame, fmt: str) -> str:
    """JSON clients get named events; the page gets unnamed ones, which it swaps, except reset
    and signals (typing, presence: JSON the page shows itself, without an id)."""
    named = fmt == "json" or frame.type == "reset" or not frame.id
    return format_sse(live.as_text(frame.data), event=frame.type if named else None,
                      event_id=frame.id or None)
