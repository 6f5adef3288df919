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

from chatapp.services.events import NOTIFY_CHANNEL, publish_signal

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


# One round trip per change: set and drop the caller's entries, prune the expired ones, work out
# the user's state (online over away) and tell the session's viewers (see events.publish_signal).
_CHANGE_SCRIPT = """
local key, now, user = KEYS[1], tonumber(ARGV[1]), ARGV[5]
if ARGV[2] ~= '' then redis.call('HSET', key, ARGV[2], ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HDEL', key, ARGV[4]) end
redis.call('EXPIRE', key, ARGV[6])
local best = 'offline'
local entries = redis.call('HGETALL', key)
for i = 1, #entries, 2 do
  local state, untl = string.match(entries[i + 1], '^(%S+) (%S+)')
  if tonumber(untl) < now then
    redis.call('HDEL', key, entries[i])
  elseif string.match(entries[i], '^(%d+):') == user and (best == 'offline' or state == 'online') then
    best = state
  end
end
local ttl = tonumber(ARGV[9])
if best == 'away' then ttl = tonumber(ARGV[10]) end
redis.call('PUBLISH', ARGV[7], cjson.encode({type = 'presence', data = {
  user_id = tonumber(user), name = ARGV[8], state = best, ttl = ttl}}))
return best
"""


def mark(r: redis.Redis, session_id, user: Watcher, state: str = "online") -> str:
    """Count `user`'s page as `state`: online while its live connection lasts (renewed within
    TTL), away for AWAY_TTL after its tab was hidden. Tells the viewers; returns the user's
    state now."""
    online, away = f"{user.id}:{user.viewer}", f"{user.id}:{user.viewer}:away"
    ttl = TTL if state == "online" else AWAY_TTL
    value = f"{state} {time.time() + ttl:.0f} {user.display_name}"
    if state == "online":
        return _change(r, session_id, user, put=(online, value), drop=away)
    return _change(r, session_id, user, put=(away, value), drop="")


def leave(r: redis.Redis, session_id, user: Watcher) -> str:
    """The page's live connection ended: it no longer counts as online (an away mark stays);
    tells the viewers, and returns the user's state now."""
    return _change(r, session_id, user, put=("", ""), drop=f"{user.id}:{user.viewer}")


def _change(r: redis.Redis, session_id, user: Watcher, *, put: tuple[str, str],
            drop: str) -> str:
    state = r.eval(_CHANGE_SCRIPT, 1, PRESENCE_KEY.format(session_id), f"{time.time():.0f}",
                   put[0], put[1], drop, user.id, AWAY_TTL, NOTIFY_CHANNEL.format(session_id),
                   user.display_name, TTL, AWAY_TTL)
    return state.decode() if isinstance(state, bytes) else state
