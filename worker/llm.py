"""Writing assistant replies: stream from the provider into the session's event log and SQL."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis

from chatapp.extensions import db
from chatapp.models import REPLY_IN_PROGRESS, ChatMessage, ChatSession
from chatapp.services import events, produced_files, prompt_files
from chatapp.services.conversation import message_event
from chatapp.services.llm import Usage, choose_model, provider_for
from chatapp.services.prompt import build_messages, with_context
from chatapp.services.redis_client import get_redis
from worker import get_app
from worker.periodic_saves import PeriodicSaves
from worker.redis_batch import SharedPipeline
from worker.reply_stream import Hooks, StreamSettings, pull_reply
from worker.running import RunningReplies

log = logging.getLogger(__name__)

ANNOUNCE_ATTEMPTS = 40


def generate_reply(message_id: int, attempt: int) -> str:
    """Write attempt `attempt` of the pending assistant message `message_id`; a no-op unless that
    attempt is still pending. The job beats from its start, so the orphan reaper never takes a
    job that waits for its turn for a dead one."""
    app = get_app()
    with app.app_context(), _shared(app).running.running(message_id, attempt) as stop:
        message = _mark_streaming(message_id, attempt)
        if message is None:
            message = db.session.get(ChatMessage, message_id)
            log.info("reply %s attempt %s skipped: %s", message_id, attempt,
                     f"{message.status}, attempt {message.attempt}" if message else "missing")
            return "skipped"
        session_id = message.session_id
        history = db.session.execute(
            db.select(ChatMessage.id, ChatMessage.sender, ChatMessage.content).where(
                ChatMessage.session_id == session_id, ChatMessage.seq < message.seq,
                db.or_(ChatMessage.content != "", ChatMessage.sender == "user"))
            .order_by(ChatMessage.seq)
        ).all()
        card = db.session.execute(db.select(ChatSession.client_name, ChatSession.context,
                                            ChatSession.model)
                                  .where(ChatSession.id == session_id)).one()
        model = choose_model(app.config, card.model)
        files = prompt_files.plan([row.id for row in history if row.sender == "user"],
                                  app.config["PROMPT_FILES_TOKEN_BUDGET"], model.vision)
        if files.used:  # shown with the reply: the files it read
            message.meta = {**(message.meta or {}), "used_files": files.used}
        db.session.commit()
        db.session.close()  # no SQL connection is held while the model streams
        items = [files.item(row.id, row.sender, row.content, prompt_files.fetch_stored)
                 for row in history]
        prompt = build_messages(items, app.config["HISTORY_TOKEN_BUDGET"],
                                system_prompt=with_context(card.client_name, card.context))
        provider = provider_for(app.config, model)
        return _stream(app, session_id, message_id, attempt, provider, prompt, stop)


def _mark_streaming(message_id: int, attempt: int) -> ChatMessage | None:
    """Move attempt `attempt` of the reply from pending to streaming (committed with the
    history's read) and return the reply, in one statement; None (nothing changed) when it is
    not that attempt, pending: stopped, started over, or gone meanwhile."""
    message = db.session.scalar(
        db.update(ChatMessage).where(ChatMessage.id == message_id, ChatMessage.status == "pending")
        .values(status="streaming").returning(ChatMessage))
    if message is None or message.attempt != attempt:
        db.session.rollback()
        return None
    return message


def _stream(app, session_id, message_id: int, attempt: int, provider, prompt: list[dict],
            stop) -> str:
    r = get_redis(app)
    log_settings = events.LogSettings.from_config(app.config)
    started = time.monotonic()
    shared = _shared(app)
    hooks = Hooks(
        publish=lambda delta: shared.pipeline.execute(
            lambda pipe: events.add_delta(pipe, session_id, message_id, attempt, delta,
                                          log_settings))[0] is not None,
        save=lambda text: shared.saves.save(message_id, text),
    )
    outcome = pull_reply(provider, prompt,
                         StreamSettings.from_config(app.config), hooks, stop)
    if outcome.status == "failed":
        log.warning("reply %s failed: %s", message_id, outcome.error,
                    exc_info=outcome.exception)
    end_reply(r, log_settings, message_id, outcome.status, outcome.text, usage=outcome.usage,
              error=outcome.error, retryable=outcome.retryable,
              first_token_ms=outcome.first_token_ms, latency_ms=_ms_since(started),
              attempt=attempt)
    if outcome.exception is not None:
        raise outcome.exception  # RQ records the job as failed, for ops to see
    return outcome.status


def end_reply(r, settings, message_id: int, status: str, text: str, *,
              usage: Usage | None = None, error: str | None = None, retryable: bool = False,
              first_token_ms: int | None = None, latency_ms: int | None = None,
              attempt: int | None = None) -> None:
    """Write the final state to SQL, then announce it (a reload after the event shows it).

    A job passes its `attempt`: if the reply was meanwhile ended or started over by the orphan
    reaper (the job looked dead), the job's outcome is dropped."""
    message = db.session.get(ChatMessage, message_id)
    if attempt is not None and (message.attempt != attempt
                                or message.status not in REPLY_IN_PROGRESS):
        log.warning("reply %s attempt %s superseded (now attempt %s, %s): its end is dropped",
                    message_id, attempt, message.attempt, message.status)
        db.session.close()
        return
    message.content = text
    message.status = status
    meta = dict(message.meta or {})
    if error:
        meta.update(error=error, retryable=retryable)
    if first_token_ms is not None:
        meta["first_token_ms"] = first_token_ms
    message.meta = meta
    if usage:
        message.tokens_in, message.tokens_out = usage.tokens_in, usage.tokens_out
    message.latency_ms = latency_ms
    if status == "done" and (files := produced_files.store(message, text)):
        meta = {**meta, "files": files}  # a new dict: the store flushed the old one
        message.meta = meta
    if "versions" in meta:  # a regenerated reply: this is its newest version
        message.meta = {**meta, "versions": [*meta["versions"], message.as_version()]}
    db.session.commit()
    data = message_event(message)
    db.session.close()
    if usage:
        data["usage"] = {"tokens_in": usage.tokens_in, "tokens_out": usage.tokens_out}
    if error:
        data.update(reason=error, retryable=retryable)
    _announce(lambda: events.end_reply(r, message.session_id, message_id, f"reply.{status}", data,
                                       settings))


def _announce(append, attempts: int = ANNOUNCE_ATTEMPTS) -> None:
    """Append a reply's final event, waiting out a Redis outage of up to a minute or so: the SQL
    row already holds the outcome, and viewers learn it when Redis is back."""
    for attempt in range(attempts):
        try:
            append()
            return
        except redis.RedisError:
            if attempt == attempts - 1:
                log.error("could not announce the end of a reply: Redis unavailable")
                return
            time.sleep(min(2.0, 0.1 * 2 ** attempt))


@dataclass(frozen=True)
class _SharedByReplies:
    """What the replies of one worker process share."""

    pipeline: SharedPipeline  # their Redis writes
    running: RunningReplies  # their heartbeats and stop requests
    saves: PeriodicSaves  # their saves to SQL while streaming


def _shared(app) -> _SharedByReplies:
    """The process's shared reply machinery, created on first use."""
    if "replies" not in app.extensions:
        app.extensions["replies"] = _SharedByReplies(
            SharedPipeline(get_redis(app)),
            RunningReplies(get_redis(app), app.config["REPLY_HEARTBEAT_TTL"]),
            PeriodicSaves(app))
    return app.extensions["replies"]


def _ms_since(start: float) -> int:
    return int((time.monotonic() - start) * 1000)
