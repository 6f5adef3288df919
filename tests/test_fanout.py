"""Many viewers of one session: one Redis reader per web process, the same events for everyone."""

from __future__ import annotations

import threading
import uuid

import httpx
import redis

from chatapp.services.events import NOTIFY_CHANNEL
from chatapp.services.fanout import EventHub
from tests.services import wait_for
from tests.sse_client import after_ready, parse_sse

VIEWERS = 20


def session_listeners(redis_url: str, chat_url: str) -> int:
    """Pub/Sub subscriptions to the session's notify channel (one per web process that has
    viewers of it, however many viewers)."""
    session_id = chat_url.rstrip("/").rsplit("/", 1)[1]
    r = redis.Redis.from_url(redis_url)
    return dict(r.pubsub_numsub(NOTIFY_CHANNEL.format(session_id)))[
        NOTIFY_CHANNEL.format(session_id).encode()]


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
                for frame in after_ready(parse_sse(response.iter_lines())):
                    received[index].append((frame["id"], frame["data"]))
                    if frame.get("event") == "reply.done":
                        return

    threads = [threading.Thread(target=watch, args=(i,)) for i in range(VIEWERS)]
    for thread in threads:
        thread.start()
    connected.wait()
    wait_for(lambda: session_listeners(redis_url, chat) >= 1, 10, "the event hub to listen")
    assert session_listeners(redis_url, chat) <= 2  # gunicorn runs 2 worker processes for tests
    run_worker()
    for thread in threads:
        thread.join(60)
    assert all(not thread.is_alive() for thread in threads)
    first = received[0]
    assert first[-1][1].startswith('{"message_id"') and len(first) >= 4
    assert all(events == first for events in received)
    ids = [event_id for event_id, _ in first]
    assert len(ids) == len(set(ids))


def test_a_closed_hub_ends_every_feed_and_those_asked_for_later(redis_url):
    """What a stopping web worker does (deploy/gunicorn.conf.py): viewers' streams end at once,
    and a stream opened meanwhile ends at once too, so its client goes to a running worker."""
    hub = EventHub(redis.Redis.from_url(redis_url))
    watching = hub.subscribe(uuid.uuid4(), "0-0")
    hub.close()
    assert watching.next_events(timeout=5) is None
    assert hub.subscribe(uuid.uuid4(), "0-0").next_events(timeout=5) is None
