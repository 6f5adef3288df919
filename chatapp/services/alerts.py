"""Alerts to admins: raise_alert() records an alert, merges repeats, and queues one delivery
per admin and channel on the notify queue (worker/notify.py sends them).

Who gets what: every active admin, by their alert settings (email on by default, to their
account address; SMS only when switched on with a phone number and an SMS transport configured).
Within an admin's quiet hours only critical kinds (provider_down, queue_backlog, job_failures)
are sent; the others are recorded as suppressed. Beyond ALERT_RATE_LIMIT_PER_HOUR messages of one
kind on one channel to one admin, deliveries are suppressed too. An alert identical to one raised
within ALERT_MERGE_MINUTES (same kind, session and summary) only counts up that one.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from flask import current_app

from chatapp.extensions import db
from chatapp.models import ALERT_KINDS, Alert, AlertDelivery, AlertSettings, User, utcnow
from chatapp.services import alert_channels, jobs

log = logging.getLogger(__name__)

CRITICAL_KINDS = ("provider_down", "queue_backlog", "job_failures")
TITLES = {"help_request": "Help requested", "provider_down": "Model provider down",
          "queue_backlog": "Job queue backlog", "job_failures": "Jobs failing",
          "system": "System alert"}
SMS_CHARS = 300
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
CLOCK = re.compile(r"^[0-2][0-9]:[0-5][0-9]$")


def raise_alert(kind: str, *, summary: str, session_id=None, user_id=None,
                details: dict | None = None) -> None:
    """Record an alert of `kind` (one of ALERT_KINDS) and queue its deliveries to the admins;
    an identical alert raised within the merge window is counted instead. Commits the SQL
    session (with whatever the caller added to it), then queues the jobs."""
    if kind not in ALERT_KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    summary = summary.strip()[:500]
    session_id = uuid.UUID(str(session_id)) if session_id else None
    now = utcnow()
    window = timedelta(minutes=current_app.config["ALERT_MERGE_MINUTES"])
    same = db.session.scalar(
        db.select(Alert).filter_by(kind=kind, session_id=session_id, summary=summary)
        .where(Alert.created_at >= now - window).order_by(Alert.id.desc()).limit(1)
        .with_for_update())
    if same is not None:
        same.count += 1
        same.last_raised_at = now
        db.session.commit()
        return
    alert = Alert(kind=kind, summary=summary, session_id=session_id, user_id=user_id,
                  details=details or {}, created_at=now, last_raised_at=now)
    db.session.add(alert)
    db.session.flush()
    queued = [delivery for delivery in _deliveries(alert, now) if delivery.status == "queued"]
    db.session.commit()
    for delivery in queued:
        jobs.enqueue_delivery(delivery.id)
    log.info("alert %s (%s): %s; %d deliveries queued", alert.id, kind, summary, len(queued))


def settings_of(user: User) -> AlertSettings:
    """The admin's alert settings (the defaults, unsaved, when they never changed them)."""
    return db.session.get(AlertSettings, user.id) or AlertSettings(
        user_id=user.id, email_enabled=True, sms_enabled=False, timezone="UTC")


def in_quiet_hours(settings: AlertSettings, moment: datetime) -> bool:
    """True when `moment` falls within the settings' quiet hours (which may span midnight)."""
    start, end = settings.quiet_start, settings.quiet_end
    if start is None or end is None or start == end:
        return False
    local = moment.astimezone(ZoneInfo(settings.timezone)).time().replace(tzinfo=None)
    return start <= local < end if start < end else local >= start or local < end


def console_url(alert: Alert) -> str:
    """The absolute link an alert carries: the admin console on its session, or the alerts
    page."""
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    if alert.session_id:
        return f"{base}/admin/console?session={alert.session_id}"
    return f"{base}/admin/alerts"


def email_text(alert: Alert) -> tuple[str, str]:
    """The subject and body of an alert's email."""
    lines = [f"{TITLES[alert.kind]}: {alert.summary}", "",
             f"When: {alert.created_at:%Y-%m-%d %H:%M:%S} UTC"]
    if alert.user is not None:
        lines.append(f"User: {alert.user.display_name} <{alert.user.email}>")
    if alert.session_id:
        lines.append(f"Session: {alert.session_id}")
    lines += [f"{key}: {value}" for key, value in sorted((alert.details or {}).items())]
    lines += ["", f"Open: {console_url(alert)}", "", "-- chatapp alerts"]
    return f"[chatapp] {TITLES[alert.kind]}: {alert.summary}"[:200], "\n".join(lines) + "\n"


def sms_text(alert: Alert) -> str:
    """The text of an alert's SMS: what, who, and the link."""
    who = f" ({alert.user.display_name})" if alert.user is not None else ""
    link = console_url(alert)
    head = f"chatapp {TITLES[alert.kind]}{who}: {alert.summary}"
    return f"{head[:SMS_CHARS - len(link) - 1]} {link}"


def _deliveries(alert: Alert, now: datetime) -> list[AlertDelivery]:
    admins = db.session.scalars(db.select(User).filter_by(role="admin", active=True)
                                .order_by(User.id)).all()
    made = []
    for admin in admins:
        settings = settings_of(admin)
        quiet = alert.kind not in CRITICAL_KINDS and in_quiet_hours(settings, now)
        channels = []
        if settings.email_enabled:
            channels.append(("email", admin.email))
        if settings.sms_enabled and settings.phone and alert_channels.sms_enabled():
            channels.append(("sms", settings.phone))
        for channel, address in channels:
            delivery = AlertDelivery(alert_id=alert.id, recipient_id=admin.id, channel=channel,
                                     address=address, status="queued", created_at=now)
            if quiet:
                delivery.status, delivery.last_error = "suppressed", "quiet hours"
            elif _over_limit(admin.id, alert.kind, channel, now):
                limit = current_app.config["ALERT_RATE_LIMIT_PER_HOUR"]
                delivery.status = "suppressed"
                delivery.last_error = f"rate limit: {limit} {alert.kind} alerts per hour"
            db.session.add(delivery)
            made.append(delivery)
    return made


def _over_limit(recipient_id: int, kind: str, channel: str, now: datetime) -> bool:
    sent = db.session.scalar(
        db.select(db.func.count(AlertDelivery.id)).join(Alert)
        .where(AlertDelivery.recipient_id == recipient_id, AlertDelivery.channel == channel,
               Alert.kind == kind, AlertDelivery.status.in_(("queued", "sent", "failed")),
               AlertDelivery.created_at >= now - timedelta(hours=1)))
    return sent >= current_app.config["ALERT_RATE_LIMIT_PER_HOUR"]


def save_settings(user: User, form) -> AlertSettings:
    """Check the alert settings form and store it for `user` (not committed); a ValueError says
    what to fix, and nothing is changed then."""
    phone = "".join(form.get("phone", "").split())
    if phone and not E164.match(phone):
        raise ValueError("Write the phone number in international form: + and country code, "
                         "then the number, digits only (for example +14155550123).")
    sms = form.get("sms_enabled") == "on"
    if sms and not phone:
        raise ValueError("Give a phone number to receive alerts by SMS.")
    start, end = (_clock(form.get(name, ""), label) for name, label in
                  (("quiet_start", "start"), ("quiet_end", "end")))
    if (start is None) != (end is None):
        raise ValueError("Give both the start and the end of quiet hours, or neither.")
    zone = form.get("timezone", "").strip()
    if zone not in _time_zones():
        raise ValueError("Choose a time zone by its name, for example Europe/Berlin or UTC.")
    settings = db.session.get(AlertSettings, user.id) or AlertSettings(user_id=user.id)
    settings.email_enabled = form.get("email_enabled") == "on"
    settings.sms_enabled = sms
    settings.phone = phone or None
    settings.quiet_start, settings.quiet_end, settings.timezone = start, end, zone
    db.session.add(settings)
    return settings


def _clock(value: str, label: str) -> time | None:
    value = value.strip()
    if not value:
        return None
    if CLOCK.match(value):
        with contextlib.suppress(ValueError):  # 25:00
            return time.fromisoformat(value)
    raise ValueError(f"Write the {label} of quiet hours as HH:MM (24-hour clock), e.g. 22:00.")


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())  # reads the tz database: once per process
