"""The exclusive lock of an administrator who took a session over, in Redis.

Key ``chat:session:<id>:takeover`` holds ``<admin id> <ttl> <admin name>``, set only if absent
(one holder at a time) with an expiry of `ttl` seconds. The holder's open live connection renews
it (see live.keep_alive): when that connection dies, the lock expires by itself and the
assistant answers again. While the lock is held the assistant starts no reply in the session.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

LOCK_KEY = "chat:session:{}:takeover"
# Every session taken over, and by whom: a lock that expired (its admin's connection died) is found
# there by `lapsed` and announced, since an expiry itself tells nobody.
HELD_KEY = "chat:takeovers"

# Renew the lock only for its holder, by the expiry it was taken with.
_RENEW_SCRIPT = """
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local holder, ttl = string.match(value, '^(%d+) (%d+) ')
if holder ~= ARGV[1] then return 0 end
return redis.call('EXPIRE', KEYS[1], ttl)
"""
# Release the lock only for its holder.
_RELEASE_SCRIPT = """
local value = redis.call('GET', KEYS[1])
if value and string.match(value, '^(%d+) ') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Holder:
    """The administrator holding a session."""

    id: int
    name: str


def acquire(r: redis.Redis, session_id, admin_id: int, name: str, ttl: int) -> Holder:
    """Take the lock for `admin_id` if nobody holds it; the holder after the attempt (someone
    else when the lock was taken already: compare with `admin_id`)."""
    value = f"{admin_id} {int(ttl)} {name}"
    if r.set(LOCK_KEY.format(session_id), value, nx=True, ex=int(ttl)):
        r.hset(HELD_KEY, str(session_id), f"{admin_id} {name}")
        return Holder(admin_id, name)
    return holder(r, session_id) or acquire(r, session_id, admin_id, name, ttl)  # just expired


def holder(r: redis.Redis, session_id) -> Holder | None:
    """Who holds the session now, if anyone."""
    value = r.get(LOCK_KEY.format(session_id))
    if value is None:
        return None
    admin_id, _ttl, name = (value.decode() if isinstance(value, bytes) else value).split(" ", 2)
    return Holder(int(admin_id), name)


def renew(r: redis.Redis, session_id, user_id: int) -> bool:
    """Extend the lock by its expiry if `user_id` holds it; True when they do."""
    return bool(r.eval(_RENEW_SCRIPT, 1, LOCK_KEY.format(session_id), str(user_id)))


def release(r: redis.Redis, session_id, admin_id: int) -> bool:
    """Give the lock up if `admin_id` holds it; True when they did."""
    released = bool(r.eval(_RELEASE_SCRIPT, 1, LOCK_KEY.format(session_id), str(admin_id)))
    if released:
        r.hdel(HELD_KEY, str(session_id))
    return released


def lapsed(r: redis.Redis) -> list[tuple[str, Holder]]:
    """The sessions whose lock expired without being released, with who held it; each is
    returned once, to the one caller that claims it."""
    found = []
    for session_id, value in r.hgetall(HELD_KEY).items():
        session_id = session_id.decode() if isinstance(session_id, bytes) else session_id
        if r.exists(LOCK_KEY.format(session_id)) or not r.hdel(HELD_KEY, session_id):
            continue
        admin_id, name = (value.decode() if isinstance(value, bytes) else value).split(" ", 1)
        found.append((session_id, Holder(int(admin_id), name)))
    return found
