"""Signals from the web process to a running reply job, through Redis."""

from __future__ import annotations

import redis

STOP_KEY = "chat:reply:{}:{}:stop"  # message id, attempt
STOP_TTL_SECONDS = 3600
ALIVE_KEY = "chat:reply:{}:alive"


def request_stop(r: redis.Redis, message_id: int, attempt: int) -> None:
    """Ask the job writing attempt `attempt` of reply `message_id` to stop (within a moment)."""
    r.set(stop_key(message_id, attempt), 1, ex=STOP_TTL_SECONDS)


def stop_key(message_id: int, attempt: int) -> str:
    """The Redis key that, once set, asks the job writing that attempt of the reply to stop."""
    return STOP_KEY.format(message_id, attempt)


def beat(r: redis.Redis, message_id: int, ttl: float) -> None:
    """Say that the job writing reply `message_id` is alive, for the next `ttl` seconds (`r` may
    be a pipeline, to beat for many replies at once)."""
    r.set(ALIVE_KEY.format(message_id), 1, px=int(ttl * 1000))


def is_alive(r: redis.Redis, message_id: int) -> bool:
    """True while the job writing reply `message_id` keeps beating."""
    return bool(r.exists(ALIVE_KEY.format(message_id)))


def end_beats(r: redis.Redis, message_id: int) -> None:
    """The job is over: forget its heartbeat."""
    r.delete(ALIVE_KEY.format(message_id))
