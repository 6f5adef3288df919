"""Request rate limits, counted in Redis so every process shares them (a sliding minute: this
minute's count plus the part of the previous minute's still inside the last 60 seconds, so a
burst cannot get twice its limit through across a window's edge).

Signing in is limited per address and email (password guessing); API calls per user. A request
over its limit gets 429 with Retry-After: the seconds left in the window.
"""

from __future__ import annotations

import contextlib
import math
import time

import redis

from chatapp.errors import error_response
from chatapp.services.redis_client import get_redis

KEY = "chat:rate:{}:{}:{}"  # what is limited, by whom, window number
WINDOW = 60  # seconds


class Limited(Exception):
    """Over the limit: retry after `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def hit(r: redis.Redis, what: str, who: str, per_minute: int, now: float | None = None) -> None:
    """Count one request of `who` for `what` at `now` (default: the time); Limited when that
    makes more than `per_minute` in the last minute. When Redis cannot be reached, nothing is
    limited (the request itself will say so if it needs Redis)."""
    now = time.time() if now is None else now
    window, elapsed = divmod(now / WINDOW, 1)
    key = KEY.format(what, who, int(window))
    try:
        with r.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, 2 * WINDOW + 1)
            pipe.get(KEY.format(what, who, int(window) - 1))
            current, _, previous = pipe.execute()
    except redis.RedisError:
        return
    previous = int(previous or 0)
    if current + previous * (1 - elapsed) > per_minute:
        with contextlib.suppress(redis.RedisError):
            r.decr(key)  # a refused request does not count: Retry-After stays true
        # the moment the previous minute's share has fallen enough, or the next minute starts
        enough = 1 - (per_minute - current) / previous if previous and current <= per_minute else 1
        raise Limited(max(1, math.ceil(round((enough - elapsed) * WINDOW, 3))))


def refusal(what: str, who: str, per_minute: int):
    """None within the limit, else the 429 answer to give (JSON, a fragment or a page)."""
    try:
        hit(get_redis(), what, who, per_minute)
    except Limited as limited:
        return error_response(429, f"Too many requests: try again in {limited.retry_after} s.",
                              headers={"Retry-After": str(limited.retry_after)})
    return None
