"""A session's life: one active per user, idle after inactivity, ended after a long pause and
reopened, deleted after retention, purged after the undo window; run by a real worker."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from chatapp.extensions import db
from chatapp.live import to_frame
from chatapp.models import ChatMessage, ChatSession, utcnow
from chatapp.services import events, lifecycle
from chatapp.services.redis_client import get_redis
from tests.conftest import csrf_from, login, new_chat, send, sqlite_app
from tests.services import wait_for


def session_id(chat_url: str) -> uuid.UUID:
    return uuid.UUID(chat_url.rsplit("/", 1)[-1])


def states(app) -> dict:
    with app.app_context():
        return {s.name: s.status for s in db.session.scalars(db.select(ChatSession))}


def change(app, chat_url: str, **values) -> None:
    with app.app_context():
        db.session.execute(db.update(ChatSession).where(ChatSession.id == session_id(chat_url))
                           .values(**values))
        db.session.commit()


def upkeep(app, now=None) -> lifecycle.Upkeep:
    with app.app_context():
        return lifecycle.upkeep(now)


def test_opening_a_chat_makes_it_the_only_active_one(client, consultant, app):
    first, second = new_chat(client, name="First"), new_chat(client, name="Second")
    assert states(app) == {"First": "idle", "Second": "active"}  # the newest is in use
    assert re.findall(r'class="badge active">Active</span> (\w+)', client.get("/chats").text) == [
        "Second"]
    client.get(first)
    assert states(app) == {"First": "active", "Second": "idle"}
    client.get(second)
    assert states(app) == {"First": "idle", "Second": "active"}
    send(client, first, "Back to the first one")
    assert states(app) == {"First": "active", "Second": "idle"}


def test_another_user_s_sessions_are_left_alone(client, consultant, app, make_user):
    mine = new_chat(client, name="Mine")
    client.get(mine)
    make_user("dan@example.com")
    other = app.test_client()
    login(other, "dan@example.com")
    other.get(new_chat(other, name="Dan's"))
    assert states(app) == {"Mine": "active", "Dan's": "active"}


def test_inactivity_makes_a_session_idle_then_ended_at_its_last_activity(client, consultant, app):
    chat = new_chat(client, name="Acme")
    send(client, chat, "Hello")
    with app.app_context():
        sent_at = db.session.scalar(db.select(ChatSession.last_activity_at))
    assert upkeep(app).idled == []  # within the 15 minutes
    assert upkeep(app, utcnow() + timedelta(minutes=16)).idled == [session_id(chat)]
    assert states(app) == {"Acme": "idle"}
    done = upkeep(app, utcnow() + timedelta(hours=13))
    assert done.ended == [session_id(chat)]
    with app.app_context():
        ended = db.session.scalar(db.select(ChatSession))
        assert (ended.status, ended.ended_at) == ("ended", sent_at)
        log = events.read(get_redis(), ended.id, "0-0", None)
    assert [e.data["status"] for e in log if e.type == "session.updated"] == ["idle", "ended"]


def test_an_ended_chat_says_so_and_is_reopened_on_request(client, consultant, app, make_user):
    chat = new_chat(client, name="Acme")
    change(app, chat, status="ended", ended_at=utcnow() - timedelta(hours=1))
    page = client.get(chat).text
    assert "This chat ended at" in page and ">Reopen</button>" in page
    assert states(app) == {"Acme": "ended"}  # opening it is not reopening it
    make_user("dan@example.com")
    other = app.test_client()
    login(other, "dan@example.com")
    token = csrf_from(other.get("/chats/new").text)
    assert other.post(chat + "/reopen", data={"csrf_token": token}).status_code == 404
    assert client.get(chat + "/reopen").status_code == 405
    reopened = client.post(chat + "/reopen", data={"csrf_token": csrf_from(page)},
                           headers={"HX-Request": "true"})
    assert reopened.status_code == 200 and "Reopen" not in reopened.text
    assert states(app) == {"Acme": "active"}
    with app.app_context():
        assert db.session.scalar(db.select(ChatSession.ended_at)) is None


def test_sending_in_an_ended_chat_continues_it_and_tells_open_pages(client, consultant, app):
    chat = new_chat(client, name="Acme")
    change(app, chat, status="ended", ended_at=utcnow())
    assert send(client, chat, "One more question").status_code == 303
    assert states(app) == {"Acme": "active"}
    with app.app_context():
        log = events.read(get_redis(), session_id(chat), "0-0", None)
    assert {"id": str(session_id(chat)), "status": "active"} in [
        e.data for e in log if e.type == "session.updated"]


def test_the_live_page_shows_and_hides_the_ended_note(app):
    chat_id = str(uuid.uuid4())
    ended = events.Event("1-0", "session.updated",
                         {"id": chat_id, "status": "ended", "ended_at": "2026-11-20T10:30:00+00:00"})
    going_on = events.Event("2-0", "session.updated", {"id": chat_id, "status": "active"})
    with app.test_request_context():
        assert "This chat ended at" in to_frame(ended, "html").data
        assert f"/chats/{chat_id}/reopen" in to_frame(ended, "html").data
        assert "ended" not in to_frame(going_on, "html").data.split('class="chat-ended"')[1]


def test_deleting_and_undoing_tell_open_pages(client, consultant, app):
    chat = new_chat(client, name="Acme")
    token = csrf_from(client.get(chat).get_data(as_text=True))
    client.post(chat + "/delete", data={"csrf_token": token})
    client.post(chat + "/restore", data={"csrf_token": token})
    with app.app_context():
        log = events.read(get_redis(), session_id(chat), "0-0", None)
    updates = [e for e in log if e.type == "session.updated" and "deleted" in e.data]
    assert [e.data["deleted"] for e in updates] == [True, False]
    with app.test_request_context():
        shown, hidden = (to_frame(e, "html").data for e in updates)
    assert "This chat was deleted" in shown and "/chats" in shown
    assert "deleted" not in hidden.split('class="chat-ended"')[1]


def test_ended_sessions_are_deleted_after_retention_with_their_messages(client, consultant, app):
    old, recent = new_chat(client, name="Old"), new_chat(client, name="Recent")
    send(client, old, "Hello")
    change(app, old, status="ended", ended_at=utcnow() - timedelta(days=31))
    change(app, recent, status="ended", ended_at=utcnow() - timedelta(days=29))
    assert upkeep(app).expired == 0  # kept for ever by default
    app.config["SESSION_RETENTION_DAYS"] = 30
    assert upkeep(app).expired == 1
    assert states(app) == {"Recent": "ended"}
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ChatMessage)) == 0


def test_deleted_sessions_are_purged_after_the_undo_window(client, consultant, app):
    gone, undoable = new_chat(client, name="Gone"), new_chat(client, name="Undoable")
    send(client, gone, "Hello")
    change(app, gone, deleted_at=utcnow() - timedelta(seconds=11))
    change(app, undoable, deleted_at=utcnow() - timedelta(seconds=5))
    assert upkeep(app).purged == 1
    assert states(app) == {"Undoable": "idle"}  # ("Gone" was the active one)


def test_sqlite_purges_messages_too(app_config, tmp_path):
    """SQLite does not enforce foreign keys: the upkeep deletes the messages itself."""
    app = sqlite_app(app_config, tmp_path / "chatapp.db")
    with app.app_context():
        chat = ChatSession(owner_id=1, name="Acme", context={},
                           deleted_at=utcnow() - timedelta(minutes=1))
        db.session.add(chat)
        db.session.flush()
        db.session.add(ChatMessage(session_id=chat.id, seq=1, sender="user", author="Cara",
                                   content="Hello"))
        db.session.commit()
        assert lifecycle.upkeep().purged == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(ChatMessage)) == 0


def test_a_running_worker_idles_sessions_on_its_own(client, consultant, app, run_worker):
    chat = new_chat(client, name="Acme")
    client.get(chat)
    change(app, chat, expires_at=utcnow() - timedelta(minutes=1))
    run_worker("default", burst=False, env={"CHATAPP_UPKEEP_INTERVAL": "0.5"})
    wait_for(lambda: states(app) == {"Acme": "idle"}, 30, "the periodic upkeep")
