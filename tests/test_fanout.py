"""Many viewers of one session: one Redis reader per web process, the same events for everyone."""

from __future__ import annotations

import threading

import httpx
import redis

from tests.services import wait_for
from tests.sse_client import parse_sse

VIEWERS = 20


def blocked_readers(redis_url: str) -> int:
    """Connections of the test database waiting in XREAD right now."""
    r = redis.Redis.from_url(redis_url)
    db = r.connection_pool.connection_kwargs.get("db", 0)
    return sum(1 for c in r.client_list()
               if c["cmd"] == "xread" and "b" in c["flags"] and int(c["db"]) == db)


def test_many_viewers_share_one_reader_per_process(live_chat, live_server, llm, run_worker,
                                                   redis_url):
    web, chat = live_chat
    llm.reset(tokens=[f" w{i}" for i in range(40)], delay=0.02)
    received: list[list[tuple[str, str]]] = [[] for _ in range(VIEWERS)]
    connected = threading.Barrier(VIEWERS + 1, timeout=30)

    def watch(index: int) -> None:
        with httpx.Client(base_url=live_server, cookies=web.cookies, timeout=30) as viewer:
            with viewer.stream("GET", chat + "/events?after=0-0") as response:
                connected.wait()
                for frame in parse_sse(response.iter_lines()):
                    received[index].append((frame["id"], frame["data"]))
                    if frame.get("event") == "reply.done":
                        return

    threads = [threading.Thread(target=watch, args=(i,)) for i in range(VIEWERS)]
    for thread in threads:
        thread.start()
    connected.wait()
    wait_for(lambda: blocked_readers(redis_url) >= 1, 10, "the event hub to read")
    assert blocked_readers(redis_url) <= 2  # gunicorn runs 2 worker processes for the tests
    run_worker()
    for thread in threads:
        thread.join(60)
    assert all(not thread.is_alive() for thread in threads)
    first = received[0]
    assert first[-1][1].startswith('{"message_id"') and len(first) >= 4
    assert all(events == first for events in received)
    ids = [event_id for event_id, _ in first]
    assert len(ids) == len(set(ids))
