"""Rate limits count a sliding minute in Redis."""

import pytest

from chatapp.services import ratelimit
from chatapp.services.ratelimit import Limited


@pytest.fixture
def r(app):
    with app.app_context():
        from chatapp.services.redis_client import get_redis

        yield get_redis()


def test_a_burst_cannot_pass_twice_its_limit_across_a_window_edge(r):
    minute = 29_000_000 * 60
    for second in range(50, 60):  # ten requests at the end of one minute: all allowed
        ratelimit.hit(r, "test", "cara", 10, now=minute + second)
    with pytest.raises(Limited) as limited:  # the eleventh, just after the edge
        ratelimit.hit(r, "test", "cara", 10, now=minute + 61)
    # allowed again once the previous minute's share has fallen below the room left
    assert limited.value.retry_after == 5
    ratelimit.hit(r, "test", "cara", 10, now=minute + 66)


def test_requests_spread_over_minutes_are_never_limited(r):
    minute = 29_000_100 * 60
    for second in range(0, 300, 7):  # about 8.6 a minute against a limit of 10
        ratelimit.hit(r, "test", "dan", 10, now=minute + second)
