"""Which of a user's sessions a list shows, and in which order, a page at a time: the session
list page (pinned first, then by last activity) and the API's list share the query and the
keyset cursor. Deleted sessions are never listed."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select

from chatapp.extensions import db
from chatapp.models import ChatSession

BY_ACTIVITY = (ChatSession.last_activity_at.desc(), ChatSession.id.desc())


class BadCursor(ValueError):
    """A cursor chatapp did not give (or one altered on the way)."""


@dataclass(frozen=True)
class Page:
    """One page of the session list: the pinned sessions (first page only), then the others;
    `next_cursor` asks for the next page (None: none)."""

    pinned: list[ChatSession]
    sessions: list[ChatSession]
    next_cursor: str | None


def of_owner(owner_id: int, *, archived: bool) -> Select:
    """The owner's sessions that are not deleted, archived or not."""
    archive_filter = (ChatSession.archived_at.is_not(None) if archived
                      else ChatSession.archived_at.is_(None))
    return db.select(ChatSession).where(ChatSession.owner_id == owner_id,
                                        ChatSession.deleted_at.is_(None), archive_filter)


def keyset_page(query: Select, cursor: str | None, limit: int) -> tuple[list[ChatSession],
                                                                        str | None]:
    """`limit` sessions of `query` by last activity, after `cursor`; and the next page's cursor.
    BadCursor when `cursor` cannot be read."""
    after = decode_cursor(cursor)
    if after:
        moment, last_id = after
        query = query.where(db.or_(
            ChatSession.last_activity_at < moment,
            db.and_(ChatSession.last_activity_at == moment, ChatSession.id < last_id)))
    rows = db.session.scalars(query.order_by(*BY_ACTIVITY).limit(limit + 1)).all()
    page = list(rows[:limit])
    return page, (encode_cursor(page[-1]) if len(rows) > limit else None)


def page(owner_id: int, *, archived: bool, cursor: str | None, limit: int) -> Page:
    """A page of the list: archived sessions, or the others with every pinned one on the first
    page (most recently pinned first) and the rest by last activity."""
    query = of_owner(owner_id, archived=archived)
    pinned = []
    if not archived:
        if not cursor:
            pinned = list(db.session.scalars(query.where(ChatSession.pinned_at.is_not(None))
                                             .order_by(ChatSession.pinned_at.desc())))
        query = query.where(ChatSession.pinned_at.is_(None))
    sessions, next_cursor = keyset_page(query, cursor, limit)
    return Page(pinned, sessions, next_cursor)


def encode_cursor(chat: ChatSession) -> str:
    """The cursor of the page after `chat`."""
    raw = json.dumps([chat.last_activity_at.isoformat(), str(chat.id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The last activity and id a cursor points after (None for no cursor)."""
    if not raw:
        return None
    try:
        moment, session_id = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return datetime.fromisoformat(moment), uuid.UUID(session_id)
    except (ValueError, TypeError, binascii.Error):
        raise BadCursor("That page link is not one chatapp gave: start from the first page.") \
            from None
