"""Pulling one reply out of a provider: retries, timeouts, coalescing and stopping.

The provider is read in a producer greenlet that feeds a queue; the job's greenlet consumes the
queue with timeouts, so it can coalesce tokens and enforce the first-token and idle timeouts even
while the model sends nothing. A stop request drops a marker into the same queue. Killing the
producer closes the provider's request.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import gevent
import redis
from gevent.event import Event
from gevent.queue import Empty, Queue

from chatapp.services.llm import Provider, ProviderError, Usage

log = logging.getLogger(__name__)

_END = object()
_STOP = object()


@dataclass(frozen=True)
class StreamSettings:
    """Timing of a reply's stream (all in seconds)."""

    coalesce: float = 0.015
    first_token_timeout: float = 60.0
    idle_timeout: float = 30.0
    retries: int = 2
    retry_base_delay: float = 0.5
    save_interval: float = 3.0

    @classmethod
    def from_config(cls, config: dict) -> StreamSettings:
        """Read the LLM_* and REPLY_* settings."""
        return cls(coalesce=config["LLM_COALESCE_MS"] / 1000,
                   first_token_timeout=config["LLM_FIRST_TOKEN_TIMEOUT"],
                   idle_timeout=config["LLM_IDLE_TIMEOUT"], retries=config["LLM_RETRIES"],
                   retry_base_delay=config["LLM_RETRY_BASE_DELAY"],
                   save_interval=config["REPLY_SAVE_INTERVAL"])


@dataclass
class Outcome:
    """How a reply ended: done, failed or cancelled, with its text and what is known about it."""

    status: str
    text: str
    usage: Usage | None = None
    first_token_ms: int | None = None
    error: str | None = None
    retryable: bool = False
    exception: BaseException | None = None


@dataclass
class Hooks:
    """What the stream does with a reply as it grows."""

    publish: Callable[[str], bool]  # new text; False: refused, the attempt was asked to stop
    save: Callable[[str], None]  # whole text so far, every save_interval


def pull_reply(provider: Provider, prompt: list[dict], settings: StreamSettings,
               hooks: Hooks, stop: Event) -> Outcome:
    """Stream the reply to `prompt`, publishing text as it comes, until it ends or `stop` is set;
    return how it ended."""
    items: Queue = Queue()
    producer = gevent.spawn(_produce, provider, prompt, items, settings)

    def on_stop(_event) -> None:
        items.put(_STOP)

    stop.rawlink(on_stop)
    try:
        return _consume(items, settings, hooks)
    finally:
        stop.unlink(on_stop)
        producer.kill(block=True, timeout=2)


def _produce(provider: Provider, prompt: list[dict], items: Queue, settings: StreamSettings):
    """Feed the provider's chunks into `items`; retry retryable failures before any text."""
    for attempt in range(settings.retries + 1):
        sent_text = False
        try:
            for item in provider.stream(prompt):
                sent_text = sent_text or not isinstance(item, Usage)
                items.put(item)
            items.put(_END)
            return
        except ProviderError as error:
            if sent_text or not error.retryable or attempt == settings.retries:
                items.put(error)
                return
            delay = settings.retry_base_delay * 2 ** attempt * random.uniform(0.7, 1.3)
            log.info("provider failed (%s); attempt %d again in %.2f s", error.message,
                     attempt + 2, delay)
            gevent.sleep(delay)
        except Exception as error:
            items.put(error)
            return


def _consume(items: Queue, settings: StreamSettings, hooks: Hooks) -> Outcome:
    consumer = _Consumer(settings, hooks)
    try:
        return consumer.run(items)
    except redis.RedisError:
        # Nothing more can be published; the text so far still goes to SQL with the failure.
        outcome = consumer.outcome
        outcome.text += consumer.pending
        outcome.status, outcome.retryable = "failed", True
        outcome.error = "The reply was interrupted: chatapp lost its connection to Redis."
        return outcome


class _Consumer:
    """Takes the producer's items and turns them into published, coalesced text."""

    def __init__(self, settings: StreamSettings, hooks: Hooks):
        self.settings = settings
        self.hooks = hooks
        self.outcome = Outcome("streaming", "")
        self.pending = ""  # text received but not yet published
        self.flush_at: float | None = None

    def flush(self) -> bool:
        """Publish the text received so far; False when refused (the attempt was asked to stop):
        the reply keeps only the text that was published."""
        chunk, self.pending, self.flush_at = self.pending, "", None
        if not chunk:
            return True
        if not self.hooks.publish(chunk):
            return False
        self.outcome.text += chunk
        return True

    def run(self, items: Queue) -> Outcome:
        settings, hooks, outcome = self.settings, self.hooks, self.outcome
        started = last_item = last_save = time.monotonic()
        while True:
            now = time.monotonic()
            waiting_for_first = outcome.first_token_ms is None
            deadline = started + settings.first_token_timeout if waiting_for_first \
                else last_item + settings.idle_timeout
            wait = deadline - now
            if self.flush_at is not None:
                wait = min(wait, self.flush_at - now)
            try:
                item = items.get(timeout=max(0.0, wait))
            except Empty:
                item = None
            now = time.monotonic()
            if item is _STOP or item is _END:
                outcome.status = "done" if self.flush() and item is _END else "cancelled"
                return outcome
            if isinstance(item, BaseException):
                self.flush()
                return _failed(outcome, item)
            if isinstance(item, Usage):
                outcome.usage = item
            elif item is not None:
                last_item = now
                self.pending += item
                if waiting_for_first:  # the first token is never held back
                    outcome.first_token_ms = int((now - started) * 1000)
                    self.flush_at = now
                else:
                    self.flush_at = self.flush_at or now + settings.coalesce
            if self.flush_at is not None and now >= self.flush_at and not self.flush():
                outcome.status = "cancelled"
                return outcome
            if item is None and now >= deadline:
                self.flush()
                return _timed_out(outcome, settings)
            if now - last_save >= settings.save_interval:
                last_save = now
                hooks.save(outcome.text + self.pending)


def _failed(outcome: Outcome, error: BaseException) -> Outcome:
    outcome.status = "failed"
    if isinstance(error, ProviderError):
        outcome.error, outcome.retryable = error.message, error.retryable
    else:
        outcome.error, outcome.retryable = "The reply failed unexpectedly. Try again.", True
        outcome.exception = error
    return outcome


def _timed_out(outcome: Outcome, settings: StreamSettings) -> Outcome:
    outcome.status, outcome.retryable = "failed", True
    if outcome.first_token_ms is None:
        outcome.error = (f"The language model did not start answering within "
                         f"{settings.first_token_timeout:g} s.")
    else:
        outcome.error = f"The language model stopped answering for {settings.idle_timeout:g} s."
    return outcome
