"""Real processes killed mid-reply: nothing stays pending or streaming for ever."""

import logging
import signal

from rq.job import Job, JobStatus
from sqlalchemy import event

import worker
from chatapp.extensions import db
from chatapp.services import control, events, jobs
from chatapp.services.redis_client import get_redis
from tests.conftest import messages_of, new_chat, send
from tests.services import wait_for
from worker.maintenance import quiet_upkeep_in_rq_log, reap_orphan_replies

QUICK_HEARTBEAT = {"CHATAPP_REPLY_HEARTBEAT_TTL": "2", "CHATAPP_REAPER_INTERVAL": "1"}


def log_of(app, session_id):
    with app.app_context():
        return events.read(get_redis(), session_id, "0-0", None, count=10000)


def status_of(app, chat):
    return messages_of(app, chat)[1].status


def test_worker_killed_mid_reply_ends_it_failed_with_its_text(client, consultant, app, llm,
                                                              run_worker):
    llm.reset(tokens=[f" w{i}" for i in range(200)], delay=0.1)
    chat = new_chat(client)
    send(client, chat, "A long answer please")
    llm_worker = run_worker("llm", burst=False, env=QUICK_HEARTBEAT)
    reply_id = messages_of(app, chat)[1].id
    session_id = messages_of(app, chat)[1].session_id
    wait_for(lambda: sum(e.type == "reply.delta" for e in log_of(app, session_id)) >= 3, 30,
             "the first tokens")
    llm_worker.send_signal(signal.SIGKILL)
    llm_worker.wait(10)
    run_worker("default", burst=False, env=QUICK_HEARTBEAT)  # runs the periodic orphan check
    wait_for(lambda: status_of(app, chat) == "failed", 30, "the orphaned reply to be failed")
    reply = messages_of(app, chat)[1]
    streamed = "".join(e.data["text"] for e in log_of(app, session_id) if e.type == "reply.delta")
    assert reply.id == reply_id and reply.content == streamed and streamed.startswith(" w0 w1 w2")
    assert reply.meta["retryable"] is True and "interrupted" in reply.meta["error"]
    assert log_of(app, session_id)[-1].type == "reply.failed"
    page = client.get(chat).get_data(as_text=True)
    assert "interrupted" in page and ">Retry</button>" in page


def test_worker_killed_before_the_first_token_runs_the_reply_again(client, consultant, app, llm,
                                                                   run_worker):
    llm.reset(first_delay=30)
    chat = new_chat(client)
    send(client, chat, "Hello")
    llm_worker = run_worker("llm", burst=False, env=QUICK_HEARTBEAT)
    wait_for(lambda: status_of(app, chat) == "streaming" and llm.requests, 30, "the model call")
    llm_worker.send_signal(signal.SIGKILL)
    llm_worker.wait(10)
    llm.reset()
    run_worker("llm", "default", burst=False, env=QUICK_HEARTBEAT)
    wait_for(lambda: status_of(app, chat) == "done", 30, "the reply to be written again")
    reply = messages_of(app, chat)[1]
    assert reply.content == "Hello from the fake model." and reply.meta["attempt"] == 1
    types = [e.type for e in log_of(app, reply.session_id)]
    assert types.count("message.updated") == 1 and types[-1] == "reply.done"
    assert len(messages_of(app, chat)) == 2


def test_frozen_worker_cannot_write_over_the_reply_run_again(client, consultant, app, llm,
                                                            run_worker):
    """A worker that only looked dead (frozen past its heartbeat) is superseded: when it wakes,
    its late text is refused and its end dropped, so the re-run's reply stands as it was."""
    llm.reset(tokens=[" stale"] * 5, first_delay=3)
    chat = new_chat(client)
    send(client, chat, "Hello")
    # one reply at a time: a frozen worker waiting for a job would be handed the re-run by Redis
    frozen = run_worker("llm", burst=False, env={**QUICK_HEARTBEAT, "CHATAPP_LLM_CONCURRENCY": "1"})
    wait_for(lambda: status_of(app, chat) == "streaming" and llm.requests, 30, "the model call")
    frozen.send_signal(signal.SIGSTOP)
    try:
        llm.reset(tokens=["Fresh", " answer."])
        run_worker("llm", "default", burst=False, env=QUICK_HEARTBEAT)
        wait_for(lambda: status_of(app, chat) == "done", 30, "the reply to be written again")
    finally:
        frozen.send_signal(signal.SIGCONT)
    reply = messages_of(app, chat)[1]
    with app.app_context():
        old_job = Job.fetch(jobs.reply_job_id(reply.id, 0), connection=get_redis())
    wait_for(lambda: old_job.get_status(refresh=True) == JobStatus.FINISHED, 30,
             "the woken worker to end its superseded attempt")
    log = log_of(app, reply.session_id)
    reply = messages_of(app, chat)[1]
    assert reply.status == "done" and reply.attempt == 1 and reply.content == "Fresh answer."
    assert "".join(e.data["text"] for e in log if e.type == "reply.delta") == "Fresh answer."
    assert log[-1].type == "reply.done"


def test_a_reply_saved_without_its_job_is_run_again_at_the_second_check(client, consultant, app,
                                                                         llm, run_worker):
    chat = new_chat(client)
    send(client, chat, "Hello")
    reply = messages_of(app, chat)[1]
    with app.app_context():  # as if the web process died between saving the reply and queueing
        Job.fetch(jobs.reply_job_id(reply.id, 0), connection=get_redis()).delete()

    def one_orphan_check():
        with app.app_context():
            jobs.queue(jobs.DEFAULT_QUEUE).enqueue("worker.maintenance.reap_orphan_replies")
        assert run_worker("default", env=QUICK_HEARTBEAT).wait(60) == 0

    one_orphan_check()  # a web process may be between the two steps: not an orphan yet
    assert (messages_of(app, chat)[1].status, messages_of(app, chat)[1].attempt) == ("pending", 0)
    one_orphan_check()
    assert messages_of(app, chat)[1].attempt == 1
    assert run_worker("llm", env=QUICK_HEARTBEAT).wait(60) == 0
    reply = messages_of(app, chat)[1]
    assert (reply.status, reply.content) == ("done", "Hello from the fake model.")


def test_a_reply_whose_job_starts_during_the_check_is_left_alone(client, consultant, app,
                                                                 monkeypatch):
    """The check reads the heartbeats, then each silent reply's row: a job that starts between
    the two (it beats, then marks its reply streaming) is alive, not an orphan."""
    chat = new_chat(client)
    send(client, chat, "Hello")
    reply = messages_of(app, chat)[1]
    monkeypatch.setattr(worker, "_app", app)  # the check runs here, on the test's app
    reads = []

    def job_starts_before_the_second_read(_conn, _cursor, statement, *_args):
        if statement.lstrip().startswith("SELECT") and "chat_messages" in statement:
            reads.append(statement)
            if len(reads) == 2:  # as generate_reply does: beat, then mark streaming
                control.beat(get_redis(), reply.id, 0, 10)
                with db.engine.begin() as connection:
                    connection.execute(db.text(
                        "UPDATE chat_messages SET status = 'streaming' WHERE id = :id"),
                        {"id": reply.id})

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", job_starts_before_the_second_read)
        try:
            counts = reap_orphan_replies()
        finally:
            event.remove(db.engine, "before_cursor_execute", job_starts_before_the_second_read)
        stopped = get_redis().exists(control.stop_key(reply.id, 0))
    assert len(reads) >= 2 and counts == {"rerun": 0, "failed": 0} and not stopped
    reply = messages_of(app, chat)[1]
    assert (reply.status, reply.attempt) == ("streaming", 0)


def test_the_orphan_check_stays_out_of_the_worker_log_below_warnings(caplog):
    """It runs every 10 s: RQ's four INFO lines per run would drown every other job's."""
    quiet_upkeep_in_rq_log()
    rq_log = logging.getLogger("rq.worker")
    with caplog.at_level(logging.INFO, logger="rq.worker"):
        rq_log.info("default: fail or re-run replies whose worker died (reap-orphan-replies-7)")
        rq_log.info("Job OK (reap-orphan-replies-7)")
        rq_log.info("default: Job OK (alert-42)")
        rq_log.error("job reap-orphan-replies-8: exception raised while executing")
    assert [r.getMessage() for r in caplog.records] == [
        "default: Job OK (alert-42)", "job reap-orphan-replies-8: exception raised while executing"]
