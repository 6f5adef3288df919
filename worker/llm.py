"""Writing assistant replies: stream from the provider into the session's event log and SQL."""

from __future__ import annotations

import contextlib
import logging
import time

import gevent
import redis

from chatapp.extensions import db
from chatapp.models import ChatMessage
from chatapp.services import control, events
from chatapp.services.conversation import message_event
from chatapp.services.llm import Usage, provider_from_config
from chatapp.services.prompt import build_messages
from chatapp.services.redis_client import get_redis
from worker import get_app
from worker.reply_stream import Hooks, StreamSettings, pull_reply

log = logging.getLogger(__name__)

ANNOUNCE_ATTEMPTS = 40


def generate_reply(message_id: int) -> str:
    """Write the pending assistant message `message_id`; a no-op unless it is still pending."""
    app = get_app()
    with app.app_context():
        message = db.session.get(ChatMessage, message_id)
        if message is None or message.status != "pending":
            log.info("reply %s skipped: %s", message_id, message.status if message else "missing")
            return "skipped"
        session_id = message.session_id
        history = db.session.execute(
            db.select(ChatMessage.sender, ChatMessage.content).where(
                ChatMessage.session_id == session_id, ChatMessage.seq < message.seq,
                ChatMessage.content != "")
            .order_by(ChatMessage.seq)
        ).mappings().all()
        prompt = build_messages([dict(row) for row in history], app.config["HISTORY_TOKEN_BUDGET"])
        r = get_redis(app)
        control.beat(r, message_id, app.config["REPLY_HEARTBEAT_TTL"])  # before any wait
        heartbeat = gevent.spawn(_keep_beating, r, message_id, app.config["REPLY_HEARTBEAT_TTL"])
        try:
            message.status = "streaming"
            db.session.commit()
            db.session.close()  # no SQL connection is held while the model streams
            return _stream(app, session_id, message_id, prompt)
        finally:
            heartbeat.kill()
            with contextlib.suppress(redis.RedisError):  # it expires by itself anyway
                control.end_beats(r, message_id)


def _keep_beating(r, message_id: int, ttl: float) -> None:
    """Refresh the reply's heartbeat until killed; the reaper treats silence as a dead worker."""
    while True:
        with contextlib.suppress(redis.RedisError):  # the stream loop reports Redis trouble
            control.beat(r, message_id, ttl)
        gevent.sleep(ttl / 3)


def _stream(app, session_id, message_id: int, prompt: list[dict]) -> str:
    r = get_redis(app)
    log_settings = events.LogSettings.from_config(app.config)
    started = time.monotonic()
    hooks = Hooks(
        publish=lambda delta, text: events.append_delta(r, session_id, message_id, delta, text,
                                                        log_settings),
        save=lambda text: _save(message_id, content=text),
        should_stop=lambda: control.stop_requested(r, message_id),
    )
    outcome = pull_reply(provider_from_config(app.config), prompt,
                         StreamSettings.from_config(app.config), hooks)
    if outcome.status == "failed":
        log.warning("reply %s failed: %s", message_id, outcome.error,
                    exc_info=outcome.exception)
    end_reply(r, log_settings, message_id, outcome.status, outcome.text, usage=outcome.usage,
         error=outcome.error, retryable=outcome.retryable, first_token_ms=outcome.first_token_ms,
         latency_ms=_ms_since(started))
    if outcome.exception is not None:
        raise outcome.exception  # RQ records the job as failed, for ops to see
    return outcome.status


def end_reply(r, settings, message_id: int, status: str, text: str, *,
              usage: Usage | None = None, error: str | None = None, retryable: bool = False,
              first_token_ms: int | None = None, latency_ms: int | None = None) -> None:
    """Write the final state to SQL, then announce it (a reload after the event shows it)."""
    message = db.session.get(ChatMessage, message_id)
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


def _save(message_id: int, **values) -> None:
    db.session.execute(db.update(ChatMessage).where(ChatMessage.id == message_id).values(**values))
    db.session.commit()
    db.session.close()


def _ms_since(start: float) -> int:
    return int((time.monotonic() - start) * 1000)
