"""Periodic upkeep jobs: replies whose worker died are failed (text kept) or written again;
sessions go idle, end and are purged (services/lifecycle.py)."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from datetime import UTC, timedelta

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.orm import load_only

from chatapp.extensions import db
from chatapp.models import REPLY_IN_PROGRESS, ChatMessage, utcnow
from chatapp.services import control, events, handoff, jobs, lifecycle
from chatapp.services.conversation import restart_reply
from chatapp.services.redis_client import get_redis
from worker import get_app
from worker.llm import end_reply

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a reply that keeps killing its worker is failed, not run forever
INTERRUPTED = "The reply was interrupted (its worker stopped). Retry to write it again."
WAITING = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
JOBLESS_KEY = "chat:reply:{}:{}:jobless"  # message id, attempt: seen pending without a job
JOBLESS_MEMORY = 3  # orphan checks: how long a sighting is remembered
SQLITE_CHECKPOINT_INTERVAL = 1.0  # seconds
# Held while a checkpoint runs and while RQ forks a job's process: a process forked while another
# thread is inside SQLite inherits SQLite's mutexes locked, and its first connection hangs forever.
_sqlite_in_use = threading.Lock()


def reap_orphan_replies() -> dict[str, int]:
    """Find replies in progress whose job stopped beating: re-run those that sent no text yet,
    fail the others with their text so far. Returns how many of each."""
    app = get_app()
    counts = {"rerun": 0, "failed": 0}
    with app.app_context():
        r = get_redis()
        ttl = app.config["REPLY_HEARTBEAT_TTL"]
        in_progress = [(reply.id, reply.attempt) for reply in db.session.scalars(
            db.select(ChatMessage).options(load_only(ChatMessage.id, ChatMessage.meta))
            .where(ChatMessage.status.in_(REPLY_IN_PROGRESS)))]
        db.session.close()
        # Only the silent ones are looked at closer: a check of a thousand live replies costs
        # one query and one round trip, not a thousand of each.
        for reply_id, attempt in control.silent(r, in_progress):
            reply = db.session.get(ChatMessage, reply_id)  # afresh: handling one ends the session
            if reply is None or reply.status not in REPLY_IN_PROGRESS or reply.attempt != attempt:
                continue
            # Listened again, after the row: a job that just started beats, then marks its reply
            # streaming, which a heartbeat read before the row would take for a dead job's.
            if not control.silent(r, [(reply_id, attempt)]):
                continue
            if _job_still_coming(r, reply, ttl, app.config["REAPER_INTERVAL"]):
                continue
            text = events.snapshot(r, reply.session_id)[1].get(reply.id) or reply.content
            # A worker that only looked dead (frozen, overloaded) must not write on afterwards.
            control.request_stop(r, reply.id, reply.attempt)
            if not text and reply.attempt + 1 < MAX_ATTEMPTS:
                log.warning("reply %s lost its worker before any text: running it again", reply.id)
                restart_reply(reply)
                counts["rerun"] += 1
            else:
                log.warning("reply %s lost its worker: failed with its text so far", reply.id)
                end_reply(r, events.LogSettings.from_config(app.config), reply.id, "failed", text,
                          error=INTERRUPTED, retryable=True)
                counts["failed"] += 1
    return counts


def _job_still_coming(r, reply: ChatMessage, ttl: float, interval: float) -> bool:
    """True when the reply's job waits in its queue, or started too recently to have beaten, or
    is not queued yet: the web process saves a reply before it queues its job, so a reply without
    a job is only taken for an orphan when the previous check found it so too."""
    if reply.status != "pending":
        return False
    try:
        job = Job.fetch(jobs.reply_job_id(reply.id, reply.attempt), connection=r)
    except NoSuchJobError:
        return bool(r.set(JOBLESS_KEY.format(reply.id, reply.attempt), 1, nx=True,
                          px=int(JOBLESS_MEMORY * interval * 1000)))
    status = job.get_status(refresh=False)
    if status in WAITING:
        return True
    started = job.started_at
    return status == JobStatus.STARTED and started is not None and \
        utcnow() - started.replace(tzinfo=UTC) < timedelta(seconds=ttl)


def keep_sessions() -> dict[str, int]:
    """Idle, end and purge sessions (services/lifecycle.py); returns how many of each."""
    with get_app().app_context():
        done = lifecycle.upkeep()
    return {"idled": len(done.idled), "ended": len(done.ended), "expired": done.expired,
            "purged": done.purged, "unsent_files": done.unsent_files}


def end_lapsed_takeovers() -> int:
    """Announce takeovers whose lock expired (services/handoff.py); returns how many."""
    with get_app().app_context():
        return handoff.end_lapsed_takeovers()


def schedule_upkeep(config) -> list[threading.Thread]:
    """Ask for an orphan check and a check for lapsed takeovers every REAPER_INTERVAL seconds,
    for the sessions' upkeep every UPKEEP_INTERVAL, and for the critical-error checks every
    ALERT_CHECK_INTERVAL."""
    return [_every(interval, f"{function} schedule",
                   lambda function=function, interval=interval:
                   jobs.enqueue_periodic(function, interval))
            for function, interval in (
                ("worker.maintenance.reap_orphan_replies", config["REAPER_INTERVAL"]),
                ("worker.maintenance.end_lapsed_takeovers", config["REAPER_INTERVAL"]),
                ("worker.maintenance.keep_sessions", config["UPKEEP_INTERVAL"]),
                ("worker.notify.check_critical", config["ALERT_CHECK_INTERVAL"]))]


def checkpoint_sqlite(path: str) -> tuple[int, int, int]:
    """Copy what the write-ahead log of SQLite database `path` holds into the database file,
    waiting for no reader or writer (PASSIVE); SQLite's (busy, frames in the log, frames copied).
    It uses a connection of its own: never one of the pool's, which the processes RQ forks for
    jobs inherit."""
    with _sqlite_in_use, contextlib.closing(sqlite3.connect(path)) as connection:
        return connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()


def schedule_sqlite_checkpoints() -> threading.Thread | None:
    """With the embedded SQLite database, checkpoint every SQLITE_CHECKPOINT_INTERVAL from this
    process. The web and llm processes run many requests or replies on one event loop, where a
    checkpoint's fsync would hold up all of them; their connections leave checkpoints to this
    thread (see chatapp/extensions.py). Call it from a process that gevent has not patched."""
    with get_app().app_context():
        url = db.engine.url
    if url.get_backend_name() != "sqlite":
        return None
    os.register_at_fork(before=_sqlite_in_use.acquire, after_in_parent=_sqlite_in_use.release,
                        after_in_child=_sqlite_in_use.release)
    return _every(SQLITE_CHECKPOINT_INTERVAL, "sqlite-checkpoint",
                  lambda: checkpoint_sqlite(url.database))


class _QuietUpkeep(logging.Filter):
    """Keeps the periodic upkeep jobs out of RQ's INFO lines (four per job, the orphan check
    every few seconds); their warnings, and every other job's lines, stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return record.levelno > logging.INFO or not any(
            prefix in message or description in message
            for prefix, description in jobs.PERIODIC.values())


def quiet_upkeep_in_rq_log() -> None:
    """Leave the periodic orphan check out of RQ's worker log below warnings."""
    logging.getLogger("rq.worker").addFilter(_QuietUpkeep())


def _every(seconds: float, name: str, action) -> threading.Thread:
    """Run `action` in the app's context every `seconds`, from a daemon thread (a greenlet when
    gevent has patched the process)."""
    app = get_app()

    def loop():
        while True:
            try:
                with app.app_context():
                    action()
            except Exception:
                log.warning("%s failed", name, exc_info=True)
            threading.Event().wait(seconds)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread
