"""Real processes killed mid-reply: nothing stays pending or streaming for ever."""

import signal

from chatapp.services import events
from chatapp.services.redis_client import get_redis
from tests.conftest import messages_of, new_chat, send
from tests.services import wait_for

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
