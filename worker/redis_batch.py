"""Group commit of Redis writes: the replies streaming in one llm worker process share pipelines.

Without it every coalesced chunk of every reply is its own round trip to Redis, and at a hundred
replies at once those round trips are most of the process's work. Writes queued while a pipeline
is in flight go out together in the next one, as one MULTI/EXEC (so each reply's event and its
text so far stay atomic), and each writer waits for its own results. Under load the transactions
start at most every SEND_INTERVAL, so each collects more writes (fewer round trips, and Redis
wakes up less often); in an otherwise idle process a write is sent at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent
import redis
from gevent.event import AsyncResult

Build = Callable[[redis.client.Pipeline], None]
SEND_INTERVAL = 0.003  # seconds between the starts of two transactions while writes keep coming


class SharedPipeline:
    """Sends the commands of concurrent writers (greenlets) in shared transactions."""

    def __init__(self, r: redis.Redis):
        self.redis = r
        self._queued: list[tuple[Build, AsyncResult]] = []
        self._sender: gevent.Greenlet | None = None
        self._last_send = 0.0

    def execute(self, build: Build) -> list:
        """Add `build`'s commands to the next transaction; return their results (or raise its
        error, redis.RedisError when Redis cannot be reached)."""
        waiter = AsyncResult()
        self._queued.append((build, waiter))
        if self._sender is None:
            self._sender = gevent.spawn(self._drain)
        return waiter.get()

    def _drain(self) -> None:
        try:
            while self._queued:
                wait = self._last_send + SEND_INTERVAL - time.monotonic()
                if wait > 0:
                    gevent.sleep(wait)
                batch, self._queued = self._queued, []
                self._last_send = time.monotonic()
                self._send(batch)
        finally:
            self._sender = None

    def _send(self, batch: list[tuple[Build, AsyncResult]]) -> None:
        try:
            with self.redis.pipeline(transaction=True) as pipe:
                spans = []
                for build, _ in batch:
                    start = len(pipe)
                    build(pipe)
                    spans.append((start, len(pipe)))
                results = pipe.execute()
        except Exception as error:
            for _, waiter in batch:
                waiter.set_exception(error)
            return
        for (start, end), (_, waiter) in zip(spans, batch, strict=True):
            waiter.set(results[start:end])
