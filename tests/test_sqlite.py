"""The embedded SQLite database: commits leave checkpoints to the default worker's thread, and
sends from two processes to one session are serialized."""

import os
import threading

from sqlalchemy import event

from chatapp import create_app
from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, User
from chatapp.services import conversation, tokens
from tests.conftest import PASSWORD, sqlite_app
from tests.services import wait_for

PAGE = 4096


def test_the_default_worker_checkpoints_what_commits_leave_in_the_log(app_config, tmp_path,
                                                                      run_worker):
    path = tmp_path / "chatapp.db"
    url = f"sqlite:///{path}"
    app = create_app({**app_config, "TESTING": True, "DATABASE_URL": url})
    with app.app_context():
        db.create_all()
        for i in range(1000):  # each commit appends a few pages to the write-ahead log
            db.session.add(User(email=f"user{i}@example.com", display_name=f"User {i}",
                                password_hash="x" * 100))
            db.session.commit()
    # (the app's pooled connection stays open: closing the last one would checkpoint the log)
    wal = path.with_name(path.name + "-wal")
    # SQLite alone would have copied the log into the database every 1000 pages; chatapp's
    # connections do not: the log holds it all, the database file has only its first page.
    assert wal.stat().st_size > 1500 * PAGE and path.stat().st_size == PAGE
    run_worker("default", burst=False, env={"CHATAPP_DATABASE_URL": url})
    wait_for(lambda: os.path.getsize(path) > 10 * PAGE, 30, "the checkpoint")


def test_two_sends_to_one_session_at_once_store_one_and_refuse_the_other(app_config, tmp_path):
    """SQLite ignores FOR UPDATE and takes a transaction's lock at its first write: sends to one
    session from two processes (two gunicorn workers) must still go one after the other, the
    second told that a reply is being written, never failing on the message numbers. The first
    send is held just before its inserts until the second has either read the session's state
    (unserialized) or started its own lock (serialized)."""
    app = sqlite_app(app_config, tmp_path / "chatapp.db")
    with app.app_context():
        chat = ChatSession(owner_id=1, name="Acme", context={})
        db.session.add(chat)
        db.session.commit()
        chat_id = chat.id
        first_inserting, second_reached = threading.Event(), threading.Event()

        @event.listens_for(db.engine, "before_cursor_execute")
        def hold_the_first_send(_conn, _cursor, statement, *_args):
            thread = threading.current_thread().name
            if thread == "first" and statement.startswith("INSERT INTO chat_messages"):
                first_inserting.set()
                assert second_reached.wait(10)
            if thread == "second" and (statement.startswith("UPDATE chat_sessions")
                                       or "max(chat_messages.seq)" in statement):
                second_reached.set()

    outcomes = {}

    def send(text: str) -> None:
        with app.app_context():
            try:
                conversation.post_user_message(db.session.get(ChatSession, chat_id),
                                               db.session.get(User, 1), text)
                outcomes[text] = "stored"
            except conversation.MessageRejected as rejected:
                outcomes[text] = rejected.status
            except Exception as error:  # the failure this test is about
                outcomes[text] = type(error).__name__

    first = threading.Thread(target=send, args=("first",), name="first")
    second = threading.Thread(target=send, args=("second",), name="second")
    first.start()
    assert first_inserting.wait(10)
    second.start()
    first.join(20)
    second.join(20)
    assert outcomes == {"first": "stored", "second": 409}
    with app.app_context():
        stored = db.session.scalars(db.select(ChatMessage.content).order_by(ChatMessage.seq)).all()
        assert stored == ["first", ""]  # the message and its pending reply
        db.engine.dispose()


def test_the_api_with_tokens_on_sqlite(app_config, tmp_path):
    """The embedded default stores datetimes without their zone: expiries, last use and cursor
    pages must still work (a 500 here was found by trying `make run`)."""
    app = sqlite_app(app_config, tmp_path / "chatapp.db")
    with app.app_context():
        personal = tokens.issue_personal(db.session.get(User, 1), "script", "30")
    client = app.test_client()
    pair = client.post("/api/v1/auth/tokens", json={"email": "cara@example.com",
                                                    "password": PASSWORD}).get_json()
    for token in (personal, pair["access_token"], personal):
        bearer = {"Authorization": f"Bearer {token}"}
        for name in ("One", "Two", "Three"):
            assert client.post("/api/v1/sessions", json={"name": name},
                               headers=bearer).status_code == 201
        first = client.get("/api/v1/sessions?limit=2", headers=bearer).get_json()
        rest = client.get(f"/api/v1/sessions?limit=2&cursor={first['next_cursor']}",
                          headers=bearer).get_json()
        names = [s["name"] for s in first["items"] + rest["items"]]
        assert names[:3] == ["Three", "Two", "One"]
        assert first["items"][0]["created_at"].endswith("+00:00")
