"""Full-text search over a user's chats, behind one function (`search`) for pages and the API:
PostgreSQL full-text search (GIN indexes, chatapp/models) in production, SQLite FTS5 tables
(migration 0007) in the embedded default.

A user finds only their own sessions that are not deleted: their messages (finished ones) and
their names and client names. Hits come ranked by relevance, then recency, with a snippet whose
matched words are in <mark>: the database marks them with two private-use characters, the text is
escaped, then only those become tags, so nothing a message holds is ever read as HTML.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from markupsafe import Markup, escape

from chatapp.extensions import db
from chatapp.models import (
    MESSAGE_SEARCH_VECTOR,
    REPLY_IN_PROGRESS,
    SESSION_SEARCH_VECTOR,
    ChatMessage,
    ChatSession,
    as_utc,
)

MAX_QUERY_CHARS = 200
MAX_PAGE = 1000
PAGE_SIZE = 20
STATUSES = ("active", "idle", "ended", "archived")  # archived: ChatSession.archived_at is set
START, STOP = "\ue000", "\ue001"  # marks around matched words, replaced by <mark> after escaping
FTS_TABLES = ("chat_messages_fts", "chat_sessions_fts")  # SQLite only, with their shadow tables
_TERM = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
_LAST_WORD = re.compile(r"(?:^|\s)(\w+)$")
_CONFIG = sa.literal_column("'simple'::regconfig")  # see models.MESSAGE_SEARCH_VECTOR


class InvalidSearch(ValueError):
    """A search whose parameters cannot be used; `message` says why, for the user."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Query:
    """What to look for: the words typed, the filters and the page (1-based)."""

    text: str = ""
    client: str = ""
    date_from: date | None = None
    date_to: date | None = None
    status: str = ""
    page: int = 1

    def as_args(self, **changes) -> dict[str, str]:
        """The query string of this search (empty values left out), with `changes` applied."""
        args = {"q": self.text, "client": self.client, "status": self.status,
                "from": self.date_from.isoformat() if self.date_from else "",
                "to": self.date_to.isoformat() if self.date_to else "",
                "page": str(self.page) if self.page > 1 else ""}
        args.update({key: str(value) for key, value in changes.items()})
        return {key: value for key, value in args.items() if value}


@dataclass(frozen=True)
class Hit:
    """A message that matched (`message_id` set) or a session whose name or client matched."""

    session_id: uuid.UUID
    message_id: int | None
    name: Markup
    client: Markup
    snippet: Markup
    status: str
    at: datetime


@dataclass(frozen=True)
class Results:
    """One page of hits, and whether another page follows."""

    hits: list[Hit]
    more: bool


def include_object(_object, name: str, type_: str, _reflected: bool, _compare_to) -> bool:
    """Alembic: the SQLite FTS5 tables (migration 0007) are not models; comparisons skip them."""
    return not (type_ == "table" and name.startswith(FTS_TABLES))


def read_query(args: Mapping[str, str]) -> Query:
    """The search asked for by request parameters (q, client, from, to, status, page); raises
    InvalidSearch with a message for the user when one of them cannot be used."""
    text = " ".join(args.get("q", "").split())
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidSearch(f"Search for at most {MAX_QUERY_CHARS} characters.", "q")
    status = args.get("status", "")
    if status and status not in STATUSES:
        raise InvalidSearch(f"Status must be one of: {', '.join(STATUSES)}.", "status")
    date_from, date_to = _date(args, "from"), _date(args, "to")
    if date_from and date_to and date_from > date_to:
        raise InvalidSearch("The “from” date must not be after the “to” date.", "from")
    page = args.get("page", "1") or "1"
    if not page.isdigit() or not 1 <= int(page) <= MAX_PAGE:
        raise InvalidSearch(f"Page must be a number from 1 to {MAX_PAGE}.", "page")
    return Query(text=text, client=args.get("client", "").strip()[:200], date_from=date_from,
                 date_to=date_to, status=status, page=int(page))


def _date(args: Mapping[str, str], name: str) -> date | None:
    value = args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad_date(name)
    except ValueError:
        return _bad_date(name)


def _bad_date(name: str):
    raise InvalidSearch(f"The “{name}” date must be a date like 2026-11-24.", name)


def client_names(user_id: int) -> list[str]:
    """The client names of the user's sessions (not deleted), for the client filter."""
    return list(db.session.scalars(
        sa.select(ChatSession.client_name).distinct()
        .where(ChatSession.owner_id == user_id, ChatSession.deleted_at.is_(None),
               ChatSession.client_name.is_not(None))
        .order_by(ChatSession.client_name)))


def search(user_id: int, query: Query, *, session_id: uuid.UUID | None = None,
           per_page: int = PAGE_SIZE) -> Results:
    """One page of the user's hits for `query`. With `session_id`, only that session's messages,
    in the order they were written. Input is never read as query syntax: words and "phrases" are
    matched as text, -word excludes, and the last word also matches as a prefix (typing)."""
    terms = _terms(query.text)
    if not any(not negated for _, negated in terms):
        return Results([], False)
    prefix = _prefix(query.text)
    backend = _postgres if db.engine.dialect.name == "postgresql" else _sqlite
    scope = _scope(user_id, query, session_id)
    offset = (query.page - 1) * per_page
    rows = backend(query.text, terms, prefix, scope, session_id is None,
                   in_order=session_id is not None, limit=per_page + 1, offset=offset)
    hits = [Hit(session_id=row.session_id, message_id=row.message_id,
                name=highlight(row.name), client=highlight(row.client or ""),
                snippet=highlight(row.snippet or ""),
                status="archived" if row.archived_at else row.status,
                at=as_utc(row.at)) for row in rows[:per_page]]
    return Results(hits, len(rows) > per_page)


def highlight(marked: str) -> Markup:
    """Text with START/STOP marks as HTML: escaped, the marks as <mark> tags (always balanced,
    whatever marks the text itself held)."""
    parts, open_ = [], False
    for piece in re.split(f"([{START}{STOP}])", marked):
        if piece in (START, STOP):
            if (piece == START) != open_:
                parts.append("<mark>" if piece == START else "</mark>")
                open_ = not open_
        else:
            parts.append(str(escape(piece)))
    if open_:
        parts.append("</mark>")
    return Markup("".join(parts))


def _terms(text: str) -> list[tuple[str, bool]]:
    """Words and phrases typed, each with whether it is excluded (-word, -"a phrase"); those
    without a letter or digit are left out."""
    terms = []
    for match in _TERM.finditer(text):
        negated, term = match.group(1) or match.group(3), match.group(2) or match.group(4) or ""
        if re.search(r"\w", term):
            terms.append((term, bool(negated)))
    return terms


def _prefix(text: str) -> str | None:
    """The last word, which the user may still be typing (unless it ends a "phrase")."""
    match = _LAST_WORD.search(text)
    return match.group(1) if match and text.count('"') % 2 == 0 else None


def _scope(user_id: int, query: Query, session_id: uuid.UUID | None):
    """Conditions on the session (and the hit's date column) every hit must meet."""
    sqlite = db.engine.dialect.name == "sqlite"

    def moment(day: date) -> datetime:
        start = datetime.combine(day, time(), UTC)
        return start.replace(tzinfo=None) if sqlite else start  # SQLite keeps UTC without zone

    def conditions(at):
        where = [ChatSession.owner_id == user_id, ChatSession.deleted_at.is_(None)]
        if session_id is not None:
            where.append(ChatSession.id == session_id)
        if query.client:
            where.append(ChatSession.client_name == query.client)
        if query.status == "archived":
            where.append(ChatSession.archived_at.is_not(None))
        elif query.status:
            where += [ChatSession.status == query.status, ChatSession.archived_at.is_(None)]
        if query.date_from:
            where.append(at >= moment(query.date_from))
        if query.date_to and query.date_to < date.max:
            where.append(at < moment(query.date_to + timedelta(days=1)))
        return where

    return conditions


def _ranked(rank, at, message_id, *more):
    """The columns of one kind of hit: session, message (or NULL), rank, date, and `more`."""
    return [ChatSession.id.label("session_id"), message_id.label("message_id"),
            rank.label("rank"), at.label("at"), *more]


def _no_message():
    return sa.cast(sa.null(), ChatMessage.id.type)


def _page(branches, in_order: bool, limit: int, offset: int):
    """The hits of all branches, ordered and cut to one page (a subquery)."""
    union = sa.union_all(*branches).subquery()
    return (sa.select(union).order_by(*_order(union, in_order)).limit(limit).offset(offset)
            .subquery("page"))


def _order(rows, in_order: bool) -> list:
    if in_order:
        return [rows.c.at, rows.c.message_id]
    return [rows.c.rank.desc(), rows.c.at.desc(), rows.c.message_id.desc().nulls_last()]


def _postgres(text, terms, prefix, scope, with_sessions, *, in_order, limit, offset):
    """PostgreSQL: websearch_to_tsquery reads words, "phrases" and -words without ever failing;
    the last word is added as a prefix lexeme (letters and digits only, quoted). Snippets are
    made for the page's hits only (ts_headline reads the whole text)."""
    if prefix:
        head = text[:len(text) - len(prefix)]
        tsquery = sa.func.websearch_to_tsquery(_CONFIG, head).op("&&")(
            sa.func.to_tsquery(_CONFIG, f"'{prefix}':*"))
    else:
        tsquery = sa.func.websearch_to_tsquery(_CONFIG, text)
    message_vector = sa.literal_column(MESSAGE_SEARCH_VECTOR)
    branches = [
        sa.select(*_ranked(sa.func.ts_rank(message_vector, tsquery), ChatMessage.created_at,
                           ChatMessage.id))
        .join(ChatSession, ChatSession.id == ChatMessage.session_id)
        .where(message_vector.op("@@")(tsquery),
               ChatMessage.status.not_in(REPLY_IN_PROGRESS), *scope(ChatMessage.created_at))]
    if with_sessions:
        session_vector = sa.literal_column(SESSION_SEARCH_VECTOR)
        branches.append(
            sa.select(*_ranked(sa.func.ts_rank(session_vector, tsquery),
                               ChatSession.last_activity_at, _no_message()))
            .where(session_vector.op("@@")(tsquery), *scope(ChatSession.last_activity_at)))
    page = _page(branches, in_order, limit, offset)
    # one passage (fragments drop short words at their ends, and with them text of short messages)
    passage = f'StartSel="{START}", StopSel="{STOP}", MaxWords=30, MinWords=15'
    whole = f'StartSel="{START}", StopSel="{STOP}", HighlightAll=true'
    session_hit = page.c.message_id.is_(None)
    statement = (
        sa.select(page.c.session_id, page.c.message_id, page.c.at,
                  sa.case((session_hit, _headline(ChatSession.name, tsquery, whole)),
                          else_=ChatSession.name).label("name"),
                  sa.case((session_hit, _headline(ChatSession.client_name, tsquery, whole)),
                          else_=ChatSession.client_name).label("client"),
                  _headline(ChatMessage.content, tsquery, passage).label("snippet"),
                  ChatSession.status, ChatSession.archived_at)
        .select_from(page)
        .join(ChatSession, ChatSession.id == page.c.session_id)
        .outerjoin(ChatMessage, ChatMessage.id == page.c.message_id)
        .order_by(*_order(page, in_order)))
    return db.session.execute(statement).all()


def _headline(text, tsquery, options: str):
    """ts_headline of the text as the index reads it (a space after each "<", see chatapp/models),
    then without those spaces again (there is exactly one after each "<")."""
    spaced = sa.func.replace(text, "<", "< ")
    return sa.func.replace(sa.func.ts_headline(_CONFIG, spaced, tsquery, options), "< ", "<")


def _sqlite(text, terms, prefix, scope, with_sessions, *, in_order, limit, offset):
    """SQLite FTS5: each word or phrase goes in as a quoted string, never as query syntax."""
    match = _fts5_query(terms, prefix)
    messages_fts = sa.table("chat_messages_fts", sa.column("rowid"))
    sessions_fts = sa.table("chat_sessions_fts", sa.column("session_id"))
    messages = (
        sa.select(*_ranked(
            -sa.func.bm25(sa.literal_column("chat_messages_fts")), ChatMessage.created_at,
            ChatMessage.id, ChatSession.name.label("name"),
            ChatSession.client_name.label("client"),
            sa.func.snippet(sa.literal_column("chat_messages_fts"), 0, START, STOP, "…", 24)
            .label("snippet"), ChatSession.status, ChatSession.archived_at))
        .select_from(messages_fts)
        .join(ChatMessage, ChatMessage.id == messages_fts.c.rowid)
        .join(ChatSession, ChatSession.id == ChatMessage.session_id)
        .where(sa.literal_column("chat_messages_fts").op("MATCH")(match),
               ChatMessage.status.not_in(REPLY_IN_PROGRESS), *scope(ChatMessage.created_at)))
    branches = [messages]
    if with_sessions:
        fts = sa.literal_column("chat_sessions_fts")
        branches.append(
            sa.select(*_ranked(-sa.func.bm25(fts), ChatSession.last_activity_at, _no_message(),
                               sa.func.highlight(fts, 1, START, STOP).label("name"),
                               sa.func.highlight(fts, 2, START, STOP).label("client"),
                               sa.null().label("snippet"), ChatSession.status,
                               ChatSession.archived_at))
            .select_from(sessions_fts)
            .join(ChatSession, ChatSession.id == sessions_fts.c.session_id)  # both as stored
            .where(fts.op("MATCH")(match), *scope(ChatSession.last_activity_at)))
    page = _page(branches, in_order, limit, offset)
    return db.session.execute(sa.select(page).order_by(*_order(page, in_order))).all()


def _fts5_query(terms: list[tuple[str, bool]], prefix: str | None) -> str:
    """An FTS5 query from the terms: quoted strings (quotes doubled), ANDed, the last one a
    prefix when it is still being typed, excluded ones after NOT."""
    def quoted(term: str) -> str:
        return '"' + term.replace('"', '""') + '"'

    wanted = [quoted(term) for term, negated in terms if not negated]
    if prefix and terms and terms[-1] == (prefix, False):
        wanted[-1] += " *"
    unwanted = "".join(f" NOT {quoted(term)}" for term, negated in terms if negated)
    return f"({' AND '.join(wanted)}){unwanted}"
