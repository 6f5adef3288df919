"""Fixtures: real PostgreSQL, Redis, RQ workers, gunicorn and a fake OpenAI-compatible server."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
from flask import Flask
from sqlalchemy.engine import make_url

from chatapp import create_app
from chatapp.extensions import db
from chatapp.models import ChatMessage, User
from tests.fake_llm import FakeLLM
from tests.services import free_port, postgres_server, redis_server, wait_for
from tests.stack import Stack

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-key-not-for-production"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a fresh, empty database of this test run (dropped at the end)."""
    with postgres_server() as server_url:
        admin = make_url(server_url).set(drivername="postgresql")
        name = f"chatapp_test_{uuid.uuid4().hex[:10]}"
        _admin_sql(admin, f'CREATE DATABASE "{name}"')
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            _admin_sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_sql(url, statement: str) -> None:
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture(scope="session")
def redis_url():
    """URL of a Redis database flushed before every test."""
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def moto_url():
    """moto's server standing in for AWS (SES, SNS, S3)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def fake_llm():
    """The fake OpenAI-compatible server, shared by the run; see the `llm` fixture."""
    server = FakeLLM().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app_config(postgres_url, redis_url, fake_llm, tmp_path_factory) -> dict:
    """Configuration shared by the in-process app and the subprocesses (as CHATAPP_* vars)."""
    return {
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),  # not the checkout's instance/
        "SECRET_KEY": SECRET,
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "LLM_BASE_URL": fake_llm.base_url,
        "LLM_MODEL": "fake-model",
        "HTMX_SOURCE": "vendored",
        "SESSION_COOKIE_SECURE": False,
        "REPLY_SAVE_INTERVAL": 0.5,
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="session")
def subprocess_env(app_config) -> dict[str, str]:
    """Environment for chatapp processes started by tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATAPP_")}
    env.update({f"CHATAPP_{key}": _env_value(value) for key, value in app_config.items()})
    env["PYTHONPATH"] = str(ROOT)
    return env


def _env_value(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.fixture(scope="session")
def _migrated(app_config):
    """Apply the migrations once to the run's database, exactly as `flask db upgrade` does."""
    from flask_migrate import upgrade

    app = create_app({**app_config, "TESTING": True})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture
def app(app_config, _migrated):
    """The app with empty tables and an empty Redis database."""
    app = create_app({**app_config, "TESTING": True})
    with app.app_context():
        tables = ", ".join(table.name for table in db.metadata.sorted_tables)
        db.session.execute(db.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()
    redis.Redis.from_url(app_config["REDIS_URL"]).flushdb()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client (cookies kept between requests)."""
    return app.test_client()


@pytest.fixture
def llm(fake_llm):
    """The fake LLM, reset to its default script for this test."""
    fake_llm.reset()
    return fake_llm


@pytest.fixture
def make_user(app):
    """Create a user: make_user(email, name=..., role=...) with the password PASSWORD."""

    def make(email: str, name: str | None = None, role: str = "consultant") -> User:
        with app.app_context():
            user = User(email=email, display_name=name or email.split("@")[0].title(), role=role)
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


def sqlite_app(app_config: dict, path: Path, **config) -> Flask:
    """The app on a new SQLite database file at `path` (the embedded default; schema by
    create_all, Redis flushed), with Cara, a consultant (id 1, password PASSWORD)."""
    redis.Redis.from_url(app_config["REDIS_URL"]).flushdb()
    app = create_app({**app_config, "TESTING": True, "DATABASE_URL": f"sqlite:///{path}",
                      **config})
    with app.app_context():
        db.create_all()
        user = User(email="cara@example.com", display_name="Cara")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
    return app


def csrf_from(html: str) -> str:
    """The CSRF token in a page's form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client, email: str, password: str = PASSWORD):
    """Sign in through the real login form; returns the response of the POST."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password})


def new_chat(client, **form) -> str:
    """Create a chat through the form; return its URL."""
    token = csrf_from(client.get("/chats/new").get_data(as_text=True))
    response = client.post("/chats", data={"csrf_token": token, **form})
    assert response.status_code == 303
    return response.headers["Location"]


def send(client, chat_url: str, content: str, headers=None, **fields):
    """Send a message through the chat page's form (`fields`: more of it, e.g. attachment_ids)."""
    token = csrf_from(client.get(chat_url).get_data(as_text=True))
    return client.post(chat_url + "/messages",
                       data={"csrf_token": token, "content": content, **fields},
                       headers=headers or {})


def answered_chat(client, run_worker, question: str = "Hello") -> str:
    """A new chat whose first question a real worker has answered; its URL."""
    chat = new_chat(client)
    send(client, chat, question)
    assert run_worker().wait(60) == 0
    return chat


def messages_of(app, chat_url: str) -> list[ChatMessage]:
    """The messages of a chat, in order."""
    session_id = uuid.UUID(chat_url.rsplit("/", 1)[-1])
    with app.app_context():
        return db.session.scalars(db.select(ChatMessage).filter_by(session_id=session_id)
                                  .order_by(ChatMessage.seq)).all()


@pytest.fixture
def consultant(make_user, client):
    """A signed-in consultant (on `client`)."""
    user = make_user("cara@example.com", "Cara Consultant")
    assert login(client, user.email).status_code == 302
    return user


@pytest.fixture
def local(app, tmp_path) -> dict[str, str]:
    """Uploads stored in a local directory of this test: the workers' settings for it."""
    app.config.update(UPLOAD_DIR=str(tmp_path / "uploads"))
    return {"CHATAPP_UPLOAD_DIR": str(tmp_path / "uploads")}


@pytest.fixture
def run_worker(subprocess_env):
    """Start real RQ worker processes: run_worker() works the queues until they are empty;
    `env` adds CHATAPP_* settings for this worker only."""
    processes: list[subprocess.Popen] = []

    def start(*queues: str, burst: bool = True, env: dict | None = None) -> subprocess.Popen:
        command = [sys.executable, "-m", "worker", *(["--burst"] if burst else []),
                   *(queues or ("llm", "notify", "default", "media"))]
        process = subprocess.Popen(command, cwd=ROOT, env={**subprocess_env, **(env or {})},
                                   start_new_session=True)  # its group: it and its children
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
    stuck = []
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # no stray process left for the next tests
            process.wait()
            stuck.append(" ".join(process.args[1:]))
    assert not stuck, f"workers still running 20 s after SIGTERM: {stuck}"


@pytest.fixture
def private_stack(subprocess_env, _migrated, app, tmp_path):
    """A chatapp with its own Redis, gunicorn and workers, for tests that kill some of them."""
    stack = Stack(subprocess_env, tmp_path).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def live_server(subprocess_env, _migrated):
    """chatapp under gunicorn with gevent workers, as in production; yields its base URL."""
    port = free_port()
    env = {**subprocess_env, "CHATAPP_BIND": f"127.0.0.1:{port}", "CHATAPP_WEB_WORKERS": "2",
           "CHATAPP_ACCESS_LOG": ""}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
                                "wsgi:app"], cwd=ROOT, env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(base_url), 30, "gunicorn to answer /healthz", interval=0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(20)


@pytest.fixture
def live_chat(live_server, consultant):
    """An HTTP client signed in on the live server, with a chat whose reply is pending."""
    with chat_on(live_server, consultant) as (web, chat):
        yield web, chat


@contextlib.contextmanager
def chat_on(base_url: str, user: User):
    """An HTTP client signed in as `user` on the server at `base_url`, and the URL of a chat of
    theirs whose reply is pending."""
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(30, read=30)) as web:
        token = csrf_from(web.get("/login").text)
        assert web.post("/login", data={"csrf_token": token, "email": user.email,
                                        "password": PASSWORD}).status_code == 302
        token = csrf_from(web.get("/chats/new").text)
        chat = web.post("/chats", data={"csrf_token": token}).headers["location"]
        response = web.post(chat + "/messages", data={"csrf_token": token, "content": "Hi"})
        assert response.status_code == 303
        yield web, chat


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(base_url + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def add_history(app, chat_url: str, count: int, reply: str = "Answer {i}") -> list[int]:
    """Store `count` finished messages in a chat directly (questions and replies in turn, the
    reply text from `reply` with {i}: its number), after those it has; their ids in order."""
    session_id = uuid.UUID(chat_url.rsplit("/", 1)[-1])
    with app.app_context():
        last = db.session.scalar(db.select(db.func.max(ChatMessage.seq))
                                 .filter_by(session_id=session_id)) or 0
        rows = [{"session_id": session_id, "seq": last + i, "status": "done",
                 "sender": "user" if i % 2 else "assistant",
                 "author": "Cara Consultant" if i % 2 else "Assistant",
                 "content": f"Question {last + i}" if i % 2 else reply.format(i=last + i),
                 "meta": {}} for i in range(1, count + 1)]
        ids = db.session.scalars(db.insert(ChatMessage).returning(
            ChatMessage.id, sort_by_parameter_order=True), rows).all()
        db.session.commit()
        return list(ids)
