"""Regenerating the last reply, editing the last question, and moving between versions.

A message with more than one version keeps them all in `meta["versions"]` (oldest first) and
`meta["shown"]` says which one its content shows; the prompt of later replies uses what is shown.
"""

from __future__ import annotations

from chatapp.extensions import db
from chatapp.models import REPLY_IN_PROGRESS, ChatMessage, ChatSession
from chatapp.services.conversation import (
    MessageRejected,
    commit_and_publish,
    lock_latest_message,
    refuse_while_taken_over,
    restart_reply,
    validate_content,
)


def regenerate(chat: ChatSession, reply: ChatMessage) -> None:
    """Write the session's latest reply again, keeping the current one as a version."""
    refuse_while_taken_over(chat)
    _lock_latest(chat, reply, "Only the latest reply can be regenerated.")
    restart_reply(reply, versions=_versions(reply))


def edit_and_regenerate(chat: ChatSession, question: ChatMessage, raw_content: str | None) -> None:
    """Replace the latest question (keeping the old wording as a version), then regenerate the
    reply to it."""
    refuse_while_taken_over(chat)
    content = validate_content(raw_content)
    reply = db.session.scalar(db.select(ChatMessage).filter_by(session_id=chat.id,
                                                               seq=question.seq + 1))
    if reply is None:
        raise MessageRejected("Only the latest question can be edited.", status=409)
    _lock_latest(chat, reply, "Only the latest question can be edited.")
    if question.sender != "user":
        db.session.rollback()
        raise MessageRejected("Only your own questions can be edited.", status=409)
    versions = [*_versions(question), {"content": content}]
    question.content = content
    question.meta = {**(question.meta or {}), "versions": versions, "shown": len(versions) - 1}
    restart_reply(reply, versions=_versions(reply), also_updated=(question,))


def show_version(chat: ChatSession, message: ChatMessage, index: int) -> None:
    """Show version `index` (0-based) of a message that is not being written."""
    versions = (message.meta or {}).get("versions") or []
    if message.status in REPLY_IN_PROGRESS:
        raise MessageRejected("Wait for the reply to finish before switching versions.", 409)
    if not 0 <= index < len(versions):
        raise MessageRejected("That version does not exist.", status=404)
    version = versions[index]
    message.content = version["content"]
    if message.sender == "assistant":
        message.status = version["status"]
        message.tokens_in, message.tokens_out = version["tokens_in"], version["tokens_out"]
        message.latency_ms = version["latency_ms"]
    meta = {key: value for key, value in (message.meta or {}).items()
            if key not in ("error", "retryable")}
    if version.get("error"):
        meta.update(error=version["error"], retryable=version["retryable"])
    message.meta = {**meta, "shown": index}
    commit_and_publish(chat.id, [("message.updated", message)])


def _versions(message: ChatMessage) -> list[dict]:
    """The message's versions so far, the shown one included (one, when never changed)."""
    return list((message.meta or {}).get("versions") or [message.as_version()])


def _lock_latest(chat: ChatSession, reply: ChatMessage, refusal: str) -> None:
    """Refuse unless `reply` is the session's latest message, an assistant reply not in progress."""
    latest = lock_latest_message(chat)
    if reply.sender != "assistant" or latest.id != reply.id:
        db.session.rollback()
        raise MessageRejected(refusal, status=409)
    if reply.status in REPLY_IN_PROGRESS:
        db.session.rollback()
        raise MessageRejected("The assistant is still answering: stop it or wait for it first.",
                              status=409)
