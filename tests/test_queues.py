"""Separate queues: replies (llm) have a worker process of their own, so a chat reply is written
while the media and notify queues are full of slow jobs."""

from __future__ import annotations

import redis
from rq.registry import StartedJobRegistry

from chatapp.services.jobs import MEDIA_QUEUE, NOTIFY_QUEUE, queue
from tests.conftest import messages_of, new_chat, send
from tests.services import wait_for

RELEASE = "test:queues:release"
HELD = 3  # jobs on each of media and notify


def test_a_reply_is_written_while_media_and_notify_jobs_wait(app, client, consultant, llm,
                                                             run_worker, redis_url):
    with app.app_context():
        slow = [queue(name) for name in (MEDIA_QUEUE, NOTIFY_QUEUE)]
        for rq_queue in slow:
            for _ in range(HELD):
                rq_queue.enqueue("tests.jobs.hold", RELEASE, job_timeout=120)
    run_worker("llm", "default", "notify", "media", burst=False)  # as `make run` starts them
    try:
        with app.app_context():
            wait_for(lambda: sum(StartedJobRegistry(queue=q).count for q in slow) == 1, 30,
                     "the other queues' worker to be busy with a held job")
        chat = new_chat(client)
        assert send(client, chat, "Hello").status_code == 303
        wait_for(lambda: messages_of(app, chat)[-1].status == "done", 30, "the reply")
        assert messages_of(app, chat)[-1].content == "Hello from the fake model."
        with app.app_context():
            # The reply did not wait for them: all but the one held job are still queued.
            assert sum(q.count for q in slow) == 2 * HELD - 1
            assert sum(StartedJobRegistry(queue=q).count for q in slow) == 1
    finally:
        redis.Redis.from_url(redis_url).rpush(RELEASE, *range(2 * HELD))
