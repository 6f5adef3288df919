"""What every live transport (SSE, WebSocket, long-poll) sends: the same events, same ids.

A feed opens with what the client needs to be in step with the log, then follows it:
- no id to resume from: a `snapshot` of the replies in progress (their text so far), with the id
  of the last entry it covers;
- an id older than the log keeps (trimmed or expired): a `reset` (the client reloads the
  message list), likewise with the id to go on from;
- otherwise nothing: the events after that id follow.

Each event is rendered for the page (`fmt=html`: ready-to-swap fragments) or for scripts
(`fmt=json`: the event's data as it is in the log).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from flask import render_template
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

from chatapp.services import events, presence, takeover
from chatapp.services.fanout import EventHub, Subscription

FORMATS = ("html", "json")
MESSAGE_EVENTS = {"message.created", "message.updated", "reply.done", "reply.failed",
                  "reply.cancelled"}
HANDOFF_EVENTS = {"help.requested", "help.acknowledged", "help.cancelled", "admin.joined",
                  "admin.left", "ai.paused", "ai.resumed"}


@dataclass(frozen=True)
class Frame:
    """One event as a transport sends it: id, type and the data rendered for the format (a
    dict for JSON clients, an HTML string for the page)."""

    id: str
    type: str
    data: Any

    def as_dict(self) -> dict:
        """The frame as WebSocket and long-poll send it."""
        return {"id": self.id, "type": self.type, "data": self.data}


class BadRequest(ValueError):
    """A feed asked for with arguments that cannot be served."""


def check_arguments(fmt: str, after: str | None) -> None:
    """Raise BadRequest (with a message for the client) for an unknown format or a malformed id."""
    if fmt not in FORMATS:
        raise BadRequest("fmt must be 'html' or 'json'.")
    if after is not None and not events.is_valid_id(after):
        raise BadRequest("Last-Event-ID / after must be an event id like 1700000000000-0.")


def open_feed(r: redis.Redis, hub: EventHub, session_id: uuid.UUID, after: str | None,
              fmt: str, user_id: int) -> tuple[list[Frame], Subscription]:
    """The feed's opening frames (a snapshot or a reset when due) and its subscription to the
    events that follow them, and to the signals of users other than `user_id`. Raises
    redis.RedisError when Redis cannot be reached."""
    opening = []
    if after is None:
        after, partial = events.snapshot(r, session_id)
        opening.append(Frame(after, "snapshot", _snapshot_data(partial, fmt)))
    elif events.has_gap(r, session_id, after):
        after, partial = events.snapshot(r, session_id)
        opening.append(Frame(after, "reset", _snapshot_data(partial, "json")))
    return opening, hub.subscribe(session_id, after, user_id)


def start_watching(r: redis.Redis, hub: EventHub, session_id: uuid.UUID, after: str | None,
                   fmt: str, watcher: presence.Watcher) -> tuple[list[Frame], Subscription]:
    """What every transport does once its request is checked: open the feed for `watcher` and
    count them as online. Raises redis.RedisError when Redis cannot be reached."""
    if fmt == "html":
        generate_csrf()  # cached for the partials rendered while streaming
    opening, subscription = open_feed(r, hub, session_id, after, fmt, watcher.id)
    keep_alive(r, session_id, watcher)
    return opening, subscription


def keep_alive(r: redis.Redis, session_id: uuid.UUID, watcher: presence.Watcher) -> None:
    """A watcher's live connection is open: count them as online and, if they are the admin who
    took the session over, keep their lock (it expires once their connections stop)."""
    presence.mark(r, session_id, watcher)
    takeover.renew(r, session_id, watcher.id)


def to_frame(event: events.Event, fmt: str) -> Frame:
    """An event of the log (or a passing signal), rendered for `fmt`."""
    return Frame(event.id, event.type, _event_data(event, fmt))


def last_id(frames: list[Frame], before: str) -> str:
    """The id to resume after once `frames` were sent (signals carry none)."""
    return next((frame.id for frame in reversed(frames) if frame.id), before)


def _snapshot_data(partial: dict[int, str], fmt: str) -> Any:
    if fmt == "json":
        return {"replies": {str(k): v for k, v in partial.items()}}
    return "".join(
        f'<hx-partial hx-target="#msg-{message_id}-body" hx-swap="innerHTML">{escape(text)}'
        "</hx-partial>" for message_id, text in partial.items())


def _event_data(event: events.Event, fmt: str) -> Any:
    if fmt == "json" or event.type in events.SIGNAL_TYPES:  # the page shows signals itself
        return event.data
    if event.type == "reply.delta":
        return (f'<hx-partial hx-target="#msg-{int(event.data["message_id"])}-body" '
                f'hx-swap="beforeend">{escape(event.data["text"])}</hx-partial>')
    if event.type in MESSAGE_EVENTS:
        return render_template("chats/_upsert.html", messages=[event.data["message"]])
    if event.type == "session.updated":
        return _session_update(event.data)
    if event.type in HANDOFF_EVENTS:  # rendered for the watcher: owner or admin
        return ('<hx-partial hx-target="#handoff" hx-swap="outerHTML">'
                + render_template("chats/_handoff.html", state=event.data["state"], event=event)
                + "</hx-partial>")
    return ""


def _session_update(data: dict) -> str:
    """The chat header's regions a session.updated event changes: its name, its ended (or
    deleted) note."""
    html = ""
    if "name" in data:
        html += (f'<hx-partial hx-target="#chat-title" hx-swap="innerHTML">'
                 f'{escape(data["name"])}</hx-partial>')
    if "status" in data or "deleted" in data:
        ended_at = data.get("ended_at")
        state = {**data, "ended_at": ended_at and datetime.fromisoformat(ended_at)}
        html += (f'<hx-partial hx-target="#chat-ended" hx-swap="outerHTML">'
                 f'{render_template("chats/_ended.html", state=state)}</hx-partial>')
    return html


def as_text(data: Any) -> str:
    """Frame data as one text payload (SSE's `data:`): JSON for a dict, the HTML as it is."""
    return data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
