"""Who is looking at a session: online (a live connection open), away (the tab hidden), offline.

Each page (or client) watching live counts for its user while its connection lasts: an entry in
the hash ``chat:session:<id>:presence``, field ``<user id>:<viewer id>``, value
``<state> <until> <name>``, renewed while the connection lives and dropped when it ends; a hidden
tab leaves an away entry (``<user id>:<viewer id>:away``) before it disconnects. A connection
that dies without ending (its process killed) simply passes its `until`. A user's
state is the best of their entries (online over away). Every change, and every renewal, goes to
the session's viewers as a `presence` signal carrying a `ttl`: a viewer that hears nothing more
within it shows the user offline, so no one has to announce a death.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass

import redis

from chatapp.services.events import publish_signal

PRESENCE_KEY = "chat:session:{}:presence"
TTL = 40  # seconds an entry counts without being renewed
RENEW_EVERY = 15  # seconds between renewals of a live connection's entry
AWAY_TTL = 300  # seconds "away" lasts after the tab was hidden (its connection closed meanwhile)
STATES = ("online", "away")
_VIEWER_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
TYPING_TTL = 6  # seconds a typing indicator lasts unless renewed (clients renew every 3 s)


def typing(r: redis.Redis, session_id, user, on: bool) -> None:
    """Tell the session's viewers that `user` started or stopped typing."""
    publish_signal(r, session_id, "typing", {"user_id": user.id, "name": user.display_name,
                                             "on": on, "ttl": TYPING_TTL})


@dataclass(frozen=True)
class Watcher:
    """A signed-in user watching through one page (or client), as presence counts them."""

    id: int
    display_name: str
    viewer: str  # the page's id for itself (one per page load)

    @classmethod
    def of(cls, user, viewer: str | None) -> Watcher:
        """The current user through page `viewer` (a fresh id when none or a malformed one)."""
        return cls(user.id, user.display_name, viewer_id(viewer))


def viewer_id(raw: str | None) -> str:
    """The id a page gives itself (letters, digits, - and _, 8 to 64), or a new one."""
    return raw if raw and _VIEWER_ID.match(raw) else uuid.uuid4().hex


def mark(r: redis.Redis, session_id, user: Watcher, state: str = "online") -> None:
    """Count `user`'s page as `state`: online while its live connection lasts (renewed within
    TTL), away for AWAY_TTL after its tab was hidden. Tells the viewers."""
    key = PRESENCE_KEY.format(session_id)
    now = time.time()
    online, away = f"{user.id}:{user.viewer}", f"{user.id}:{user.viewer}:away"
    ttl = TTL if state == "online" else AWAY_TTL
    with r.pipeline(transaction=False) as pipe:
        pipe.hset(key, online if state == "online" else away,
                  f"{state} {now + ttl:.0f} {user.display_name}")
        if state == "online":
            pipe.hdel(key, away)
        pipe.expire(key, AWAY_TTL)
        pipe.execute()
    _announce(r, session_id, user.id, user.display_name)


def leave(r: redis.Redis, session_id, user: Watcher) -> None:
    """The page's live connection ended: it no longer counts as online (an away mark stays);
    tell the viewers the user's state now."""
    r.hdel(PRESENCE_KEY.format(session_id), f"{user.id}:{user.viewer}")
    _announce(r, session_id, user.id, user.display_name)


def state_of(r: redis.Redis, session_id, user_id: int) -> str:
    """online, away or offline: the best live entry of the user (expired ones are pruned)."""
    key = PRESENCE_KEY.format(session_id)
    now = time.time()
    best, expired = "offline", []
    for field, value in r.hgetall(key).items():
        field = field.decode()
        state, until, _name = value.decode().split(" ", 2)
        if float(until) < now:
            expired.append(field)
        elif field.split(":", 1)[0] == str(user_id) and (best == "offline" or state == "online"):
            best = state
    if expired:
        r.hdel(key, *expired)
    return best


def _announce(r: redis.Redis, session_id, user_id: int, name: str) -> None:
    state = state_of(r, session_id, user_id)
    publish_signal(r, session_id, "presence", {
        "user_id": user_id, "name": name, "state": state,
        "ttl": AWAY_TTL if state == "away" else TTL})
