"""Organising sessions: pin, archive, delete with an undo window, and undo. Web pages and the
API share these; the caller commits (except `delete`, which stops replies first)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from chatapp.extensions import db
from chatapp.models import REPLY_IN_PROGRESS, ChatMessage, ChatSession, as_utc, utcnow
from chatapp.services import conversation, lifecycle


def set_pinned(chat: ChatSession, pinned: bool) -> None:
    """Pin (to the top of the list, latest pinned first) or unpin."""
    if pinned != (chat.pinned_at is not None):
        chat.pinned_at = utcnow() if pinned else None


def set_archived(chat: ChatSession, archived: bool) -> None:
    """Archive (out of the main list, into the Archived one; no longer pinned) or bring back."""
    if archived != (chat.archived_at is not None):
        chat.archived_at = utcnow() if archived else None
    if archived:
        chat.pinned_at = None


def delete(chat: ChatSession) -> None:
    """Hide the session at once (it is purged once the undo window is over); replies being
    written are stopped first, so nothing goes on writing into a deleted chat. Committed."""
    writing = db.session.scalars(db.select(ChatMessage).where(
        ChatMessage.session_id == chat.id, ChatMessage.status.in_(REPLY_IN_PROGRESS))).all()
    for reply in writing:
        conversation.stop_reply(chat, reply)
    chat.deleted_at = utcnow()
    db.session.commit()
    lifecycle.announce(chat.id, deleted=True)  # pages still open on it (another tab) say so


def restorable(chat: ChatSession | None) -> bool:
    """True for a deleted session still within its undo window."""
    if chat is None or chat.deleted_at is None:
        return False
    window = timedelta(seconds=current_app.config["DELETE_UNDO_SECONDS"])
    return utcnow() - as_utc(chat.deleted_at) <= window


def restore(chat: ChatSession) -> None:
    """Undo a delete: the session is back as it was (pinned or archived as before). Committed."""
    chat.deleted_at = None
    db.session.commit()
    lifecycle.announce(chat.id, deleted=False)
