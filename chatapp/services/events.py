"""The per-session event log: a Redis Stream read by every live transport.

Key ``chat:session:<id>:events`` holds entries ``{type, data}`` (data is JSON); the entry id is the
event id. Beside it, the hash ``chat:session:<id>:partial`` lists the replies in progress and the
string ``chat:session:<id>:partial:<message id>`` holds each one's text so far, appended to in the
same transaction as the reply's events (a delta costs its own size, not the reply's), so a snapshot
(texts so far + the id they cover) is always consistent with the log that follows it. Every
append also publishes an empty message on ``chat:session:<id>:notify``, so readers learn which
logs to read; passing events that are not logged (typing, presence) travel on that channel
themselves (publish_signal).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from chatapp.services.control import stop_key

EVENTS_KEY = "chat:session:{}:events"
PARTIAL_KEY = "chat:session:{}:partial"  # hash: message id -> "1" while the reply is in progress
PARTIAL_TEXT_KEY = PARTIAL_KEY + ":{}"  # string: the reply's text so far
NOTIFY_CHANNEL = "chat:session:{}:notify"  # Pub/Sub: "the log has new entries" (see fanout.py)


@dataclass(frozen=True)
class Event:
    """One entry of a session's log."""

    id: str
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class LogSettings:
    """How long and how far back the log is kept."""

    maxlen: int = 10000
    ttl_seconds: int = 86400

    @classmethod
    def from_config(cls, config: dict) -> LogSettings:
        """Read STREAM_MAXLEN and STREAM_TTL_SECONDS."""
        return cls(config["STREAM_MAXLEN"], config["STREAM_TTL_SECONDS"])


def _xadd(pipe, session_id, settings: LogSettings, type_: str, data: dict) -> None:
    key = EVENTS_KEY.format(session_id)
    fields = {"type": type_, "data": json.dumps(data, separators=(",", ":"))}
    pipe.xadd(key, fields, maxlen=settings.maxlen, approximate=True)
    pipe.expire(key, settings.ttl_seconds)
    pipe.publish(NOTIFY_CHANNEL.format(session_id), b"")


def append(r: redis.Redis, session_id, type_: str, data: dict, settings=LogSettings()) -> str:
    """Append one event and return its id."""
    return append_many(r, session_id, [(type_, data)], settings)[-1]


def append_many(r: redis.Redis, session_id, events: list[tuple[str, dict]],
                settings=LogSettings(), *, replies_started: tuple[int, ...] = (),
                also: Callable[[redis.client.Pipeline], object] | None = None) -> list[str]:
    """Append several events atomically and return their ids; mark `replies_started` as in
    progress (empty text); `also(pipeline)` adds commands of its own to the same transaction
    (one round trip for all)."""
    with r.pipeline(transaction=True) as pipe:
        pipe.multi()  # explicitly: commands that `also` adds (RQ's enqueue) expect it
        for message_id in replies_started:
            pipe.hset(PARTIAL_KEY.format(session_id), str(message_id), "1")
            pipe.expire(PARTIAL_KEY.format(session_id), settings.ttl_seconds)
            pipe.set(PARTIAL_TEXT_KEY.format(session_id, message_id), "", ex=settings.ttl_seconds)
        positions = []
        for type_, data in events:
            positions.append(len(pipe))
            _xadd(pipe, session_id, settings, type_, data)
        if also is not None:
            also(pipe)
        results = pipe.execute()
    return [_decode(results[position]) for position in positions]


# Refused (nil) once the attempt was asked to stop: after a Stop, or once the orphan reaper gave up
# on a worker that only looked dead, no stray text of that attempt reaches the log. Sent with EVAL
# (Redis caches it): EVALSHA would need a check for a Redis restarted since, a round trip more.
_DELTA_SCRIPT = " ".join("""
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
redis.call('APPEND', KEYS[2], ARGV[1])
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'type', 'reply.delta',
                      'data', ARGV[2])
redis.call('PUBLISH', ARGV[4], '')
return id
""".split())


def add_delta(pipe, session_id, message_id: int, attempt: int, text: str,
              settings=LogSettings()) -> None:
    """Add to transaction `pipe`: a reply.delta event and `text` appended to the reply's text so
    far, unless this attempt of the reply was asked to stop (the writer batches many replies'
    deltas in one transaction, see worker/redis_batch.py). The expiries were set when the reply
    started and are set again when it ends."""
    data = json.dumps({"message_id": message_id, "text": text}, separators=(",", ":"))
    pipe.eval(_DELTA_SCRIPT, 3, stop_key(message_id, attempt),
              PARTIAL_TEXT_KEY.format(session_id, message_id), EVENTS_KEY.format(session_id),
              text, data, settings.maxlen, NOTIFY_CHANNEL.format(session_id))


def end_reply(r: redis.Redis, session_id, message_id: int, type_: str, data: dict,
              settings=LogSettings()) -> str:
    """Append a reply's final event (done, failed, cancelled) and forget its text so far."""
    with r.pipeline(transaction=True) as pipe:
        pipe.hdel(PARTIAL_KEY.format(session_id), str(message_id))
        pipe.delete(PARTIAL_TEXT_KEY.format(session_id, message_id))
        _xadd(pipe, session_id, settings, type_, data)
        results = pipe.execute()
    return _decode(results[2])


# The last entry of the log, then message id and text so far of each reply in progress.
_SNAPSHOT_SCRIPT = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local texts = {}
for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do
  texts[#texts + 1] = id
  texts[#texts + 1] = redis.call('GET', KEYS[2] .. ':' .. id) or ''
end
return {last, texts}
"""


def snapshot(r: redis.Redis, session_id) -> tuple[str, dict[int, str]]:
    """The last event id and the text so far of every reply in progress, read atomically.

    The id is ``0-0`` when the log is empty: everything appended later comes after it.
    """
    script = r.register_script(_SNAPSHOT_SCRIPT)
    last, texts = script(keys=[EVENTS_KEY.format(session_id), PARTIAL_KEY.format(session_id)])
    last_id = _decode(last[0][0]) if last else "0-0"
    return last_id, {int(texts[i]): _decode(texts[i + 1]) for i in range(0, len(texts), 2)}


SIGNAL_TYPES = ("typing", "presence")


def publish_signal(r: redis.Redis, session_id, type_: str, data: dict) -> None:
    """Send a passing event (typing, presence) to the session's live viewers without logging it:
    it goes out on the notify channel itself, reaches only the viewers connected now and is never
    replayed. Viewers get it with an empty id."""
    r.publish(NOTIFY_CHANNEL.format(session_id),
              json.dumps({"type": type_, "data": data}, separators=(",", ":")))


def is_valid_id(event_id: str) -> bool:
    """True for a stream id of the form ``<ms>-<seq>`` (or a bare ``<ms>``)."""
    head, _, tail = event_id.partition("-")
    return head.isdigit() and (tail == "" or tail.isdigit()) and len(event_id) <= 41


def id_key(event_id: str) -> tuple[int, int]:
    """An event id as a sortable (milliseconds, sequence) pair."""
    head, _, tail = event_id.partition("-")
    return int(head), int(tail or 0)


def has_gap(r: redis.Redis, session_id, after_id: str) -> bool:
    """True when entries after `after_id` may have been trimmed or expired from the log."""
    if id_key(after_id) == (0, 0):
        return False
    first = r.xrange(EVENTS_KEY.format(session_id), count=1)
    if not first:
        return True  # the log expired since the client saw it
    return id_key(_decode(first[0][0])) > id_key(after_id)


def read(r: redis.Redis, session_id, after_id: str, block_ms: int | None,
         count: int = 500) -> list[Event]:
    """Events after `after_id`, waiting up to `block_ms` for the first one (None: do not wait)."""
    key = EVENTS_KEY.format(session_id)
    reply = r.xread({key: after_id}, count=count, block=block_ms)
    if not reply:
        return []
    return [to_event(entry_id, fields) for entry_id, fields in reply[0][1]]


def to_event(entry_id, fields) -> Event:
    """An Event from a raw stream entry."""
    fields = {_decode(k): _decode(v) for k, v in fields.items()}
    return Event(_decode(entry_id), fields["type"], json.loads(fields["data"]))


def read_range(r: redis.Redis, session_id, after_id: str, until_id: str,
               count: int = 10000) -> list[Event]:
    """Events after `after_id` up to and including `until_id`."""
    entries = r.xrange(EVENTS_KEY.format(session_id), min=f"({after_id}", max=until_id, count=count)
    return [to_event(entry_id, fields) for entry_id, fields in entries]


def _decode(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
