"""Request rate limits, counted in Redis so every process shares them (fixed one-minute windows).

Signing in is limited per address and email (password guessing); API calls per user. A request
over its limit gets 429 with Retry-After: the seconds left in the window.
"""

from __future__ import annotations

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


def hit(r: redis.Redis, what: str, who: str, per_minute: int) -> None:
    """Count one request of `who` for `what`; Limited when that makes more than `per_minute`.
    When Redis cannot be reached, nothing is limited (the request itself will say so if it
    needs Redis)."""
    now = time.time()
    window = int(now // WINDOW)
    key = KEY.format(what, who, window)
    try:
        with r.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, WINDOW + 1)
            count = pipe.execute()[0]
    except redis.RedisError:
        return
    if count > per_minute:
        raise Limited(max(1, int((window + 1) * WINDOW - now)))


def refusal(what: str, who: str, per_minute: int):
    """None within the limit, else the 429 answer to give (JSON, a fragment or a page)."""
    try:
        hit(get_redis(), what, who, per_minute)
    except Limited as limited:
        return error_response(429, f"Too many requests: try again in {limited.retry_after} s.",
                              headers={"Retry-After": str(limited.retry_after)})
    return None
