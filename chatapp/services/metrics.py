"""A session's numbers for its owner: when it started (and ended), how long it has lasted, how
many messages, how fast the replies came and how many tokens they used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, as_utc


@dataclass(frozen=True)
class SessionMetrics:
    """What the chat's details show."""

    started: datetime
    ended: datetime | None
    duration: timedelta
    messages: int
    replies_timed: int
    reply_ms_avg: int | None
    reply_ms_max: int | None
    tokens_in: int
    tokens_out: int


def reply_numbers() -> tuple:
    """SQL aggregates over messages: reply time average and longest (ms), tokens in and out
    (also grouped by session, for the admin console)."""
    m = ChatMessage
    return (db.func.avg(m.latency_ms), db.func.max(m.latency_ms),
            db.func.coalesce(db.func.sum(m.tokens_in), 0),
            db.func.coalesce(db.func.sum(m.tokens_out), 0))


def whole_ms(average) -> int | None:
    """An average number of milliseconds read from SQL, rounded (None stays None)."""
    return round(average) if average is not None else None


def of(chat: ChatSession) -> SessionMetrics:
    """The session's metrics, from one query."""
    m = ChatMessage
    row = db.session.execute(db.select(
        db.func.count(m.id), db.func.count(m.latency_ms), *reply_numbers(),
        db.func.max(m.created_at),
    ).where(m.session_id == chat.id)).one()
    count, timed, average, longest, tokens_in, tokens_out, last_message = row
    started = as_utc(chat.created_at)
    ended = as_utc(chat.ended_at)
    last = ended or as_utc(last_message) or started
    return SessionMetrics(started=started, ended=ended, duration=max(last - started, timedelta()),
                          messages=count, replies_timed=timed,
                          reply_ms_avg=whole_ms(average),
                          reply_ms_max=longest, tokens_in=int(tokens_in),
                          tokens_out=int(tokens_out))
