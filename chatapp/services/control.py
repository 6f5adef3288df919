"""Signals from the web process to a running reply job, through Redis."""

from __future__ import annotations

import redis

STOP_KEY = "chat:reply:{}:stop"
STOP_TTL_SECONDS = 3600


def request_stop(r: redis.Redis, message_id: int) -> None:
    """Ask the job writing reply `message_id` to stop (it checks between chunks)."""
    r.set(STOP_KEY.format(message_id), 1, ex=STOP_TTL_SECONDS)


def stop_requested(r: redis.Redis, message_id: int) -> bool:
    """True once a stop was asked for reply `message_id`."""
    return bool(r.exists(STOP_KEY.format(message_id)))
