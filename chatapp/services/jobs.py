"""Enqueueing background jobs: the one place that knows queue names, timeouts and job ids."""

from __future__ import annotations

import time

from flask import current_app
from redis.client import Pipeline
from rq import Queue, Retry

from chatapp.services.redis_client import get_redis

LLM_QUEUE = "llm"
NOTIFY_QUEUE = "notify"
DEFAULT_QUEUE = "default"
MEDIA_QUEUE = "media"
# Replies (llm) have a worker process of their own: uploads and alerts never hold them up; notify
# comes before default there, so an alert is not held up by upkeep jobs.
QUEUES = (LLM_QUEUE, NOTIFY_QUEUE, DEFAULT_QUEUE, MEDIA_QUEUE)


def queue(name: str) -> Queue:
    """The RQ queue `name` on the app's Redis."""
    return Queue(name, connection=get_redis())


def reply_job_id(message_id: int, attempt: int) -> str:
    """The RQ job id of one attempt at writing a reply."""
    return f"reply-{message_id}-{attempt}"


# The upkeep jobs every worker asks for periodically: function -> (job id prefix, description).
PERIODIC = {
    "worker.maintenance.reap_orphan_replies": ("reap-orphan-replies-",
                                               "fail or re-run replies whose worker died"),
    "worker.maintenance.keep_sessions": ("keep-sessions-",
                                         "idle, end and purge sessions"),
    "worker.maintenance.end_lapsed_takeovers": ("end-lapsed-takeovers-",
                                                "announce takeovers whose admin went away"),
    "worker.notify.check_critical": ("check-critical-",
                                     "check for provider outages, backlogs and failing jobs"),
}


def enqueue_periodic(function: str, interval: float) -> None:
    """Queue upkeep job `function` (one of PERIODIC) once per `interval`, however many workers
    ask for it (the first to claim the interval in Redis queues it)."""
    prefix, description = PERIODIC[function]
    slot = int(time.time() // interval)
    if not get_redis().set(f"chat:periodic:{prefix}{slot}", 1, nx=True,
                           ex=int(interval * 3) + 1):
        return
    queue(DEFAULT_QUEUE).enqueue(
        function,
        job_id=f"{prefix}{slot}",
        job_timeout=60,
        result_ttl=600,
        description=description,
    )


def enqueue_title(session_id) -> None:
    """Queue the naming of session `session_id` by its model (once: the job id names it)."""
    queue(LLM_QUEUE).enqueue(
        "worker.titles.name_session",
        str(session_id),
        job_id=f"title-{session_id}",
        job_timeout=120,
        result_ttl=600,
        failure_ttl=86400,
        description=f"name session {session_id}",
    )


def enqueue_reply(message_id: int, attempt: int = 0, pipeline: Pipeline | None = None) -> None:
    """Queue the generation of assistant message `message_id` on the llm queue (within
    `pipeline`'s transaction when given).

    The job id names the message and the attempt, so a double enqueue of the same attempt is a
    no-op for RQ and a retry gets a fresh job.
    """
    queue(LLM_QUEUE).enqueue(
        "worker.llm.generate_reply",
        message_id,
        attempt,
        pipeline=pipeline,
        job_id=reply_job_id(message_id, attempt),
        job_timeout=current_app.config["REPLY_JOB_TIMEOUT"],
        result_ttl=3600,
        failure_ttl=7 * 86400,
        description=f"reply to message {message_id}",
    )


def enqueue_delivery(delivery_id: int) -> None:
    """Queue the sending of alert delivery `delivery_id` on the notify queue, retried after
    each of ALERT_RETRY_DELAYS when it fails for a passing reason (once: the job id names it)."""
    delays = current_app.config["ALERT_RETRY_DELAYS"]
    delays = [int(delay) for delay in (delays if isinstance(delays, list) else [delays])]
    queue(NOTIFY_QUEUE).enqueue(
        "worker.notify.deliver_alert",
        delivery_id,
        job_id=f"alert-delivery-{delivery_id}",
        job_timeout=60,
        retry=Retry(max=len(delays), interval=delays) if delays else None,
        result_ttl=600,
        failure_ttl=7 * 86400,
        description=f"send alert delivery {delivery_id}",
    )


def enqueue_media(attachment_id: int) -> None:
    """Queue the scan and text extraction of attachment `attachment_id` on the media queue."""
    _enqueue_attachment_job("worker.media.process_attachment", "media", attachment_id, 300,
                            "scan and read attachment")


def enqueue_transcription(attachment_id: int) -> None:
    """Queue the transcription of clean audio attachment `attachment_id` on the media queue."""
    _enqueue_attachment_job("worker.voice.transcribe_attachment", "transcribe", attachment_id,
                            600, "transcribe attachment")


def enqueue_speech(attachment_id: int) -> None:
    """Queue the synthesis of speech attachment `attachment_id` (a reply read aloud) on the media
    queue."""
    _enqueue_attachment_job("worker.voice.synthesize_speech", "speech", attachment_id, 300,
                            "read a reply aloud into attachment")


def _enqueue_attachment_job(function: str, kind: str, attachment_id: int, timeout: int,
                            description: str) -> None:
    """Queue `function(attachment_id)` on the media queue, once: the job id names it."""
    queue(MEDIA_QUEUE).enqueue(
        function,
        attachment_id,
        job_id=f"{kind}-{attachment_id}",
        job_timeout=timeout,
        result_ttl=600,
        failure_ttl=7 * 86400,
        description=f"{description} {attachment_id}",
    )
