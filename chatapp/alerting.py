"""Alerts for admins: recent alerts and their deliveries, the file outbox of alert email, and
each admin's own alert settings (services/alerts.py raises and sends them)."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import selectinload

from chatapp.admin import admin_required
from chatapp.extensions import db
from chatapp.models import Alert, AlertDelivery
from chatapp.services import alert_channels, alerts

bp = Blueprint("alerting", __name__)

RECENT_ALERTS = 100
OUTBOX_LISTED = 200


@bp.get("/admin/alerts")
@admin_required
def list_alerts():
    """The latest alerts, newest first, each with its deliveries and how they went."""
    recent = db.session.scalars(
        db.select(Alert).options(selectinload(Alert.user),
                                 selectinload(Alert.deliveries)
                                 .selectinload(AlertDelivery.recipient))
        .order_by(Alert.id.desc()).limit(RECENT_ALERTS)).all()
    return render_template("alerting/alerts.html", alerts=recent, console_url=alerts.console_url,
                           titles=alerts.TITLES)


@bp.get("/admin/outbox")
@admin_required
def list_outbox():
    """The messages of the file outbox (ALERT_EMAIL_TRANSPORT=file), newest first."""
    directory = alert_channels.outbox_dir()
    names = sorted((path.name for path in directory.glob("*.eml")
                    if alert_channels.OUTBOX_NAME.match(path.name)), reverse=True) \
        if directory.is_dir() else []
    messages = [_read(name) for name in names[:OUTBOX_LISTED]]
    return render_template("alerting/outbox.html", messages=messages, total=len(names),
                           transport=current_app.config["ALERT_EMAIL_TRANSPORT"])


@bp.get("/admin/outbox/<name>")
@admin_required
def show_message(name: str):
    """One message of the file outbox (its text escaped like any other)."""
    if not alert_channels.OUTBOX_NAME.match(name) or \
            not (alert_channels.outbox_dir() / name).is_file():
        abort(404)
    return render_template("alerting/message.html", message=_read(name))


@bp.get("/settings/alerts")
@admin_required
def show_settings():
    """The signed-in admin's alert settings."""
    settings = alerts.settings_of(current_user)
    return _settings_page({
        "email_enabled": "on" if settings.email_enabled else "",
        "sms_enabled": "on" if settings.sms_enabled else "",
        "phone": settings.phone or "",
        "quiet_start": settings.quiet_start.strftime("%H:%M") if settings.quiet_start else "",
        "quiet_end": settings.quiet_end.strftime("%H:%M") if settings.quiet_end else "",
        "timezone": settings.timezone})


@bp.post("/settings/alerts")
@admin_required
def save_settings():
    """Save the admin's alert settings; a wrong value is shown back with what to fix (422) and
    nothing is saved."""
    try:
        alerts.save_settings(current_user, request.form)
    except ValueError as wrong:
        db.session.rollback()
        return _settings_page(request.form, error=str(wrong), status=422)
    db.session.commit()
    flash("Alert settings saved.")
    return redirect(url_for("alerting.show_settings"), code=303)


def _settings_page(values, *, error: str | None = None, status: int = 200):
    return render_template("alerting/settings.html", values=values, error=error,
                           sms_available=alert_channels.sms_enabled()), status


def _read(name: str) -> dict:
    path = alert_channels.outbox_dir() / name
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    body = message.get_body(("plain",))
    return {"name": name, "from": message["From"], "to": message["To"],
            "subject": message["Subject"], "date": message["Date"],
            "body": body.get_content() if body is not None else ""}
