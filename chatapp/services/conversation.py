"""Posting messages and (re)starting replies: SQL first, then the event log, then the job."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import datetime

from flask import current_app

from chatapp.extensions import db
from chatapp.models import REPLY_IN_PROGRESS, ChatMessage, ChatSession, User, utcnow
from chatapp.services import control, events, jobs, lifecycle, takeover, titles, uploads
from chatapp.services.redis_client import get_redis

ASSISTANT_NAME = "Assistant"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
DEFAULT_SESSION_NAME = "New chat"


class MessageRejected(Exception):
    """A message that cannot be accepted, with the reason to show and the HTTP status."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


def validate_content(raw: str | None, with_files: bool = False) -> str:
    """The message text, stripped; rejected when over the length limit, or empty unless the
    message carries files."""
    content = (raw or "").strip()
    limit = current_app.config["MAX_MESSAGE_CHARS"]
    if not content and not with_files:
        raise MessageRejected("Type a message before sending.")
    if len(content) > limit:
        raise MessageRejected(
            f"Your message is {len(content):,} characters long; the limit is {limit:,}. "
            "Shorten it or split it into several messages."
        )
    return content


def validate_client_id(raw: str | None) -> str | None:
    """The client's id for a message (letters, digits, - and _; 8 to 64 long), or None."""
    if not raw:
        return None
    if not _CLIENT_ID.match(raw):
        raise MessageRejected("client_id must be 8 to 64 letters, digits, '-' or '_'.", status=400)
    return raw


def post_user_message(chat: ChatSession, user: User, raw_content: str | None,
                      client_id: str | None = None, attachment_ids: Sequence = ()):
    """Store the user's message and a pending reply in one transaction, then start the reply.

    A send repeating an earlier `client_id` of this session returns the messages it created
    instead (double-submit, retry after a lost response). Refused (409) while a reply of this
    session is still being written: one reply at a time keeps the history in a clear order.
    While an administrator has taken the session over, only the user's message is stored (the
    reply is None): the admin answers. The lock is read with the session's row locked, so a
    takeover either comes first (no reply) or finds the reply and stops it. `attachment_ids`
    are the user's scanned uploads in this chat that the message carries (uploads.claim).
    """
    content = validate_content(raw_content, with_files=bool(attachment_ids))
    client_id = validate_client_id(client_id)
    was_ended = chat.status == "ended"
    now = utcnow()
    locked = lock_session(chat, now)
    if client_id and (earlier := _sent_before(locked, client_id)):
        db.session.rollback()
        return earlier
    last_seq, replies_in_progress = _last_seq_and_replies_in_progress(locked)
    taken_over = takeover.holder(get_redis(), locked.id) is not None
    if replies_in_progress and not taken_over:  # taken over: the reply is being stopped
        db.session.rollback()
        raise MessageRejected("The assistant is still answering. Wait for the reply to finish "
                              "(or stop it), then send your message.", status=409)
    try:
        files = uploads.claim(locked, user, list(attachment_ids),
                              current_app.config["UPLOAD_MAX_FILES"])
    except uploads.Rejected as rejected:
        db.session.rollback()
        raise MessageRejected(rejected.message, status=rejected.status) from None
    seq = last_seq + 1
    user_message = ChatMessage(session_id=locked.id, seq=seq, sender="user", client_id=client_id,
                               author=user.display_name, content=content, status="done",
                               created_at=now,
                               meta={"files": [uploads.file_view(f) for f in files]} if files
                               else {})
    reply = None if taken_over else ChatMessage(
        session_id=locked.id, seq=seq + 1, sender="assistant", author=ASSISTANT_NAME, content="",
        status="pending", created_at=now)
    db.session.add_all([user_message, *([reply] if reply else [])])
    db.session.flush()
    for attachment in files:
        attachment.message_id = user_message.id
    needs_title = locked.name == DEFAULT_SESSION_NAME and not locked.named_by_owner
    if needs_title:
        locked.name = titles.fallback(content or files[0].name)
    commit_and_publish(locked.id, [("message.created", message)
                                   for message in (user_message, reply) if message],
                       reply_started=reply)
    if needs_title and current_app.config["AUTO_TITLES"]:
        jobs.enqueue_title(locked.id)
    lifecycle.idle_others(locked)
    db.session.commit()
    if was_ended:
        lifecycle.announce_reopened(locked)
    return user_message, reply


def retry_reply(chat: ChatSession, message: ChatMessage) -> ChatMessage:
    """Generate a failed reply again, in place; only the session's latest reply can be retried."""
    refuse_while_taken_over(chat)
    latest = lock_latest_message(chat)
    if message.sender != "assistant" or message.status != "failed" or latest.id != message.id:
        db.session.rollback()
        raise MessageRejected("Only the latest failed reply can be retried.", status=409)
    restart_reply(message)
    return message


def refuse_while_taken_over(chat: ChatSession) -> None:
    """Refuse (409) to start a reply while an administrator has taken the session over."""
    holder = takeover.holder(get_redis(), chat.id)
    if holder is not None:
        raise MessageRejected(f"{holder.name} has taken over this chat: the assistant is paused "
                              "until they hand it back.", status=409)


def lock_session(chat: ChatSession, now: datetime | None = None) -> ChatSession:
    """Lock the session's row until the transaction ends (changes to its last exchange are
    serialized), mark it active, and return it as it is now. The lock is taken by writing, which
    works alike on every database: SQLite ignores FOR UPDATE and locks a transaction only at its
    first write, so two processes could otherwise both read the session before either's
    change."""
    now = now or utcnow()
    return db.session.scalar(
        db.update(ChatSession).where(ChatSession.id == chat.id)
        .values(last_activity_at=now, **lifecycle.active_values(now)).returning(ChatSession)
        .execution_options(populate_existing=True))


def lock_latest_message(chat: ChatSession) -> ChatMessage | None:
    """Lock the session's row (see lock_session) and return its latest message."""
    lock_session(chat)
    return db.session.scalar(db.select(ChatMessage).where(ChatMessage.session_id == chat.id)
                             .order_by(ChatMessage.seq.desc()).limit(1))


def restart_reply(message: ChatMessage, versions: list[dict] | None = None,
                  also_updated: tuple[ChatMessage, ...] = ()) -> None:
    """Write reply `message` again from scratch, as a new attempt (a retry, a regeneration, or a
    reply whose worker died before sending any text). `versions` are the earlier versions to
    keep (the new one is added when it ends); `also_updated` messages are announced with it."""
    attempt = message.attempt + 1
    versions = versions if versions is not None else (message.meta or {}).get("versions")
    message.status = "pending"
    message.content = ""
    message.meta = {"attempt": attempt, **({"versions": versions, "shown": len(versions)}
                                           if versions else {})}
    message.tokens_in = message.tokens_out = message.latency_ms = None
    updated = [("message.updated", other) for other in also_updated]
    commit_and_publish(message.session_id, [*updated, ("message.updated", message)],
                       reply_started=message)


def stop_reply(chat: ChatSession, message: ChatMessage) -> None:
    """Stop a reply being written: a pending one ends here, a streaming one is told to stop and
    ends within a moment with its text so far (status cancelled, a reply.cancelled event)."""
    if message.sender != "assistant" or message.status not in REPLY_IN_PROGRESS:
        raise MessageRejected("This reply is not being written any more.", status=409)
    not_started = db.session.execute(
        db.update(ChatMessage).where(ChatMessage.id == message.id, ChatMessage.status == "pending")
        .values(status="cancelled")
    ).rowcount
    db.session.commit()
    r = get_redis()
    if not_started:
        db.session.refresh(message)
        events.end_reply(r, chat.id, message.id, "reply.cancelled", message_event(message),
                         events.LogSettings.from_config(current_app.config))
    else:
        control.request_stop(r, message.id, message.attempt)


def message_event(message: ChatMessage) -> dict:
    """The data of an event that carries a whole message."""
    return {"message_id": message.id, "sender": message.sender, "author": message.author,
            "message": message.to_view()}


def commit_and_publish(session_id, items: list[tuple[str, ChatMessage]],
                       reply_started: ChatMessage | None = None) -> None:
    """Commit the session's changes, then append events carrying the messages in `items`;
    `reply_started` is a reply to write: marked as in progress and its job queued in the same
    Redis transaction as the events."""
    db.session.commit()
    data = [(type_, message_event(message)) for type_, message in items]
    started, enqueue = (), None
    if reply_started is not None:
        started = (reply_started.id,)
        enqueue = functools.partial(jobs.enqueue_reply, reply_started.id, reply_started.attempt)
    events.append_many(get_redis(), session_id, data,
                       events.LogSettings.from_config(current_app.config),
                       replies_started=started, also=enqueue)


def _sent_before(chat: ChatSession, client_id: str) -> tuple[ChatMessage, ChatMessage] | None:
    """The user message sent with `client_id` and the reply that followed it, if any."""
    earlier = db.session.scalar(db.select(ChatMessage).filter_by(session_id=chat.id,
                                                                 client_id=client_id))
    if earlier is None:
        return None
    reply = db.session.scalar(db.select(ChatMessage).filter_by(  # none if sent while taken over
        session_id=chat.id, seq=earlier.seq + 1, sender="assistant"))
    return earlier, reply


def _last_seq_and_replies_in_progress(chat: ChatSession) -> tuple[int, int]:
    """The session's highest message number (0 when empty) and how many of its replies are
    being written, in one query."""
    last, in_progress = db.session.execute(
        db.select(db.func.max(ChatMessage.seq),
                  db.func.count().filter(ChatMessage.status.in_(REPLY_IN_PROGRESS)))
        .where(ChatMessage.session_id == chat.id)
    ).one()
    return last or 0, in_progress

