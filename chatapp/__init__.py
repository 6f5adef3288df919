"""chatapp: a self-hosted AI chat for consulting teams."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

from chatapp.config import DEFAULTS
from chatapp.extensions import csrf, db, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app: defaults, then CHATAPP_* environment variables, then `test_config`."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("CHATAPP")
    if test_config:
        app.config.update(test_config)
    _finish_config(app)
    logging.basicConfig(level=app.config["LOG_LEVEL"],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from chatapp.services.search import include_object

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"),
                     include_object=include_object)
    csrf.init_app(app)
    login_manager.init_app(app)

    from chatapp.services import redis_client

    redis_client.init_app(app)

    from chatapp import (
        account,
        admin,
        alerting,
        api,
        attachments,
        auth,
        chats,
        cli,
        console,
        errors,
        frontend,
        handoff,
        health,
        organise,
        search,
        session_context,
        sharing,
        signals,
        stream,
        websocket,
    )

    errors.init_app(app)
    attachments.init_app(app)
    frontend.init_app(app)
    auth.init_app(app)
    for blueprint in (auth.bp, chats.bp, session_context.bp, organise.bp, stream.bp, signals.bp,
                      admin.bp, console.bp, alerting.bp, account.bp, health.bp, sharing.bp,
                      search.bp, handoff.bp, attachments.bp):
        app.register_blueprint(blueprint)
    websocket.init_app(app)
    console.init_app(app)
    api.init_app(app)
    cli.init_app(app)
    return app


def _finish_config(app: Flask) -> None:
    from chatapp.services.llm import configured_models

    config = app.config
    if not config["SECRET_KEY"]:
        if not (config.get("DEBUG") or config.get("TESTING")):
            raise RuntimeError(
                "CHATAPP_SECRET_KEY is not set. Set it to a long random value "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        config["SECRET_KEY"] = os.urandom(32).hex()
    if not config["DATABASE_URL"]:
        os.makedirs(app.instance_path, exist_ok=True)
        config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'chatapp.db'}"
    config["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(config["DATABASE_URL"])
    configured_models(config)  # a model list that cannot be used stops the start, saying why
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", _engine_options(config))
    if config["SESSION_COOKIE_SECURE"] is None:
        config["SESSION_COOKIE_SECURE"] = not (config.get("DEBUG") or config.get("TESTING"))
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["REMEMBER_COOKIE_HTTPONLY"] = True
    config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    config["MAX_CONTENT_LENGTH"] = config.get("MAX_CONTENT_LENGTH") or 1024 * 1024
    config["WTF_CSRF_TIME_LIMIT"] = None  # the token lives as long as the login session


def _engine_options(config) -> dict:
    """The SQL connection pool of one process. A request or a job holds a connection only while
    it runs SQL (never across Redis calls, nor while a reply streams), so a few serve hundreds
    of greenlets: DATABASE_POOL_SIZE kept, as many more opened at peaks, a 10 s wait beyond.
    A database server's connections are tested before use (the server may have restarted);
    a SQLite file's cannot go stale, so they are not (a query less per request)."""
    url = config["SQLALCHEMY_DATABASE_URI"]
    if url in ("sqlite://", "sqlite:///:memory:"):  # one connection, not pooled
        return {}
    size = config["DATABASE_POOL_SIZE"]
    return {"pool_size": size, "max_overflow": size, "pool_timeout": 10,
            "pool_pre_ping": not url.startswith("sqlite")}


def _sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver (it cooperates with gevent)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
