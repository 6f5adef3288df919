"""Stopping a reply: pending ones end at once, streaming ones within a moment, text kept."""

from chatapp.services import events
from chatapp.services.redis_client import get_redis
from tests.conftest import answered_chat, csrf_from, messages_of, new_chat, send
from tests.services import wait_for

HTMX = {"HX-Request": "true"}


def deltas(app, session_id) -> list[events.Event]:
    with app.app_context():
        log = events.read(get_redis(), session_id, "0-0", None, count=10000)
    return [e for e in log if e.type == "reply.delta"]


def test_stop_while_streaming_keeps_the_text_and_closes_the_provider(client, consultant, app, llm,
                                                                     run_worker):
    llm.reset(tokens=[f" w{i}" for i in range(100)], delay=0.1)
    chat = new_chat(client)
    send(client, chat, "Talk for a while")
    worker = run_worker()
    reply = messages_of(app, chat)[1]
    wait_for(lambda: len(deltas(app, reply.session_id)) >= 3, 30, "the first tokens")
    token = csrf_from(client.get(chat).get_data(as_text=True))
    response = client.post(f"{chat}/messages/{reply.id}/stop", data={"csrf_token": token},
                           headers=HTMX)
    assert response.status_code == 204
    assert worker.wait(30) == 0
    reply = messages_of(app, chat)[1]
    assert reply.status == "cancelled"
    streamed = "".join(e.data["text"] for e in deltas(app, reply.session_id))
    assert reply.content == streamed and 3 <= len(streamed.split()) < 100
    with app.app_context():
        log = events.read(get_redis(), reply.session_id, "0-0", None, count=10000)
    assert log[-1].type == "reply.cancelled"
    assert log[-1].data["message"]["content"] == streamed
    sent_when_stopped = llm.tokens_sent
    assert sent_when_stopped < 100  # the request to the model was closed
    page = client.get(chat).get_data(as_text=True)
    assert "stopped" in page and streamed.strip() in page
    # the chat takes a new message at once
    assert send(client, chat, "Next question").status_code == 303


def test_stop_before_the_job_starts_cancels_at_once(client, consultant, app, llm, run_worker):
    chat = new_chat(client)
    send(client, chat, "Hello")
    reply = messages_of(app, chat)[1]
    token = csrf_from(client.get(chat).get_data(as_text=True))
    response = client.post(f"{chat}/messages/{reply.id}/stop", data={"csrf_token": token})
    assert response.status_code == 303
    assert messages_of(app, chat)[1].status == "cancelled"
    assert run_worker().wait(60) == 0
    assert llm.requests == []  # the job saw the reply was cancelled and did nothing
    with app.app_context():
        log = events.read(get_redis(), reply.session_id, "0-0", None)
        assert log[-1].type == "reply.cancelled"
        assert events.snapshot(get_redis(), reply.session_id)[1] == {}


def test_stopping_a_finished_reply_is_refused(client, consultant, app, llm, run_worker):
    chat = answered_chat(client, run_worker)
    reply = messages_of(app, chat)[1]
    token = csrf_from(client.get(chat).get_data(as_text=True))
    response = client.post(f"{chat}/messages/{reply.id}/stop", data={"csrf_token": token},
                           headers={"Accept": "application/json"})
    assert response.status_code == 409
    assert response.get_json()["error"]["message"] == "This reply is not being written any more."
    assert messages_of(app, chat)[1].status == "done"
