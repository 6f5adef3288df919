"""Checks for critical errors, run periodically by the default worker (worker/notify.py):

- provider_down: replies have failed, and none has succeeded, for ALERT_PROVIDER_DOWN_MINUTES;
- queue_backlog: a job queue holds more than ALERT_QUEUE_BACKLOG waiting jobs;
- job_failures: a queue's failed-job registry grew by more than ALERT_JOB_FAILURES within
  ALERT_JOB_FAILURES_MINUTES.

Each raises its alert (services/alerts.py), whose merge window keeps a lasting condition from
alerting at every check.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from rq.registry import FailedJobRegistry

from chatapp.extensions import db
from chatapp.models import ChatMessage, as_utc, utcnow
from chatapp.services import jobs
from chatapp.services.alerts import raise_alert
from chatapp.services.redis_client import get_redis

FAILED_BASELINE_KEY = "chat:alerts:failed-jobs:{}"  # queue name: its registry's size at a time


def run_checks() -> list[str]:
    """Run every check; the kinds of the alerts raised."""
    raised = []
    if provider_down():
        raised.append("provider_down")
    raised += ["queue_backlog"] * queue_backlog() + ["job_failures"] * job_failures()
    return raised


def provider_down() -> bool:
    """Raise provider_down when the first failed reply since the last successful one is
    ALERT_PROVIDER_DOWN_MINUTES old or more, and replies still fail within that time."""
    minutes = current_app.config["ALERT_PROVIDER_DOWN_MINUTES"]
    since = utcnow() - timedelta(minutes=minutes)
    replies = db.select(ChatMessage).filter_by(sender="assistant")
    last_done = db.session.scalar(db.select(db.func.max(ChatMessage.created_at))
                                  .filter_by(sender="assistant", status="done"))
    failed = replies.filter_by(status="failed")
    if last_done is not None:
        failed = failed.where(ChatMessage.created_at > last_done)
    first = db.session.scalar(failed.order_by(ChatMessage.created_at).limit(1))
    latest = db.session.scalar(failed.order_by(ChatMessage.created_at.desc()).limit(1))
    if first is None or as_utc(first.created_at) > since or as_utc(latest.created_at) < since:
        return False
    count = db.session.scalar(db.select(db.func.count()).select_from(failed.subquery()))
    raise_alert("provider_down",
                summary=f"Replies have failed for {minutes} minutes or more, none succeeded",
                details={"failed replies": count,
                         "last error": (latest.meta or {}).get("error") or "unknown",
                         "model": latest.session.model or "default"})
    return True


def queue_backlog() -> int:
    """Raise queue_backlog for each queue longer than ALERT_QUEUE_BACKLOG; how many."""
    threshold = current_app.config["ALERT_QUEUE_BACKLOG"]
    raised = 0
    for name in jobs.QUEUES:
        waiting = jobs.queue(name).count
        if waiting > threshold:
            raise_alert("queue_backlog",
                        summary=f"Queue {name} has more than {threshold} jobs waiting",
                        details={"queue": name, "waiting": waiting})
            raised += 1
    return raised


def job_failures() -> int:
    """Raise job_failures for each queue whose failed-job registry grew by more than
    ALERT_JOB_FAILURES since its size was noted (a note lasts ALERT_JOB_FAILURES_MINUTES, then
    the next check notes it afresh); how many."""
    threshold = current_app.config["ALERT_JOB_FAILURES"]
    window = int(current_app.config["ALERT_JOB_FAILURES_MINUTES"] * 60)
    r = get_redis()
    raised = 0
    for name in jobs.QUEUES:
        failed = FailedJobRegistry(name, connection=r).count
        key = FAILED_BASELINE_KEY.format(name)
        noted = r.get(key)
        if noted is None or failed < int(noted):  # none yet, or the registry was cleaned
            r.set(key, failed, ex=window)
            continue
        grown = failed - int(noted)
        if grown > threshold:
            raise_alert("job_failures",
                        summary=f"More than {threshold} jobs of queue {name} failed "
                                f"within {window // 60} minutes",
                        details={"queue": name, "failed": grown})
            r.set(key, failed, ex=window)
            raised += 1
    return raised
