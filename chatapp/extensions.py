"""Flask extensions, created unbound and initialised by create_app()."""

import sqlite3

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for chatapp's models."""


# A commit leaves loaded objects as they are: expiring them would cost a query each when they are
# read again (to build events, answers, URLs), and that query would hold a pooled connection
# through the Redis calls that follow.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, _record) -> None:
    """SQLite (the embedded default) in WAL mode: readers never wait for the writer, commits
    do not fsync the whole file, and a writer waits for the other process's lock briefly
    instead of failing at once. Checkpoints are left to the default worker's checkpoint thread
    (worker/maintenance.py): a commit checkpoints (and fsyncs) only if the log grows past about
    40 MB, when that thread is not running."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA wal_autocheckpoint=10000")  # pages of 4 KB
        cursor.close()
