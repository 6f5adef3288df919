"""Writing assistant replies: stream from the provider into the session's event log and SQL."""

from __future__ import annotations

import logging
import time

from chatapp.extensions import db
from chatapp.models import ChatMessage
from chatapp.services import control, events
from chatapp.services.conversation import message_event
from chatapp.services.llm import ProviderError, Usage, provider_from_config
from chatapp.services.prompt import build_messages
from chatapp.services.redis_client import get_redis
from worker import get_app

log = logging.getLogger(__name__)

STOP_CHECK_INTERVAL = 0.1  # seconds between looks at the stop flag while tokens flow


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
        message.status = "streaming"
        db.session.commit()
        db.session.close()  # no SQL connection is held while the model streams
        return _stream(app, session_id, message_id, prompt)


def _stream(app, session_id, message_id: int, prompt: list[dict]) -> str:
    r = get_redis(app)
    settings = events.LogSettings.from_config(app.config)
    save_interval = app.config["REPLY_SAVE_INTERVAL"]
    started = last_save = last_stop_check = time.monotonic()
    text, usage, first_token_ms = "", None, None
    chunks = provider_from_config(app.config).stream(prompt)
    try:
        for item in chunks:
            if isinstance(item, Usage):
                usage = item
                continue
            if first_token_ms is None:
                first_token_ms = _ms_since(started)
            text += item
            events.append_delta(r, session_id, message_id, item, text, settings)
            now = time.monotonic()
            if now - last_stop_check >= STOP_CHECK_INTERVAL:
                last_stop_check = now
                if control.stop_requested(r, message_id):
                    chunks.close()  # closes the provider's request
                    _end(r, settings, message_id, "cancelled", text, first_token_ms=first_token_ms,
                         latency_ms=_ms_since(started))
                    return "cancelled"
            if now - last_save >= save_interval:
                _save(message_id, content=text)
                last_save = now
    except ProviderError as error:
        log.warning("reply %s failed: %s", message_id, error.message)
        _end(r, settings, message_id, "failed", text, error=error.message,
             retryable=error.retryable)
        return "failed"
    except Exception:
        log.exception("reply %s failed unexpectedly", message_id)
        _end(r, settings, message_id, "failed", text,
             error="The reply failed unexpectedly. Try again.", retryable=True)
        raise
    _end(r, settings, message_id, "done", text, usage=usage, first_token_ms=first_token_ms,
         latency_ms=_ms_since(started))
    return "done"


def _end(r, settings, message_id: int, status: str, text: str, *, usage: Usage | None = None,
         error: str | None = None, retryable: bool = False, first_token_ms: int | None = None,
         latency_ms: int | None = None) -> None:
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
    db.session.commit()
    data = message_event(message)
    db.session.close()
    if usage:
        data["usage"] = {"tokens_in": usage.tokens_in, "tokens_out": usage.tokens_out}
    if error:
        data.update(reason=error, retryable=retryable)
    events.end_reply(r, message.session_id, message_id, f"reply.{status}", data, settings)


def _save(message_id: int, **values) -> None:
    db.session.execute(db.update(ChatMessage).where(ChatMessage.id == message_id).values(**values))
    db.session.commit()
    db.session.close()


def _ms_since(start: float) -> int:
    return int((time.monotonic() - start) * 1000)
