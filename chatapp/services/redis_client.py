"""Redis connections: one pool per process, sized by configuration.

Blocking stream reads (XREAD BLOCK) need a socket timeout longer than the block time; redis-py's
default timeout and retries would otherwise turn an idle wait into a minute-long hang.
"""

from __future__ import annotations

import redis
from flask import Flask, current_app

from chatapp.services.fanout import EventHub

BLOCKING_SOCKET_TIMEOUT = 60.0


def init_app(app: Flask) -> None:
    """Create the app's Redis client; connections are opened lazily from a bounded pool."""
    pool = redis.BlockingConnectionPool.from_url(
        app.config["REDIS_URL"],
        max_connections=app.config["REDIS_MAX_CONNECTIONS"],
        timeout=10,
        socket_timeout=BLOCKING_SOCKET_TIMEOUT,
        socket_connect_timeout=5,
        health_check_interval=30,
    )
    app.extensions["redis"] = redis.Redis(connection_pool=pool, decode_responses=False)
    app.extensions["event_hub"] = EventHub(app.extensions["redis"])


def get_redis(app: Flask | None = None) -> redis.Redis:
    """The Redis client of the given (or current) app."""
    return (app or current_app).extensions["redis"]


def get_hub(app: Flask | None = None) -> EventHub:
    """The process's reader of session event logs (see fanout.py)."""
    return (app or current_app).extensions["event_hub"]
