"""Pages of a session's history, read by seq through the (session_id, seq) unique index: the chat
view shows the latest page (or the page around one message) and loads the others as the reader
scrolls, so a long session never loads all its messages at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from chatapp.extensions import db
from chatapp.models import ChatMessage

MAX_PAGE_SIZE = 200  # the most messages one request may ask for (`limit`)


@dataclass(frozen=True)
class Window:
    """Consecutive messages in seq order, and where the history goes on: `older` is the seq to
    load before (None at the start of the history), `newer` the seq to load after (None when the
    window reaches the latest message)."""

    messages: list[ChatMessage]
    older: int | None
    newer: int | None


def read(session_id: uuid.UUID, limit: int, *, before: int | None = None,
         after: int | None = None) -> tuple[list[ChatMessage], bool]:
    """Up to `limit` messages in seq order, numbered below `before` and above `after` (either
    may be None): the first ones after `after` when it is given, else the last ones; and whether
    more lie beyond them (after them, or before them)."""
    m = ChatMessage
    query = db.select(m).where(m.session_id == session_id)
    if before is not None:
        query = query.where(m.seq < before)
    if after is not None:
        query = query.where(m.seq > after).order_by(m.seq)
    else:
        query = query.order_by(m.seq.desc())
    rows = db.session.scalars(query.limit(limit + 1)).all()
    return sorted(rows[:limit], key=lambda message: message.seq), len(rows) > limit


def _older_than(session_id: uuid.UUID, seq: int | None, limit: int, *,
                inclusive: bool = False) -> tuple[list[ChatMessage], bool]:
    """Up to `limit` messages before `seq` (None: the latest), and whether more are before."""
    bound = seq + 1 if seq is not None and inclusive else seq
    return read(session_id, limit, before=bound)


def _newer_than(session_id: uuid.UUID, seq: int, limit: int) -> tuple[list[ChatMessage], bool]:
    """Up to `limit` messages after `seq`, and whether more are after them."""
    return read(session_id, limit, after=seq)


def _window(messages: list[ChatMessage], more_older: bool, more_newer: bool) -> Window:
    return Window(messages, messages[0].seq if more_older and messages else None,
                  messages[-1].seq if more_newer and messages else None)


def latest(session_id: uuid.UUID, limit: int) -> Window:
    """The last `limit` messages."""
    messages, more = _older_than(session_id, None, limit)
    return _window(messages, more, False)


def before(session_id: uuid.UUID, seq: int, limit: int) -> Window:
    """The `limit` messages just before `seq`."""
    messages, more = _older_than(session_id, seq, limit)
    # newer ones exist when `seq` was a message's (the usual case: the oldest one shown)
    return _window(messages, more, bool(messages))


def after(session_id: uuid.UUID, seq: int, limit: int) -> Window:
    """The `limit` messages just after `seq`."""
    messages, more = _newer_than(session_id, seq, limit)
    return _window(messages, bool(messages) and seq > 0, more)


def around(message: ChatMessage, limit: int) -> Window:
    """About `limit` messages centred on `message` (it and the older half, then the newer half)."""
    newer_count = limit // 2
    older, more_older = _older_than(message.session_id, message.seq, limit - newer_count,
                                    inclusive=True)
    newer, more_newer = _newer_than(message.session_id, message.seq, newer_count)
    return _window(older + newer, more_older, more_newer)


class BadPage(ValueError):
    """Paging arguments that do not name a page (the message says what is wrong)."""


def _number(raw: str, name: str, low: int, high: int) -> int:
    if not raw.isdigit() or len(raw) > 18 or not low <= int(raw) <= high:
        raise BadPage(f"{name} must be a whole number from {low:,} to {high:,}.")
    return int(raw)


def page_from(args, default_limit: int) -> tuple[str, int, int]:
    """("before" or "after", seq, limit) from query arguments `before` / `after` (exactly one)
    and `limit` (1 to MAX_PAGE_SIZE, else `default_limit`); raises BadPage."""
    given = [name for name in ("before", "after") if name in args]
    if len(given) != 1:
        raise BadPage("Give either before or after: the number (seq) of the message to page from.")
    direction = given[0]
    seq = _number(args[direction], direction, 0, 10**18)
    limit = args.get("limit")
    return direction, seq, default_limit if limit is None else _number(limit, "limit", 1,
                                                                       MAX_PAGE_SIZE)
