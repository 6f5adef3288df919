"""SQL models: users, chat sessions and their messages, settings, API tokens, shared links and
attachments; the human handoff's (help requests, audit log, alerts) are in chatapp/models/handoff.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import generate_password_hash

from chatapp.extensions import db

ROLES = ("consultant", "admin", "ops")
SESSION_STATUSES = ("active", "idle", "ended")
SENDERS = ("user", "assistant", "admin", "system")
MESSAGE_STATUSES = ("pending", "streaming", "done", "failed", "cancelled")
REPLY_IN_PROGRESS = ("pending", "streaming")

# A 64-bit key on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigIntKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

db.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


# Full-text search (services/search.py) on PostgreSQL: GIN indexes over these expressions (written
# as PostgreSQL prints them, so alembic's comparison sees no change), which
# the searches repeat word for word so the planner uses them. The 'simple' configuration lowercases
# words and nothing more: client notes and conversations are in any language, and a language's
# stemming and stop words would mangle the others (and names). SQLite has FTS5 tables instead
# (migration 0007), so the indexes are made on PostgreSQL only. PostgreSQL's parser takes
# "<word ...>" for an HTML tag and skips it: a space after each "<" keeps such text (code, markup
# the consultants discuss) searchable and in the snippets.
MESSAGE_SEARCH_VECTOR = ("to_tsvector('simple'::regconfig, "
                         "replace(content, '<'::text, '< '::text))")
SESSION_SEARCH_VECTOR = ("to_tsvector('simple'::regconfig, "
                         "replace((name::text || ' '::text) || "
                         "COALESCE(client_name, ''::character varying)::text, '<'::text, '< '::text))")


def _search_index(name: str, vector: str) -> sa.Index:
    return sa.Index(name, sa.text(vector), postgresql_using="gin").ddl_if(dialect="postgresql")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class User(UserMixin, db.Model):
    """A person who signs in: a consultant, an admin or an ops engineer."""

    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(20), default="consultant")
    active: Mapped[bool] = mapped_column(default=True)
    # Voice preferences: play each finished reply aloud; send a voice note's transcript at once
    # instead of putting it in the composer to edit first.
    read_aloud: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    voice_autosend: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    sessions: Mapped[list[ChatSession]] = relationship(back_populates="owner")

    @property
    def is_active(self) -> bool:
        """Flask-Login: deactivated users cannot sign in."""
        return self.active

    def set_password(self, password: str) -> None:
        """Store a scrypt (memory-hard) hash of the password."""
        self.password_hash = generate_password_hash(password, method="scrypt")


class ChatSession(db.Model):
    """One conversation between a consultant and the assistant, usually one client meeting."""

    __tablename__ = "chat_sessions"
    __table_args__ = (
        sa.CheckConstraint(_in("status", SESSION_STATUSES), name="status"),
        sa.Index("ix_chat_sessions_owner_activity", "owner_id", "last_activity_at"),
        _search_index("ix_chat_sessions_search", SESSION_SEARCH_VECTOR),
    )

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(200), default="New chat")
    client_name: Mapped[str | None] = mapped_column(sa.String(200))
    context: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    model: Mapped[str | None] = mapped_column(sa.String(120))
    admin_assisted: Mapped[bool] = mapped_column(default=False)
    help_requested_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    last_activity_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # True once the owner chose the name (at creation or by renaming): automatic titles keep off.
    named_by_owner: Mapped[bool] = mapped_column(default=False)
    pinned_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Deleted sessions are hidden at once and purged after the undo window.
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    owner: Mapped[User] = relationship(back_populates="sessions")
    messages: Mapped[list[ChatMessage]] = relationship(
        back_populates="session",
        order_by="ChatMessage.seq",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ChatMessage(db.Model):
    """A message in a session: the user's, the assistant's reply, an admin's or a system note."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "seq"),
        sa.UniqueConstraint("session_id", "client_id"),
        sa.CheckConstraint(_in("sender", SENDERS), name="sender"),
        sa.CheckConstraint(_in("status", MESSAGE_STATUSES), name="status"),
        _search_index("ix_chat_messages_search", MESSAGE_SEARCH_VECTOR),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("chat_sessions.id", ondelete="CASCADE")
    )
    seq: Mapped[int]
    # Chosen by the client for each message it sends: a repeated send is recognised, not stored twice.
    client_id: Mapped[str | None] = mapped_column(sa.String(64))
    sender: Mapped[str] = mapped_column(sa.String(20))
    author: Mapped[str] = mapped_column(sa.String(120))
    content: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(20), default="done")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", sa.JSON, default=dict)
    tokens_in: Mapped[int | None]
    tokens_out: Mapped[int | None]
    latency_ms: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    session: Mapped[ChatSession] = relationship(back_populates="messages")

    def to_view(self) -> dict[str, Any]:
        """The JSON-safe fields a client needs to render this message (also carried by events)."""
        return {
            "id": self.id,
            "session_id": str(self.session_id),
            "seq": self.seq,
            "sender": self.sender,
            "author": self.author,
            "content": self.content,
            "status": self.status,
            "error": (self.meta or {}).get("error"),
            "retryable": bool((self.meta or {}).get("retryable")),
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "latency_ms": self.latency_ms,
            "created_at": iso(self.created_at),
            "version": self.shown_version + 1,
            "versions": len((self.meta or {}).get("versions") or [None]),
            # files a person sent with it, or a reply wrote; files a reply read (uploads.file_view)
            "files": (self.meta or {}).get("files", []),
            "used_files": (self.meta or {}).get("used_files", []),
        }

    @property
    def attempt(self) -> int:
        """How many times this reply was started over (retry, regenerate, re-run); 0 at first."""
        return int((self.meta or {}).get("attempt", 0))

    @property
    def shown_version(self) -> int:
        """Index of the version on show, among `meta["versions"]` (0 when there is only one)."""
        return int((self.meta or {}).get("shown", 0))

    def as_version(self) -> dict[str, Any]:
        """This message's current text and outcome, to keep as one of its versions."""
        meta = self.meta or {}
        return {"content": self.content, "status": self.status, "error": meta.get("error"),
                "retryable": bool(meta.get("retryable")), "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out, "latency_ms": self.latency_ms}


def as_utc(moment: datetime | None) -> datetime | None:
    """A datetime read from SQL, timezone-aware: SQLite returns naive ones (stored in UTC)."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def iso(moment: datetime | None) -> str | None:
    """A datetime read from SQL as ISO 8601 in UTC (None stays None)."""
    moment = as_utc(moment)
    return moment.isoformat() if moment else None


class Setting(db.Model):
    """A setting an administrator changed in the app (beside CHATAPP_* variables, which give the
    defaults)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


TOKEN_KINDS = ("personal", "access", "refresh")


class ApiToken(db.Model):
    """A token for the JSON API, sent as ``Authorization: Bearer``: a personal token made on the
    settings page, or a short-lived access token and its refresh token. Only a SHA-256 hash of
    it is stored: the token itself is shown once, when it is made."""

    __tablename__ = "api_tokens"
    __table_args__ = (sa.CheckConstraint(_in("kind", TOKEN_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))  # shown in lists, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    user: Mapped[User] = relationship()


class SharedLink(db.Model):
    """A read-only link to a snapshot of a chat session, taken when the link was made: later
    messages never show through it. Only a SHA-256 hash of its token is stored (the owner sees
    the link once); revoking it, its expiry, or deleting the session ends it."""

    __tablename__ = "shared_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))  # shown in lists, to tell links apart
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    session: Mapped[ChatSession] = relationship()


ATTACHMENT_STATUSES = ("pending", "clean", "quarantined", "failed")
# upload: sent by a person; assistant: a file a reply produced; speech: a reply read aloud.
ATTACHMENT_ORIGINS = ("upload", "assistant", "speech")
TRANSCRIPT_STATUSES = ("pending", "done", "failed")


class Attachment(db.Model):
    """A file uploaded into a chat: stored under a random key (services/storage.py), scanned and
    read by the media job (worker/media.py); only a clean one is ever served, by a signed URL."""

    __tablename__ = "attachments"
    __table_args__ = (
        sa.CheckConstraint(_in("status", ATTACHMENT_STATUSES), name="status"),
        sa.CheckConstraint(_in("origin", ATTACHMENT_ORIGINS), name="origin"),
        sa.CheckConstraint(_in("transcript_status", TRANSCRIPT_STATUSES),
                           name="transcript_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True)
    uploader_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(
        BigIntKey, sa.ForeignKey("chat_messages.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    storage_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    thumbnail_key: Mapped[str | None] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    extracted_text: Mapped[str | None] = mapped_column(sa.Text)
    origin: Mapped[str] = mapped_column(sa.String(20), default="upload", server_default="upload")
    # Audio only: the words heard in it, written by the transcription job.
    transcript: Mapped[str | None] = mapped_column(sa.Text)
    transcript_status: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


# The human handoff's models, in their own module: importing them here registers their tables with
# the metadata and keeps `from chatapp.models import ...` whole.
from chatapp.models.handoff import (  # noqa: E402, F401
    ALERT_CHANNELS,
    ALERT_KINDS,
    DELIVERY_STATUSES,
    HELP_OPEN,
    HELP_STATES,
    Alert,
    AlertDelivery,
    AlertSettings,
    AuditEntry,
    HelpRequest,
)
