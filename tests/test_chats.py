"""Chat pages and sending, with and without htmx, and what bad input gets."""

import re
import uuid

import pytest
from rq import Queue

from chatapp.extensions import db
from chatapp.models import ChatSession
from chatapp.services import events
from chatapp.services.redis_client import get_redis
from tests.conftest import csrf_from, login, messages_of, new_chat, send

HTMX = {"HX-Request": "true"}


def test_session_list_newest_activity_first(client, consultant, app):
    older = new_chat(client, name="Older meeting")
    newer = new_chat(client, name="Newer meeting", client_name="Globex")
    send(client, older, "bump the older one")
    html = client.get("/chats").get_data(as_text=True)
    assert html.index("Older meeting") < html.index("Newer meeting")
    assert "Globex" in html
    assert newer.rsplit("/", 1)[-1] in html


def test_new_chat_is_named_from_the_first_message(client, consultant, app):
    chat = new_chat(client)
    send(client, chat, "Estimate the cost of moving   the ERP to AWS\nwith details")
    with app.app_context():
        session = db.session.get(ChatSession, uuid.UUID(chat.rsplit("/", 1)[-1]))
        assert session.name == "Estimate the cost of moving the ERP to AWS with details"


def test_send_without_javascript_stores_both_messages_and_redirects(client, consultant, app):
    chat = new_chat(client, client_name="Acme")
    response = send(client, chat, "What are the risks of a lift and shift?")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(chat.split("localhost")[-1] + "#composer")
    user_message, reply = messages_of(app, chat)
    assert (user_message.seq, user_message.sender, user_message.status) == (1, "user", "done")
    assert user_message.author == "Cara Consultant"
    assert (reply.seq, reply.sender, reply.status, reply.content) == (2, "assistant", "pending", "")
    with app.app_context():
        jobs = Queue("llm", connection=get_redis()).jobs
        # the reply (the message, its attempt), then the chat's naming
        assert [(job.func_name, job.args) for job in jobs] == [
            ("worker.llm.generate_reply", (reply.id, 0)),
            ("worker.titles.name_session", (str(user_message.session_id),))]
        log = events.read(get_redis(), user_message.session_id, "0-0", None)
    assert [e.type for e in log] == ["message.created", "message.created"]
    assert log[1].data["message"]["status"] == "pending"
    page = client.get(chat).get_data(as_text=True)
    assert "What are the risks of a lift and shift?" in page and f'id="msg-{reply.id}-body"' in page


def test_send_with_htmx_returns_the_messages_and_a_fresh_composer(client, consultant, app):
    chat = new_chat(client)
    response = send(client, chat, "Hello <b>there</b>", headers=HTMX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<hx-upsert hx-target="#messages"' in html
    assert "Hello &lt;b&gt;there&lt;/b&gt;" in html
    assert '<hx-partial hx-target="#composer" hx-swap="outerHTML">' in html
    assert "<html" not in html
    assert len(messages_of(app, chat)) == 2


@pytest.mark.parametrize("content, message", [
    ("   ", "Type a message before sending."),
    ("x" * 8001, "the limit is 8,000"),
])
def test_invalid_messages_get_a_clear_error_and_keep_the_draft(client, consultant, app, content,
                                                               message):
    chat = new_chat(client)
    page = send(client, chat, content)
    assert page.status_code == 422
    assert message in page.get_data(as_text=True)
    fragment = send(client, chat, content, headers=HTMX)
    assert fragment.status_code == 422
    html = fragment.get_data(as_text=True)
    assert message in html and 'id="composer"' in html and "<html" not in html
    if content.strip():
        assert content in html  # the draft is not lost
    assert messages_of(app, chat) == []


def test_second_message_while_a_reply_is_in_progress_is_refused(client, consultant, app):
    chat = new_chat(client)
    assert send(client, chat, "first").status_code == 303
    response = send(client, chat, "second", headers=HTMX)
    assert response.status_code == 409
    assert "still answering" in response.get_data(as_text=True)
    assert [m.content for m in messages_of(app, chat)] == ["first", ""]


def test_send_without_csrf_token_is_rejected(client, consultant, app):
    chat = new_chat(client)
    response = client.post(chat + "/messages", data={"content": "hi"})
    assert response.status_code == 400
    assert messages_of(app, chat) == []


def test_views_with_and_without_htmx_headers(client, consultant):
    chat = new_chat(client, name="Quarterly review")
    for path in ("/chats", "/chats/new", chat):
        plain = client.get(path)
        htmx = client.get(path, headers=HTMX)
        assert plain.status_code == htmx.status_code == 200
        assert "<html" in plain.get_data(as_text=True)
    assert "Quarterly review" in client.get(chat).get_data(as_text=True)


def test_new_chat_names_are_limited(client, consultant):
    token = csrf_from(client.get("/chats/new").get_data(as_text=True))
    response = client.post("/chats", data={"csrf_token": token, "name": "n" * 201})
    assert response.status_code == 422
    assert "limited to 200 characters" in response.get_data(as_text=True)


def test_unknown_and_malformed_session_ids_are_404(client, consultant):
    token = csrf_from(client.get("/chats").get_data(as_text=True))
    for path in (f"/chats/{uuid.uuid4()}", "/chats/not-a-uuid", "/chats/1234",
                 f"/chats/{uuid.uuid4()}/events"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "does not exist" in response.get_data(as_text=True)
    post = client.post(f"/chats/{uuid.uuid4()}/messages", data={"csrf_token": token, "content": "x"})
    assert post.status_code == 404
    json_404 = client.get("/chats/not-a-uuid", headers={"Accept": "application/json"})
    assert json_404.status_code == 404
    error = json_404.get_json()["error"]
    assert error["code"] == "not_found" and error["correlation_id"]
    assert json_404.headers["X-Request-ID"] == error["correlation_id"]


def test_another_consultants_session_is_404_everywhere(client, consultant, make_user, app):
    chat = new_chat(client)
    send(client, chat, "confidential client notes")
    reply_id = messages_of(app, chat)[1].id
    make_user("mallory@example.com")
    other = app.test_client()
    assert login(other, "mallory@example.com").status_code == 302
    token = csrf_from(other.get("/chats").get_data(as_text=True))
    assert "confidential" not in other.get("/chats").get_data(as_text=True)
    assert other.get(chat).status_code == 404
    assert other.get(chat + "/events").status_code == 404
    assert other.post(chat + "/messages", data={"csrf_token": token, "content": "x"}).status_code == 404
    retry = other.post(f"{chat}/messages/{reply_id}/retry", data={"csrf_token": token})
    assert retry.status_code == 404
    assert len(messages_of(app, chat)) == 2


def test_unexpected_methods_and_paths_get_clear_errors(client, consultant):
    assert client.get("/nope").status_code == 404
    assert client.delete("/chats").status_code == 405
    response = client.put("/chats", headers={"Accept": "application/json"})
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_a_repeated_send_with_the_same_client_id_is_stored_once(client, consultant, app):
    chat = new_chat(client)
    page = client.get(chat).get_data(as_text=True)
    client_id = re.search(r'name="client_id" value="([0-9a-f]{32})"', page).group(1)
    form = {"csrf_token": csrf_from(page), "content": "Only once please", "client_id": client_id}
    first = client.post(chat + "/messages", data=form)
    again = client.post(chat + "/messages", data=form, headers=HTMX)
    assert first.status_code == 303 and again.status_code == 200
    messages = messages_of(app, chat)
    assert [(m.sender, m.content) for m in messages] == [("user", "Only once please"), ("assistant", "")]
    assert f'id="msg-{messages[0].id}"' in again.get_data(as_text=True)
    with app.app_context():
        replies = [job for job in Queue("llm", connection=get_redis()).jobs
                   if job.func_name == "worker.llm.generate_reply"]
        assert len(replies) == 1
        log = events.read(get_redis(), messages[0].session_id, "0-0", None)
    assert [e.type for e in log] == ["message.created", "message.created"]
    assert client.get(chat).get_data(as_text=True).count(">Only once please</div>") == 1


def test_a_send_asking_for_json_gets_both_messages_and_json_errors(client, consultant, app):
    """What the page's outbox sends: 202 with the stored message and its reply, the same ids for
    a repeat, and JSON errors (409 while a reply is being written)."""
    chat = new_chat(client)
    token = csrf_from(client.get(chat).get_data(as_text=True))
    form = {"csrf_token": token, "content": "From the outbox", "client_id": "outbox-1234"}
    accept = {"Accept": "application/json"}
    first = client.post(chat + "/messages", data=form, headers=accept)
    again = client.post(chat + "/messages", data=form, headers=accept)
    assert first.status_code == again.status_code == 202 and first.get_json() == again.get_json()
    sent = first.get_json()
    assert (sent["message"]["content"], sent["reply"]["status"]) == ("From the outbox", "pending")
    assert [m.id for m in messages_of(app, chat)] == [sent["message"]["id"], sent["reply"]["id"]]
    busy = client.post(chat + "/messages", data={**form, "client_id": "outbox-5678"},
                       headers=accept)
    assert busy.status_code == 409 and "still answering" in busy.get_json()["error"]["message"]
    empty = client.post(chat + "/messages", data={**form, "content": " "}, headers=accept)
    assert empty.status_code == 422 and empty.get_json()["error"]["code"] == "invalid"


def test_each_composer_gets_a_new_client_id_and_bad_ones_are_refused(client, consultant, app):
    chat = new_chat(client)
    ids = {re.search(r'name="client_id" value="(\w+)"', client.get(chat).get_data(as_text=True)).group(1)
           for _ in range(3)}
    assert len(ids) == 3
    token = csrf_from(client.get(chat).get_data(as_text=True))
    response = client.post(chat + "/messages", data={"csrf_token": token, "content": "hi",
                                                     "client_id": "<script>"})
    assert response.status_code == 400 and "client_id must be" in response.get_data(as_text=True)
    assert messages_of(app, chat) == []


def test_text_with_a_nul_character_is_refused_not_a_500(client, consultant, app):
    """PostgreSQL cannot store NUL: found by the API fuzzer, refused for every form and query."""
    chat = new_chat(client)
    token = csrf_from(client.get(chat).get_data(as_text=True))
    response = client.post(chat + "/messages", data={"csrf_token": token, "content": "a\x00b"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Text must not contain NUL characters."
    assert messages_of(app, chat) == []
    login_page = client.post("/login", data={"email": "x\x00@example.com", "password": "x"})
    assert login_page.status_code == 400
