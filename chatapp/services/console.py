"""The admin console's numbers: every user's sessions (filtered, sorted, a page at a time, with
each one's reply times and tokens), the work waiting in each RQ queue, and the usage metrics of
a period. Aggregates are computed in SQL, in one statement per list, on PostgreSQL and SQLite
alike; deleted sessions never count."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from rq.registry import FailedJobRegistry
from werkzeug.datastructures import MultiDict

from chatapp.extensions import db
from chatapp.models import SESSION_STATUSES, ChatMessage, ChatSession, User, as_utc
from chatapp.services import metrics as session_metrics
from chatapp.services.jobs import QUEUES, queue

PER_PAGE = 50
MAX_PAGE = 200  # offset paging, capped: narrow the filters to see older sessions
SORTS = ("started", "duration", "user", "activity")
YES_NO = ("yes", "no")
MAX_PERIOD_DAYS = 366


class BadFilter(ValueError):
    """A filter, sort or period value the console does not know; its message says what to fix."""


@dataclass(frozen=True)
class Filters:
    """What the console lists: the GET form's fields, checked."""

    user: str = ""
    date_from: date | None = None
    date_to: date | None = None
    status: str = ""
    help: str = ""
    assisted: str = ""
    sort: str = "activity"
    order: str = "desc"
    page: int = 1
    session: uuid.UUID | None = None

    def query_args(self, **changes) -> dict[str, str]:
        """The non-default fields as query arguments (with `changes`), for links and polling."""
        values = {"user": self.user, "from": _iso(self.date_from), "to": _iso(self.date_to),
                  "status": self.status, "help": self.help, "assisted": self.assisted,
                  "sort": self.sort, "order": self.order, "page": str(self.page),
                  "session": str(self.session or "")}
        values.update({key: str(value) for key, value in changes.items()})
        defaults = {"sort": "activity", "order": "desc", "page": "1"}
        return {key: value for key, value in values.items()
                if value and defaults.get(key) != value}


@dataclass(frozen=True)
class Row:
    """One session on the console."""

    id: uuid.UUID
    name: str
    status: str
    owner: str
    client_name: str | None
    started: datetime
    last_activity: datetime
    duration: timedelta
    help_requested: datetime | None
    admin_assisted: bool
    reply_ms_avg: int | None
    reply_ms_max: int | None
    tokens_in: int
    tokens_out: int


@dataclass(frozen=True)
class QueueDepth:
    """Jobs waiting in one RQ queue, and those that failed (kept in its failed registry)."""

    name: str
    queued: int
    failed: int


def parse_filters(args: MultiDict) -> Filters:
    """The console's filters from the query string; BadFilter for a value it cannot use."""
    choice = {"status": SESSION_STATUSES, "help": YES_NO, "assisted": YES_NO, "sort": SORTS,
              "order": ("asc", "desc")}
    values = {}
    for field, allowed in choice.items():
        value = args.get(field, "").strip()
        if value and value not in allowed:
            raise BadFilter(f"{field}: choose one of {', '.join(allowed)}.")
        if value:
            values[field] = value
    user = args.get("user", "").strip()
    if len(user) > 200:
        raise BadFilter("user: at most 200 characters.")
    date_from, date_to = _dates(args.get("from", ""), args.get("to", ""))
    try:
        page = int(args.get("page", "1") or "1")
    except ValueError:
        raise BadFilter("page: a whole number.") from None
    if not 1 <= page <= MAX_PAGE:
        raise BadFilter(f"page: from 1 to {MAX_PAGE}; narrow the filters to see older sessions.")
    try:
        session = uuid.UUID(args["session"]) if args.get("session") else None
    except ValueError:
        raise BadFilter("session: not a session id.") from None
    return Filters(user=user, date_from=date_from, date_to=date_to, page=page, session=session,
                   **values)


def parse_period(args: MultiDict, today: date) -> tuple[date, date]:
    """The metrics period (from, to; both included) from the query string: the last 7 days
    unless given; BadFilter for a date it cannot read, a reversed or a too long period."""
    start, end = _dates(args.get("from", ""), args.get("to", ""))
    end = end or today
    start = start or end - timedelta(days=6)
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise BadFilter(f"Choose a period of at most {MAX_PERIOD_DAYS} days.")
    if start > end:
        raise BadFilter("from: on or before to.")
    return start, end


def _dates(raw_from: str, raw_to: str) -> tuple[date | None, date | None]:
    found = []
    for field, raw in (("from", raw_from.strip()), ("to", raw_to.strip())):
        try:
            found.append(date.fromisoformat(raw) if raw else None)
        except ValueError:
            raise BadFilter(f"{field}: a date as YYYY-MM-DD.") from None
    if found[0] and found[1] and found[0] > found[1]:
        raise BadFilter("from: on or before to.")
    return found[0], found[1]


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _seconds(later, earlier):
    """SQL for the seconds from `earlier` to `later` (timestamps) on the app's database."""
    if db.engine.dialect.name == "sqlite":
        return (db.func.julianday(later) - db.func.julianday(earlier)) * 86400.0
    return db.func.extract("epoch", later - earlier)


def _day(column):
    """SQL for the UTC calendar day of a timestamp column, as text YYYY-MM-DD."""
    if db.engine.dialect.name == "sqlite":
        return db.func.date(column)
    return db.func.to_char(db.func.timezone("UTC", column), "YYYY-MM-DD")


def sessions(filters: Filters) -> tuple[list[Row], bool]:
    """One page of sessions by the filters, and whether there is a next page."""
    s = ChatSession
    ended = db.func.coalesce(s.ended_at, s.last_activity_at)
    duration = _seconds(ended, s.created_at)
    query = db.select(s.id).join(User, User.id == s.owner_id).where(s.deleted_at.is_(None))
    if filters.user:
        pattern = "%" + filters.user.replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
        query = query.where(db.or_(User.email.ilike(pattern, escape="\\"),
                                   User.display_name.ilike(pattern, escape="\\")))
    if filters.date_from:
        query = query.where(s.created_at >= _start_of(filters.date_from))
    if filters.date_to:
        query = query.where(s.created_at < _start_of(filters.date_to + timedelta(days=1)))
    if filters.status:
        query = query.where(s.status == filters.status)
    if filters.help:
        wanted = s.help_requested_at.is_not(None)
        query = query.where(wanted if filters.help == "yes" else ~wanted)
    if filters.assisted:
        query = query.where(s.admin_assisted.is_(filters.assisted == "yes"))
    key = {"started": s.created_at, "duration": duration, "user": User.display_name,
           "activity": s.last_activity_at}[filters.sort]
    direction = (lambda column: column.asc()) if filters.order == "asc" else (
        lambda column: column.desc())
    page = query.order_by(direction(key), direction(s.id)).limit(PER_PAGE + 1) \
        .offset((filters.page - 1) * PER_PAGE).subquery()
    m = ChatMessage
    numbers = db.select(m.session_id, *(column.label(name) for column, name in zip(
        session_metrics.reply_numbers(), ("reply_avg", "reply_max", "tokens_in", "tokens_out"),
        strict=True)),
    ).where(m.session_id.in_(db.select(page.c.id))).group_by(m.session_id).subquery()
    rows = db.session.execute(
        db.select(s.id, s.name, s.status, User.display_name, s.client_name, s.created_at,
                  s.last_activity_at, ended, s.help_requested_at, s.admin_assisted,
                  numbers.c.reply_avg, numbers.c.reply_max, numbers.c.tokens_in,
                  numbers.c.tokens_out)
        .join(page, page.c.id == s.id).join(User, User.id == s.owner_id)
        .outerjoin(numbers, numbers.c.session_id == s.id)
        .order_by(direction(key), direction(s.id))).all()
    found = [Row(id=r[0], name=r[1], status=r[2], owner=r[3], client_name=r[4],
                 started=as_utc(r[5]), last_activity=as_utc(r[6]),
                 duration=max(as_utc(r[7]) - as_utc(r[5]), timedelta()),
                 help_requested=as_utc(r[8]), admin_assisted=r[9],
                 reply_ms_avg=session_metrics.whole_ms(r[10]), reply_ms_max=r[11],
                 tokens_in=int(r[12] or 0), tokens_out=int(r[13] or 0)) for r in rows]
    return found[:PER_PAGE], len(found) > PER_PAGE


def queue_depths() -> list[QueueDepth]:
    """Queued and failed job counts of every queue chatapp uses."""
    depths = []
    for name in QUEUES:
        rq_queue = queue(name)
        depths.append(QueueDepth(name, rq_queue.count,
                                 FailedJobRegistry(queue=rq_queue).count))
    return depths


@dataclass(frozen=True)
class Day:
    """One day of the metrics period."""

    day: str
    sessions: int
    messages: int
    tokens_in: int
    tokens_out: int


@dataclass(frozen=True)
class Usage:
    """Tokens used by one user or one model over the period."""

    name: str
    sessions: int
    messages: int
    tokens_in: int
    tokens_out: int


@dataclass(frozen=True)
class Metrics:
    """The metrics page: a period's activity by day, reply times, and usage by user and model."""

    start: date
    end: date
    active_sessions: int
    messages: int
    tokens_in: int
    tokens_out: int
    days: list[Day]
    replies_timed: int
    reply_ms: dict[str, int | None]
    users: list[Usage]
    models: list[Usage]


def _percentile(ordered: list[int], fraction: float) -> int | None:
    """Linear interpolation between closest ranks (as PostgreSQL's percentile_cont)."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return round(ordered[below] + (ordered[above] - ordered[below]) * (position - below))


def metrics(start: date, end: date, default_model: str) -> Metrics:
    """The usage metrics of the messages sent from `start` to `end` (UTC days, both included):
    a session counts as active on a day it has a message on."""
    m, s = ChatMessage, ChatSession
    in_period = db.and_(m.created_at >= _start_of(start),
                        m.created_at < _start_of(end + timedelta(days=1)),
                        s.deleted_at.is_(None))
    counts = (db.func.count(db.distinct(m.session_id)), db.func.count(m.id),
              db.func.coalesce(db.func.sum(m.tokens_in), 0),
              db.func.coalesce(db.func.sum(m.tokens_out), 0))

    def usage(group):
        return db.session.execute(db.select(group, *counts).join(s, s.id == m.session_id)
                                  .join(User, User.id == s.owner_id).where(in_period)
                                  .group_by(group).order_by(counts[3].desc(), group)).all()

    day = _day(m.created_at)
    days = [Day(str(r[0]), r[1], r[2], int(r[3]), int(r[4])) for r in usage(day)]
    days.sort(key=lambda d: d.day)
    total = db.session.execute(db.select(*counts).join(s, s.id == m.session_id)
                               .where(in_period)).one()
    latencies = list(db.session.scalars(
        db.select(m.latency_ms).join(s, s.id == m.session_id)
        .where(in_period, m.latency_ms.is_not(None)).order_by(m.latency_ms)))
    users = [Usage(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in usage(User.email)]
    models = [Usage(r[0] or default_model, r[1], r[2], int(r[3]), int(r[4]))
              for r in usage(s.model)]
    return Metrics(start=start, end=end, active_sessions=total[0], messages=total[1],
                   tokens_in=int(total[2]), tokens_out=int(total[3]), days=days,
                   replies_timed=len(latencies),
                   reply_ms={label: _percentile(latencies, fraction)
                             for label, fraction in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))},
                   users=users, models=models)
