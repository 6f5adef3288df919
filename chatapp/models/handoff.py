"""SQL models of the human handoff: help requests, the audit log, and the alerts sent to admins
with their deliveries and each admin's alert settings."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chatapp.extensions import db
from chatapp.models import BigIntKey, User, _in, utcnow

HELP_STATES = ("waiting", "acknowledged", "joined", "cancelled", "resolved")
HELP_OPEN = ("waiting", "acknowledged", "joined")


class HelpRequest(db.Model):
    """A consultant's request for an administrator's help in one of their sessions: waiting,
    acknowledged by an admin, joined (an admin took the session over), then cancelled by the
    consultant or resolved (handed back). A session has at most one open request at a time."""

    __tablename__ = "help_requests"
    __table_args__ = (sa.CheckConstraint(_in("state", HELP_STATES), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    state: Mapped[str] = mapped_column(sa.String(20), default="waiting")
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)

    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])


class AuditEntry(db.Model):
    """Who did what to a session, when and from which address (help requests, admins joining,
    leaving, taking over and handing back). Kept when the actor's account or the session goes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(40))
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("chat_sessions.id", ondelete="SET NULL"), index=True)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


ALERT_KINDS = ("help_request", "provider_down", "queue_backlog", "job_failures", "system")
ALERT_CHANNELS = ("email", "sms")
DELIVERY_STATUSES = ("queued", "sent", "failed", "suppressed")


class AlertSettings(db.Model):
    """How one admin wants alerts: email to their account address and SMS to a phone, each on
    or off, and quiet hours in their time zone. An admin without a row gets the defaults."""

    __tablename__ = "alert_settings"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    email_enabled: Mapped[bool] = mapped_column(default=True)
    sms_enabled: Mapped[bool] = mapped_column(default=False)
    phone: Mapped[str | None] = mapped_column(sa.String(16))  # E.164
    quiet_start: Mapped[time | None] = mapped_column(sa.Time)
    quiet_end: Mapped[time | None] = mapped_column(sa.Time)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


class Alert(db.Model):
    """Something admins are told about: a help request, a critical error or a system alert. The
    same alert raised again within the merge window is counted here, not sent again."""

    __tablename__ = "alerts"
    __table_args__ = (sa.CheckConstraint(_in("kind", ALERT_KINDS), name="kind"),
                      sa.Index("ix_alerts_kind_created_at", "kind", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    summary: Mapped[str] = mapped_column(sa.String(500))
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("chat_sessions.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    count: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_raised_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    user: Mapped[User | None] = relationship()
    deliveries: Mapped[list[AlertDelivery]] = relationship(
        back_populates="alert", order_by="AlertDelivery.id", cascade="all, delete-orphan",
        passive_deletes=True)


class AlertDelivery(db.Model):
    """One alert to one admin on one channel, and how it went."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("alert_id", "recipient_id", "channel"),
        sa.CheckConstraint(_in("channel", ALERT_CHANNELS), name="channel"),
        sa.CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        sa.Index("ix_alert_deliveries_recipient_created_at", "recipient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(sa.ForeignKey("alerts.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(sa.String(10))
    address: Mapped[str] = mapped_column(sa.String(254))  # the email address or phone number
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    alert: Mapped[Alert] = relationship(back_populates="deliveries")
    recipient: Mapped[User] = relationship()
