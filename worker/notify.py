"""Notify jobs: send one alert delivery by email or SMS; check for critical errors."""

from __future__ import annotations

import logging

from rq import get_current_job

from chatapp.extensions import db
from chatapp.models import AlertDelivery, utcnow
from chatapp.services import alert_channels, alert_checks, alerts
from worker import get_app

log = logging.getLogger(__name__)


def deliver_alert(delivery_id: int) -> str:
    """Send delivery `delivery_id` unless it was sent, failed or suppressed already; returns its
    status. A passing failure is raised while RQ has retries left (it tries again later), and
    recorded as failed once they are spent; any other failure is recorded at once."""
    with get_app().app_context():
        delivery = db.session.get(AlertDelivery, delivery_id)
        if delivery is None or delivery.status != "queued":
            return delivery.status if delivery else "gone"
        delivery.attempts += 1
        db.session.commit()
        try:
            _send(delivery)
        except alert_channels.TransientFailure as failure:
            job = get_current_job()
            retrying = job is not None and bool(job.retries_left)
            _record(delivery, "queued" if retrying else "failed", str(failure))
            if retrying:
                log.warning("alert delivery %s: %s; retrying", delivery_id, failure)
                raise
            log.error("alert delivery %s failed after %d attempts: %s", delivery_id,
                      delivery.attempts, failure)
        except alert_channels.PermanentFailure as failure:
            log.error("alert delivery %s failed: %s", delivery_id, failure)
            _record(delivery, "failed", str(failure))
        else:
            delivery.sent_at = utcnow()
            _record(delivery, "sent", None)
        return delivery.status


def check_critical() -> list[str]:
    """Raise the critical alerts whose conditions hold (services/alert_checks.py); their kinds."""
    with get_app().app_context():
        return alert_checks.run_checks()


def _send(delivery: AlertDelivery) -> None:
    alert = delivery.alert
    if delivery.channel == "email":
        subject, body = alerts.email_text(alert)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        alert_channels.send_email(delivery.address, subject, body,
                                  name=f"{stamp}-{delivery.id}-{alert.kind.replace('_', '')}")
    else:
        alert_channels.send_sms(delivery.address, alerts.sms_text(alert))


def _record(delivery: AlertDelivery, status: str, error: str | None) -> None:
    delivery.status = status
    delivery.last_error = error[:2000] if error else None
    db.session.commit()
