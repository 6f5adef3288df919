"""Signals from the web process to a running reply job, through Redis."""

from __future__ import annotations

import redis

STOP_KEY = "chat:reply:{}:{}:stop"  # message id, attempt
STOP_TTL_SECONDS = 3600
ALIVE_KEY = "chat:reply:{}:{}:alive"  # message id, attempt


def request_stop(r: redis.Redis, message_id: int, attempt: int) -> None:
    """Ask the job writing attempt `attempt` of reply `message_id` to stop (within a moment)."""
    r.set(stop_key(message_id, attempt), 1, ex=STOP_TTL_SECONDS)


def stop_key(message_id: int, attempt: int) -> str:
    """The Redis key that, once set, asks the job writing that attempt of the reply to stop."""
    return STOP_KEY.format(message_id, attempt)


def beat(r: redis.Redis, message_id: int, attempt: int, ttl: float) -> None:
    """Say that the job writing attempt `attempt` of reply `message_id` is alive, for the next
    `ttl` seconds (`r` may be a pipeline, to beat for many replies at once)."""
    r.set(ALIVE_KEY.format(message_id, attempt), 1, px=int(ttl * 1000))


def silent(r: redis.Redis, replies: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (message id, attempt) pairs among `replies` whose job stopped beating (one round trip
    for all)."""
    if not replies:
        return []
    beats = r.mget([ALIVE_KEY.format(*reply) for reply in replies])
    return [reply for reply, beat in zip(replies, beats, strict=True) if beat is None]


def end_beats(r: redis.Redis, message_id: int, attempt: int) -> None:
    """The job writing that attempt is over: forget its heartbeat."""
    r.delete(ALIVE_KEY.format(message_id, attempt))
