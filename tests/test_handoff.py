"""Human handoff: help requests, the exclusive takeover lock, the assistant paused and resumed,
admin messages, hand back with a note, and the audit log (real PostgreSQL, Redis, workers)."""

from __future__ import annotations

import threading
import uuid

import pytest

from chatapp.extensions import db
from chatapp.models import AuditEntry, ChatSession, HelpRequest
from chatapp.services import events, handoff, takeover
from chatapp.services.redis_client import get_redis
from tests.conftest import csrf_from, login, messages_of, new_chat, send
from tests.services import wait_for
from tests.test_control import deltas

HTMX = {"HX-Request": "true"}


@pytest.fixture
def admin(app, make_user):
    """Ada, an administrator, signed in on her own client."""
    make_user("ada@example.com", "Ada Admin", role="admin")
    web = app.test_client()
    assert login(web, "ada@example.com").status_code == 302
    return web


@pytest.fixture
def chat(client, consultant) -> str:
    """Cara's chat (its URL)."""
    return new_chat(client)


def post(web, url: str, page: str, headers=None, **form):
    """POST a form of `page` (its CSRF token) to `url`."""
    token = csrf_from(web.get(page).get_data(as_text=True))
    return web.post(url, data={"csrf_token": token, **form}, headers=headers or {})


def sid(chat: str) -> uuid.UUID:
    return uuid.UUID(chat.rsplit("/", 1)[-1])


def admin_page(chat: str) -> str:
    return f"/admin/sessions/{sid(chat)}"


def log_of(app, chat: str) -> list[events.Event]:
    with app.app_context():
        return events.read(get_redis(), sid(chat), "0-0", None, count=10000)


def types_of(app, chat: str) -> list[str]:
    return [event.type for event in log_of(app, chat)]


def row(app, model, **where):
    with app.app_context():
        found = db.session.scalars(db.select(model).filter_by(**where)).all()
        for item in found:
            db.session.expunge(item)
        return found


def test_help_request_waits_is_acknowledged_and_cancelled(app, client, chat, admin):
    response = post(client, f"{chat}/help", chat, note="Pricing question for Acme")
    assert response.status_code == 303
    [request] = row(app, HelpRequest)
    assert (request.state, request.note) == ("waiting", "Pricing question for Acme")
    [session] = row(app, ChatSession)
    assert session.help_requested_at is not None
    requested = log_of(app, chat)[-1]
    assert requested.type == "help.requested"
    assert requested.data["who"] == "Cara Consultant"
    assert requested.data["state"]["help"]["state"] == "waiting"
    assert "Help requested: waiting for an administrator." in client.get(chat).get_data(True)
    watched = admin.get(admin_page(chat)).get_data(as_text=True)
    assert "Cara Consultant asks for help: “Pricing question for Acme”" in watched
    # a second request while one is open: refused
    again = post(client, f"{chat}/help", chat, headers=HTMX)
    assert again.status_code == 409 and "already asked for help" in again.get_data(True)

    assert post(admin, admin_page(chat) + "/acknowledge", admin_page(chat),
                headers=HTMX).status_code == 204
    assert row(app, HelpRequest)[0].state == "acknowledged"
    assert "acknowledged by Ada Admin" in client.get(chat).get_data(True)
    assert types_of(app, chat)[-1] == "help.acknowledged"
    assert post(admin, admin_page(chat) + "/acknowledge", admin_page(chat),
                headers=HTMX).status_code == 409

    assert post(client, f"{chat}/help/cancel", chat).status_code == 303
    assert row(app, HelpRequest)[0].state == "cancelled"
    assert row(app, ChatSession)[0].help_requested_at is None
    assert types_of(app, chat)[-1] == "help.cancelled"
    assert "Request help" in client.get(chat).get_data(True)
    assert post(client, f"{chat}/help/cancel", chat, headers=HTMX).status_code == 409
    actions = [(e.actor_name, e.action, e.ip) for e in row(app, AuditEntry)]
    assert ("Cara Consultant", "help_requested", "127.0.0.1") in actions
    assert ("Ada Admin", "help_acknowledged", "127.0.0.1") in actions
    assert ("Cara Consultant", "help_cancelled", "127.0.0.1") in actions


def test_bad_requests_are_refused(app, client, chat, admin, make_user):
    too_long = post(client, f"{chat}/help", chat, headers=HTMX, note="x" * 501)
    assert too_long.status_code == 422 and "limited to 500" in too_long.get_data(True)
    assert client.post(f"{chat}/help", data={"note": "no token"}).status_code == 400
    # consultants: no admin page, no takeover (403); another consultant's chat: 404
    assert client.get(admin_page(chat)).status_code == 403
    assert post(client, admin_page(chat) + "/takeover", chat).status_code == 403
    make_user("otto@example.com", "Otto Other")
    other = app.test_client()
    login(other, "otto@example.com")
    assert post(other, f"{chat}/help", "/chats/new").status_code == 404
    # an admin asks for help only in their own chats; an unknown session is 404
    assert post(admin, f"{chat}/help", admin_page(chat)).status_code == 404
    assert admin.get(f"/admin/sessions/{uuid.uuid4()}").status_code == 404
    # hand back, messages: only by the holder (409)
    assert post(admin, admin_page(chat) + "/handback", admin_page(chat),
                headers=HTMX).status_code == 409
    refused = post(admin, admin_page(chat) + "/messages", admin_page(chat), headers=HTMX,
                   content="Hello")
    assert refused.status_code == 409 and "Take the chat over first." in refused.get_data(True)
    assert post(admin, admin_page(chat) + "/takeover", admin_page(chat)).status_code == 303
    empty = post(admin, admin_page(chat) + "/messages", admin_page(chat), headers=HTMX,
                 content="  ")
    assert empty.status_code == 422
    assert post(admin, admin_page(chat) + "/handback", admin_page(chat), headers=HTMX,
                note="n" * 501).status_code == 422


def test_one_admin_holds_the_lock_and_the_other_is_told_who(app, chat, admin, make_user):
    make_user("bob@example.com", "Bob Admin", role="admin")
    bob = app.test_client()
    login(bob, "bob@example.com")
    tokens = {web: csrf_from(web.get(admin_page(chat)).get_data(as_text=True))
              for web in (admin, bob)}
    start = threading.Barrier(2)
    answers = {}

    def take(web, name):
        start.wait()
        answers[name] = web.post(admin_page(chat) + "/takeover", headers=HTMX,
                                 data={"csrf_token": tokens[web]})

    threads = [threading.Thread(target=take, args=(web, name))
               for web, name in ((admin, "Ada Admin"), (bob, "Bob Admin"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(response.status_code for response in answers.values())
    assert statuses == [204, 409]
    winner = next(name for name, response in answers.items() if response.status_code == 204)
    loser = next(response for response in answers.values() if response.status_code == 409)
    assert f"{winner} has taken over this chat." in loser.get_data(as_text=True)
    assert types_of(app, chat).count("admin.joined") == 1
    loser_client = bob if winner == "Ada Admin" else admin
    page = loser_client.get(admin_page(chat)).get_data(as_text=True)
    assert f"{winner} joined. The assistant is paused." in page and "Take over" not in page


def test_the_lock_expires_when_no_connection_renews_it(app, client, chat, admin, run_worker):
    app.config["TAKEOVER_LOCK_TTL"] = 30
    assert post(admin, admin_page(chat) + "/takeover", admin_page(chat)).status_code == 303
    key = takeover.LOCK_KEY.format(sid(chat))
    with app.app_context():
        r = get_redis()
    r.expire(key, 5)
    client.get(f"{chat}/events?fmt=json&wait=0")  # the consultant's feed does not renew it
    assert r.ttl(key) <= 5
    admin.get(f"{chat}/events?fmt=json&wait=0")  # the holder's feed does
    assert r.ttl(key) > 5
    r.expire(key, 1)  # the admin's connection is gone: nothing renews it
    wait_for(lambda: r.get(key) is None, 10, "the lock to expire")
    with app.app_context():  # the periodic check tells the pages, once
        assert handoff.end_lapsed_takeovers() == 1
        assert handoff.end_lapsed_takeovers() == 0
    assert types_of(app, chat)[-2:] == ["admin.left", "ai.resumed"]
    assert [entry.actor_name for entry in row(app, AuditEntry, action="takeover_lapsed")] == [
        "Ada Admin"]
    assert "joined. The assistant is paused." not in client.get(chat).get_data(as_text=True)
    assert send(client, chat, "Anyone?").status_code == 303
    assert [m.sender for m in messages_of(app, chat)] == ["user", "assistant"]
    assert run_worker().wait(60) == 0
    assert messages_of(app, chat)[1].status == "done"


def test_takeover_stops_the_ai_and_the_admin_answers_then_hands_back(app, client, chat, admin,
                                                                    llm, run_worker):
    llm.reset(tokens=[f" w{i}" for i in range(200)], delay=0.05)
    post(client, f"{chat}/help", chat, note="Need a human")
    send(client, chat, "Talk for a while")
    worker = run_worker()
    reply = messages_of(app, chat)[1]
    wait_for(lambda: len(deltas(app, reply.session_id)) >= 3, 30, "the first tokens")
    assert post(admin, admin_page(chat) + "/takeover", admin_page(chat)).status_code == 303
    assert worker.wait(60) == 0
    assert messages_of(app, chat)[1].status == "cancelled"  # the reply in progress stopped
    log = types_of(app, chat)
    assert log.index("admin.joined") < log.index("ai.paused")
    assert "reply.cancelled" in log
    assert row(app, HelpRequest)[0].state == "joined"
    page = client.get(chat).get_data(as_text=True)
    assert "Ada Admin joined. The assistant is paused: Ada Admin answers your messages." in page

    # the consultant's message goes to the admin: stored, announced, no reply
    llm.reset()
    assert send(client, chat, "Are you there, Ada?").status_code == 303
    assert [m.sender for m in messages_of(app, chat)] == ["user", "assistant", "user"]
    created = log_of(app, chat)[-1]
    assert (created.type, created.data["message"]["content"]) == ("message.created",
                                                                  "Are you there, Ada?")
    assert "Are you there, Ada?" in admin.get(admin_page(chat)).get_data(as_text=True)
    # nothing starts a reply meanwhile
    cancelled = messages_of(app, chat)[1]
    for url in (f"{chat}/messages/{cancelled.id}/regenerate", f"{chat}/actions/0"):
        refused = post(client, url, chat, headers=HTMX)
        assert refused.status_code == 409
        assert "Ada Admin has taken over this chat" in refused.get_data(as_text=True)

    answer = post(admin, admin_page(chat) + "/messages", admin_page(chat), headers=HTMX,
                  content="Yes: the migration costs about 40 days.")
    assert answer.status_code == 200
    admin_message = messages_of(app, chat)[-1]
    assert (admin_message.sender, admin_message.author) == ("admin", "Ada Admin")
    assert log_of(app, chat)[-1].data["author"] == "Ada Admin"
    assert "the migration costs about 40 days" in client.get(chat).get_data(as_text=True)

    assert post(admin, admin_page(chat) + "/handback", admin_page(chat),
                note="Quoted 40 days for the migration").status_code == 303
    [session] = row(app, ChatSession)
    assert session.admin_assisted and session.help_requested_at is None
    assert session.context["admin_note"] == "Quoted 40 days for the migration"
    assert row(app, HelpRequest)[0].state == "resolved"
    assert types_of(app, chat)[-2:] == ["admin.left", "ai.resumed"]
    assert "Ada Admin handed back" in log_of(app, chat)[-1].data["who"] + " handed back"

    # the assistant answers again, with the note in its context
    assert send(client, chat, "Summarise, please").status_code == 303
    assert messages_of(app, chat)[-1].sender == "assistant"
    assert run_worker().wait(60) == 0
    assert messages_of(app, chat)[-1].status == "done"
    system = llm.requests[-1]["messages"][0]["content"]
    assert "Note from the administrator: Quoted 40 days for the migration" in system
    history = [m["content"] for m in llm.requests[-1]["messages"]]
    assert "Yes: the migration costs about 40 days." in history

    audit = [(e.actor_name, e.action, e.ip) for e in row(app, AuditEntry)]
    for entry in [("Ada Admin", "join", "127.0.0.1"), ("Ada Admin", "takeover", "127.0.0.1"),
                  ("Ada Admin", "hand_back", "127.0.0.1")]:
        assert entry in audit
    timeline = admin.get(admin_page(chat)).get_data(as_text=True)
    assert "Ada Admin took over (from 127.0.0.1)" in timeline
    assert "Ada Admin handed back (from 127.0.0.1): “Quoted 40 days for the migration”" in timeline
    assert post(admin, admin_page(chat) + "/leave", admin_page(chat)).status_code == 303
    assert row(app, AuditEntry)[-1].action == "leave"
    # one visit, one join: reloads add none; opening it again after leaving does
    joins = [e.action for e in row(app, AuditEntry)].count("join")
    admin.get(admin_page(chat))
    admin.get(admin_page(chat))
    assert [e.action for e in row(app, AuditEntry)].count("join") == joins + 1


def test_a_reply_queued_before_the_takeover_is_never_written(app, client, chat, admin, llm,
                                                           run_worker):
    send(client, chat, "Hello")  # its reply waits for a worker
    assert post(admin, admin_page(chat) + "/takeover", admin_page(chat)).status_code == 303
    assert messages_of(app, chat)[1].status == "cancelled"
    assert run_worker().wait(60) == 0
    assert llm.requests == []  # the job found the reply cancelled and asked the model nothing
    assert messages_of(app, chat)[1].status == "cancelled"
    # a repeated send (same client id) while taken over returns the message and no reply
    token = csrf_from(client.get(chat).get_data(as_text=True))
    form = {"csrf_token": token, "content": "Still there?", "client_id": "repeat-1234"}
    json = {"Accept": "application/json"}
    first = client.post(f"{chat}/messages", data=form, headers=json)
    post(admin, admin_page(chat) + "/messages", admin_page(chat), content="Yes, Ada here.")
    again = client.post(f"{chat}/messages", data=form, headers=json)
    assert first.status_code == again.status_code == 202
    assert again.get_json()["reply"] is None
    assert again.get_json()["message"]["id"] == first.get_json()["message"]["id"]
