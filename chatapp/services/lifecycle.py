"""A session's life: active while the consultant works in it (one at a time per user), idle after
SESSION_IDLE_MINUTES without activity or when another is opened, ended after SESSION_END_HOURS
without activity (reopened by the owner, or by sending), deleted after SESSION_RETENTION_DAYS
once ended (0: kept), and purged DELETE_UNDO_SECONDS after its owner deleted it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from chatapp.extensions import db
from chatapp.models import Attachment, ChatSession, as_utc, utcnow
from chatapp.services import events, storage
from chatapp.services.redis_client import get_redis


@dataclass(frozen=True)
class Upkeep:
    """What one pass of `upkeep` changed: session ids gone idle, ended, and counts deleted."""

    idled: list
    ended: list
    expired: int
    purged: int
    unsent_files: int = 0  # uploads never sent in a message, dropped after UNSENT_UPLOAD_HOURS


def active_values(now: datetime) -> dict:
    """The fields of a session in use at `now` (an ended one is reopened)."""
    return {"status": "active", "ended_at": None, "expires_at": now + idle_after()}


def idle_others(chat: ChatSession) -> None:
    """The owner's other active session goes idle (the caller commits). Sending runs it after
    its own commit: a transaction holding one session's row lock never waits for another's."""
    db.session.flush()  # a new session gets its id
    db.session.execute(
        db.update(ChatSession)
        .where(ChatSession.owner_id == chat.owner_id, ChatSession.id != chat.id,
               ChatSession.status == "active")
        .values(status="idle", expires_at=None))


def open_session(chat: ChatSession, reopen: bool = False) -> None:
    """The owner opened `chat` (or, with `reopen`, asked to continue it): it becomes their active
    session. Merely opening an ended session leaves it ended."""
    if chat.status == "ended" and not reopen:
        return
    was_ended = chat.status == "ended"
    for name, value in active_values(utcnow()).items():
        setattr(chat, name, value)
    idle_others(chat)
    db.session.commit()
    if was_ended:
        announce_reopened(chat)


def announce_reopened(chat: ChatSession) -> None:
    """Tell the chat's open pages it is going on again (their ended note goes)."""
    announce(chat.id, status="active")


def announce(session_id, **fields) -> None:
    """Tell the session's open pages (and API clients) of its changed `fields`: a
    session.updated event."""
    events.append(get_redis(), session_id, "session.updated", {"id": str(session_id), **fields},
                  events.LogSettings.from_config(current_app.config))


def idle_after() -> timedelta:
    """How long a session stays active without activity."""
    return timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def upkeep(now: datetime | None = None) -> Upkeep:
    """One pass of the periodic job: sessions past their idle deadline go idle, sessions without
    activity for SESSION_END_HOURS end (at their last activity), ended sessions past retention and
    deleted sessions past the undo window are deleted, with their attachments' files; so are
    uploads never sent after UNSENT_UPLOAD_HOURS. Open pages hear of the changes."""
    now = now or utcnow()
    config = current_app.config
    s = ChatSession
    idled = db.session.scalars(
        db.update(s).where(s.status == "active", s.expires_at < now)
        .values(status="idle", expires_at=None).returning(s.id)).all()
    ended = db.session.execute(
        db.update(s).where(s.status != "ended",
                           s.last_activity_at < now - timedelta(hours=config["SESSION_END_HOURS"]))
        .values(status="ended", expires_at=None, ended_at=s.last_activity_at)
        .returning(s.id, s.ended_at)).all()
    expired = 0
    if config["SESSION_RETENTION_DAYS"]:
        expired = delete_sessions(db.and_(
            s.status == "ended",
            s.ended_at < now - timedelta(days=config["SESSION_RETENTION_DAYS"])))
    unsent_files = _drop_unsent_uploads(now - timedelta(hours=config["UNSENT_UPLOAD_HOURS"]))
    purged = delete_sessions(  # (commits the changes above too)
        s.deleted_at < now - timedelta(seconds=config["DELETE_UNDO_SECONDS"]))
    r, settings = get_redis(), events.LogSettings.from_config(config)
    for session_id in idled:
        if session_id not in {row.id for row in ended}:
            events.append(r, session_id, "session.updated",
                          {"id": str(session_id), "status": "idle"}, settings)
    for session_id, ended_at in ended:
        events.append(r, session_id, "session.updated",
                      {"id": str(session_id), "status": "ended",
                       "ended_at": as_utc(ended_at).isoformat()}, settings)
    return Upkeep(idled=list(idled), ended=[row.id for row in ended], expired=expired,
                  purged=purged, unsent_files=unsent_files)


def _drop_unsent_uploads(before: datetime) -> int:
    """Delete the uploads made before `before` that were never sent in a message (attached,
    then left in a composer, or cancelled as they arrived), their stored files with them."""
    condition = db.and_(Attachment.origin == "upload", Attachment.message_id.is_(None),
                        Attachment.created_at < before)
    keys = storage.keys_of_attachments(condition)
    count = db.session.execute(db.delete(Attachment).where(condition)).rowcount
    db.session.commit()
    storage.delete_all(keys)
    return count



def delete_sessions(condition) -> int:
    """Delete the sessions matching `condition` for good, committed: their rows, the rows that
    refer to them, then their attachments' stored files. Returns how many sessions."""
    files = storage.keys_of_sessions(condition)
    count = _delete(ChatSession.__table__, condition)
    db.session.commit()
    storage.delete_all(files)
    return count

def _delete(table: sa.Table, condition) -> int:
    """Delete `table`'s rows matching `condition` and, first, the rows that refer to them, at any
    depth (SQLite does not cascade: its foreign keys are not enforced). Returns the rows deleted
    from `table`."""
    for child in db.metadata.sorted_tables:
        for key in child.foreign_keys:
            if key.column.table is table:
                doomed = sa.select(key.column).where(condition)
                _delete(child, key.parent.in_(doomed))
    return db.session.execute(table.delete().where(condition)).rowcount
