"""Replies written by a real RQ worker from the fake OpenAI-compatible server."""

from chatapp.extensions import db
from chatapp.models import ChatMessage
from chatapp.services import events
from chatapp.services.redis_client import get_redis
from tests.conftest import answered_chat, csrf_from, messages_of, new_chat, send
from tests.services import wait_for

HTMX = {"HX-Request": "true"}


def event_log(app, session_id):
    with app.app_context():
        return events.read(get_redis(), session_id, "0-0", None, count=10000)


def test_reply_is_streamed_into_the_log_and_saved(client, consultant, app, llm, run_worker):
    chat = new_chat(client)
    send(client, chat, "Hello")
    assert run_worker().wait(60) == 0
    question, reply = messages_of(app, chat)
    assert reply.status == "done"
    assert reply.content == "Hello from the fake model."
    assert reply.tokens_out == 5 and reply.tokens_in > 0 and reply.latency_ms >= 0
    assert reply.meta["first_token_ms"] >= 0
    log = event_log(app, reply.session_id)
    types = [e.type for e in log]
    assert types[:2] == ["message.created"] * 2 and types[-1] == "reply.done"
    assert set(types[2:-1]) == {"reply.delta"}
    assert log[2].data["text"] == "Hello"  # the first token goes out on its own, at once
    assert "".join(e.data["text"] for e in log if e.type == "reply.delta") == reply.content
    done = log[-1].data
    assert done["message"]["content"] == reply.content
    assert done["usage"] == {"tokens_in": reply.tokens_in, "tokens_out": 5}
    with app.app_context():
        assert events.snapshot(get_redis(), reply.session_id)[1] == {}  # nothing in progress
    page = client.get(chat).get_data(as_text=True)
    assert "<p>Hello from the fake model.</p>" in page


def test_prompt_has_the_system_prompt_and_the_history(client, consultant, app, llm, run_worker):
    chat = new_chat(client)
    send(client, chat, "First question")
    assert run_worker().wait(60) == 0
    llm.reset(tokens=["Second", " answer"])
    send(client, chat, "Second question")
    assert run_worker().wait(60) == 0
    prompt = llm.requests[-1]
    assert prompt["model"] == "fake-model" and prompt["stream"] is True
    roles = [m["role"] for m in prompt["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert "consultant" in prompt["messages"][0]["content"]
    assert [m["content"] for m in prompt["messages"][1:]] == [
        "First question", "Hello from the fake model.", "Second question"]


def test_provider_error_fails_the_reply_with_a_retry(client, consultant, app, llm, run_worker):
    llm.reset(fail_status=503)
    chat = new_chat(client)
    send(client, chat, "Hello")
    assert run_worker().wait(60) == 0
    reply = messages_of(app, chat)[1]
    assert reply.status == "failed"
    assert reply.meta == {"error": "The language model service failed (HTTP 503).", "retryable": True}
    assert event_log(app, reply.session_id)[-1].type == "reply.failed"
    page = client.get(chat).get_data(as_text=True)
    assert "The language model service failed (HTTP 503)." in page
    assert f"/messages/{reply.id}/retry" in page and ">Retry</button>" in page

    llm.reset()
    retried = client.post(f"{chat}/messages/{reply.id}/retry", data={"csrf_token": csrf_from(page)},
                          headers=HTMX)
    assert retried.status_code == 200 and f'id="msg-{reply.id}"' in retried.get_data(as_text=True)
    assert messages_of(app, chat)[1].status == "pending"
    assert run_worker().wait(60) == 0
    reply = messages_of(app, chat)[1]
    assert (reply.status, reply.content) == ("done", "Hello from the fake model.")
    assert len(messages_of(app, chat)) == 2


def test_failure_after_the_first_token_keeps_the_partial_text(client, consultant, app, llm,
                                                               run_worker):
    llm.reset(fail_after=2)
    chat = new_chat(client)
    send(client, chat, "Hello")
    assert run_worker().wait(60) == 0
    reply = messages_of(app, chat)[1]
    assert (reply.status, reply.content) == ("failed", "Hello from")
    assert reply.meta["retryable"] is True


def test_only_the_latest_failed_reply_can_be_retried(client, consultant, app, llm, run_worker):
    chat = answered_chat(client, run_worker)
    reply = messages_of(app, chat)[1]
    token = csrf_from(client.get(chat).get_data(as_text=True))
    response = client.post(f"{chat}/messages/{reply.id}/retry", data={"csrf_token": token})
    assert response.status_code == 409
    assert "Only the latest failed reply" in response.get_data(as_text=True)
    missing = client.post(f"{chat}/messages/999999/retry", data={"csrf_token": token})
    assert missing.status_code == 404


def test_a_job_for_a_finished_reply_does_nothing(client, consultant, app, llm, run_worker):
    chat = new_chat(client)
    send(client, chat, "Hello")
    assert run_worker().wait(60) == 0
    reply = messages_of(app, chat)[1]
    with app.app_context():
        from chatapp.services.jobs import enqueue_reply

        enqueue_reply(reply.id, attempt=7)
    assert run_worker().wait(60) == 0
    assert len(llm.requests) == 1
    with app.app_context():
        assert db.session.get(ChatMessage, reply.id).content == "Hello from the fake model."


def test_fast_tokens_are_coalesced_into_fewer_events(client, consultant, app, llm, run_worker):
    tokens = [f" t{i}" for i in range(300)]
    llm.reset(tokens=tokens)
    chat = new_chat(client)
    send(client, chat, "Fast please")
    assert run_worker().wait(60) == 0
    reply = messages_of(app, chat)[1]
    assert reply.content == "".join(tokens)
    deltas = [e for e in event_log(app, reply.session_id) if e.type == "reply.delta"]
    assert deltas[0].data["text"] == " t0"
    assert "".join(e.data["text"] for e in deltas) == reply.content
    assert len(deltas) < len(tokens) / 2


def test_streaming_reply_is_saved_to_sql_before_it_ends(client, consultant, app, llm, run_worker):
    llm.reset(tokens=[f" t{i}" for i in range(60)], delay=0.05)  # about 3 s of streaming
    chat = new_chat(client)
    send(client, chat, "Hello")
    worker = run_worker()

    def saved_while_streaming():
        reply = messages_of(app, chat)[1]
        return reply.status == "streaming" and reply.content.startswith(" t0 t1")

    wait_for(saved_while_streaming, 20, "a save of the reply's text while it streams")
    assert worker.wait(60) == 0
    reply = messages_of(app, chat)[1]
    assert reply.status == "done" and reply.content == "".join(f" t{i}" for i in range(60))
