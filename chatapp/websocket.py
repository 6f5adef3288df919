"""A session's live events over a WebSocket (flask-sock): the fallback when SSE cannot deliver.

The same events as SSE and long-poll (chatapp/live.py), as JSON text frames
``{"id", "type", "data"}``. The client opens ``/chats/<id>/ws?fmt=html|json`` and first sends
``{"type": "resume", "after": "<last id seen>" | null}``, and gets ``{"type": "ready"}`` then the
events; it pings (``{"type": "ping"}``) every 25 s and gets ``{"type": "pong"}``, and may send
signals (``{"type": "typing", "on": true}``, ``{"type": "presence", "state": "away"}``). Sign-in, the
page's origin and the session's ownership are checked inside the handler, after the handshake,
so a refusal can say why in its close code:

- 4400 the client broke the protocol (bad JSON, no resume in time, unknown format or id);
- 4401 not signed in; 4403 opened from another site; 4404 no such session (or not yours);
- 4408 the client went silent (no ping for CLIENT_SILENCE seconds);
- 1012 the server process is stopping, 1013 Redis is unavailable: reconnect shortly.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from urllib.parse import urlsplit

import redis
from flask import Blueprint, request
from flask_login import current_user
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from werkzeug.exceptions import NotFound

from chatapp import live
from chatapp.chats import viewable_session
from chatapp.extensions import db
from chatapp.services import presence
from chatapp.services.redis_client import get_hub, get_redis
from chatapp.signals import BadSignal, apply_signal

bp = Blueprint("websocket", __name__)
sock = Sock()

RESUME_TIMEOUT = 10.0  # seconds the client has to say where to resume from
CLIENT_SILENCE = 60.0  # seconds without a frame from the client (it pings every 25 s)
KEEPALIVE = 15.0  # seconds between the server's wake-ups when nothing happens


class Refused(Exception):
    """The connection is closed with `code` and the `reason` the client is told."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def serve(ws, session_id: uuid.UUID) -> None:
    """The live events of a session the user may watch, over a WebSocket (registered for the
    pages here and for the API in chatapp/api/sessions.py)."""
    try:
        fmt = request.args.get("fmt", "json")
        _check_access(session_id)
        watcher = presence.Watcher.of(current_user, request.args.get("viewer"))
        db.session.remove()  # no SQL connection is held while streaming
        after = _resume_point(ws)
        live.check_arguments(fmt, after)
        r = get_redis()
        try:
            opening, subscription = live.start_watching(r, get_hub(), session_id, after, fmt,
                                                        watcher)
        except redis.RedisError as error:
            raise Refused(1013, "Live updates are unavailable for a moment.") from error
    except live.BadRequest as bad:
        ws.close(4400, str(bad))
        return
    except Refused as refused:
        ws.close(refused.code, refused.reason)
        return
    try:
        _Connection(ws, subscription, fmt, r, session_id, watcher).run(opening)
    finally:
        with contextlib.suppress(redis.RedisError):  # the entry expires by itself anyway
            presence.leave(r, session_id, watcher)


def _check_access(session_id: uuid.UUID) -> None:
    if not current_user.is_authenticated:
        raise Refused(4401, "Sign in again.")
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise Refused(4403, "This connection must come from chatapp's own pages.")
    try:
        viewable_session(session_id)
    except NotFound as missing:
        raise Refused(4404, "That chat does not exist, or it is not yours.") from missing


def _resume_point(ws) -> str | None:
    """The id the client resumes after (None: from a snapshot), from its first frame."""
    message = _parse(ws.receive(timeout=RESUME_TIMEOUT))
    if message is None or message.get("type") != "resume":
        raise Refused(4400, 'Send {"type": "resume", "after": <last event id or null>} first.')
    after = message.get("after")
    if after is not None and not isinstance(after, str):
        raise Refused(4400, "after must be an event id or null.")
    return after


def _parse(raw) -> dict | None:
    if raw is None:
        return None
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


class _Connection:
    """A live WebSocket: this greenlet sends the session's events, a second one reads the
    client's frames (pings, which renew its presence, and signals); whichever ends first ends
    the other."""

    def __init__(self, ws, subscription, fmt: str, r: redis.Redis, session_id: uuid.UUID,
                 watcher: presence.Watcher):
        self.ws = ws
        self.subscription = subscription
        self.fmt = fmt
        self.redis = r
        self.session_id = session_id
        self.watcher = watcher
        self._sending = threading.Lock()  # frames of both greenlets never interleave
        self._closing: tuple[int, str] | None = None

    def run(self, opening: list[live.Frame]) -> None:
        """Serve the connection until the client leaves, goes silent or the feed ends."""
        reader = threading.Thread(target=self._read, daemon=True)
        reader.start()
        try:
            self._send_raw({"type": "ready"})  # the client knows its socket delivers
            self._send(*opening)
            while True:
                batch = self.subscription.next_events(timeout=KEEPALIVE)
                if batch is None:
                    break
                self._send(*(live.to_frame(event, self.fmt) for event in batch))
        except ConnectionClosed:
            pass
        finally:
            self.subscription.close()
        code, reason = self._closing or self._why_the_feed_ended()
        self.ws.close(code, reason)

    def _read(self) -> None:
        try:
            while True:
                raw = self.ws.receive(timeout=CLIENT_SILENCE)
                if raw is None:
                    self._closing = (4408, "No ping from the client: reconnect.")
                    break
                message = _parse(raw)
                if message is None:
                    self._closing = (4400, "Frames must be JSON objects.")
                    break
                self._answer(message)
        except ConnectionClosed:
            self._closing = (1000, "")
        finally:
            self.subscription.end()

    def _answer(self, message: dict) -> None:
        try:
            if message.get("type") == "ping":
                live.keep_alive(self.redis, self.session_id, self.watcher)
                self._send_raw({"type": "pong"})
            else:
                apply_signal(self.redis, self.session_id, self.watcher, message)
        except BadSignal as bad:
            self._send_raw({"type": "error", "message": str(bad)})
        except redis.RedisError:
            pass  # the feed reports Redis trouble; a ping or a signal can be lost meanwhile

    def _why_the_feed_ended(self) -> tuple[int, str]:
        if get_hub().closed:
            return 1012, "The server is restarting: reconnect."
        return 1013, "Live updates are unavailable for a moment: reconnect."

    def _send(self, *frames: live.Frame) -> None:
        for frame in frames:
            self._send_raw(frame.as_dict())

    def _send_raw(self, message: dict) -> None:
        with self._sending:
            self.ws.send(json.dumps(message, separators=(",", ":")))


sock.route("/chats/<uuid:session_id>/ws", bp=bp)(serve)


def init_app(app) -> None:
    """Register the WebSocket route, with the protocol's own pings every 25 s."""
    app.config.setdefault("SOCK_SERVER_OPTIONS", {"ping_interval": 25})
    sock.init_app(app)
    app.register_blueprint(bp)
