"""The embedded SQLite database: commits leave checkpoints to the default worker's thread."""

import os

from chatapp import create_app
from chatapp.extensions import db
from chatapp.models import User
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
