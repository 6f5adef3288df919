"""Replies under a misbehaving model: retries, timeouts, and many replies at once in one worker."""

from rq import Queue
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

from chatapp.services.redis_client import get_redis
from tests.conftest import messages_of, new_chat, send

FAST_RETRIES = {"CHATAPP_LLM_RETRY_BASE_DELAY": "0.05"}


def test_retryable_failures_before_the_first_token_are_retried(client, consultant, app, llm,
                                                               run_worker):
    llm.reset(fail_status=503, fail_times=2)
    chat = new_chat(client)
    send(client, chat, "Hello")
    assert run_worker(env=FAST_RETRIES).wait(60) == 0
    reply = messages_of(app, chat)[1]
    assert (reply.status, reply.content) == ("done", "Hello from the fake model.")
    assert len(llm.requests) == 3


def test_retries_are_bounded(client, consultant, app, llm, run_worker):
    llm.reset(fail_status=503)
    chat = new_chat(client)
    send(client, chat, "Hello")
    assert run_worker(env={**FAST_RETRIES, "CHATAPP_LLM_RETRIES": "1"}).wait(60) == 0
    reply = messages_of(app, chat)[1]
    assert reply.status == "failed" and reply.meta["retryable"] is True
    assert len(llm.requests) == 2


def test_errors_that_retrying_cannot_fix_are_not_retried(client, consultant, app, llm, run_worker):
    llm.reset(fail_status=401)
    chat = new_chat(client)
    send(client, chat, "Hello")
    assert run_worker(env=FAST_RETRIES).wait(60) == 0
    reply = messages_of(app, chat)[1]
    assert reply.meta == {"error": "The language model service refused chatapp's credentials.",
                          "retryable": False}
    assert len(llm.requests) == 1


def test_first_token_timeout(client, consultant, app, llm, run_worker):
    llm.reset(first_delay=5)
    chat = new_chat(client)
    send(client, chat, "Hello")
    env = {"CHATAPP_LLM_FIRST_TOKEN_TIMEOUT": "1", "CHATAPP_LLM_RETRIES": "0"}
    assert run_worker(env=env).wait(60) == 0
    reply = messages_of(app, chat)[1]
    assert reply.status == "failed" and reply.content == ""
    assert reply.meta["error"] == "The language model did not start answering within 1 s."


def test_idle_timeout_keeps_the_text_so_far(client, consultant, app, llm, run_worker):
    llm.reset(stall_after=3)  # then only SSE comments, which do not count as progress
    chat = new_chat(client)
    send(client, chat, "Hello")
    assert run_worker(env={"CHATAPP_LLM_IDLE_TIMEOUT": "1"}).wait(60) == 0
    reply = messages_of(app, chat)[1]
    assert (reply.status, reply.content) == ("failed", "Hello from the")
    assert reply.meta == {"error": "The language model stopped answering for 1 s.", "retryable": True,
                          "first_token_ms": reply.meta["first_token_ms"]}


def test_one_llm_worker_writes_many_replies_at_once(client, consultant, app, llm, run_worker):
    llm.reset(tokens=[f" w{i}" for i in range(10)], delay=0.2)
    chats = [new_chat(client) for _ in range(12)]
    for chat in chats:
        send(client, chat, "In parallel please")
    assert run_worker("llm").wait(120) == 0
    assert llm.max_active >= 10  # the replies were streamed side by side, not one after another
    for chat in chats:
        assert messages_of(app, chat)[1].status == "done"
    with app.app_context():
        queue = Queue("llm", connection=get_redis())
        finished = FinishedJobRegistry(queue=queue).get_job_ids()
        assert len([job_id for job_id in finished if job_id.startswith("reply-")]) == 12
        assert len([job_id for job_id in finished if job_id.startswith("title-")]) == 12
        assert StartedJobRegistry(queue=queue).count == 0
        assert FailedJobRegistry(queue=queue).count == 0


def test_jobs_taken_together_but_not_started_are_given_back_in_order(app):
    from worker.greenlets import GreenletWorker  # gevent's pool works without patching here

    with app.app_context():
        r = get_redis()
        queue = Queue("llm", connection=r)
        jobs = [queue.enqueue("chatapp.services.prompt.build_messages", i) for i in range(3)]
        worker = GreenletWorker([queue], connection=r, concurrency=10)
        first, _ = worker.dequeue_job_and_maintain_ttl(timeout=1)
        assert first.id == jobs[0].id and queue.count == 0  # the other two were taken with it
        worker.teardown()  # stops before starting them
        assert queue.job_ids == [jobs[1].id, jobs[2].id]
        assert [job_id.decode() for job_id in r.lrange(queue.intermediate_queue_key, 0, -1)] \
            == [jobs[0].id]
        second, _ = GreenletWorker([queue], connection=r, concurrency=1) \
            .dequeue_job_and_maintain_ttl(timeout=1)
        assert second.id == jobs[1].id
