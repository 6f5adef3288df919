"""The replies one llm worker process is writing: their heartbeats and their stop requests.

A reply job must say it is alive (the reaper fails or re-runs replies whose worker went silent)
and notice a Stop within a second. Asked of Redis by each reply, that is a request per reply several
times a second; here one greenlet asks for all of them at once, and wakes a reply only when its
stop was requested.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

import gevent
import redis
from gevent.event import Event

from chatapp.services import control

log = logging.getLogger(__name__)

STOP_CHECK_INTERVAL = 0.25  # seconds: a Stop takes effect within about this long


class RunningReplies:
    """Heartbeats and stop requests of the process's replies, one Redis round trip per tick."""

    def __init__(self, r: redis.Redis, heartbeat_ttl: float):
        self.redis = r
        self.heartbeat_ttl = heartbeat_ttl
        self._stops: dict[tuple[int, int], Event] = {}  # by (message id, attempt)
        self._watcher: gevent.Greenlet | None = None

    @contextlib.contextmanager
    def running(self, message_id: int, attempt: int) -> Iterator[Event]:
        """Mark attempt `attempt` of reply `message_id` as being written while the block runs;
        the event yielded is set when its stop is requested. Raises redis.RedisError when Redis
        cannot be reached."""
        control.beat(self.redis, message_id, attempt, self.heartbeat_ttl)  # before any wait
        stop = self._stops[message_id, attempt] = Event()
        if self._watcher is None:
            self._watcher = gevent.spawn(self._watch)
        try:
            yield stop
        finally:
            del self._stops[message_id, attempt]
            with contextlib.suppress(redis.RedisError):  # it expires by itself anyway
                control.end_beats(self.redis, message_id, attempt)

    def _watch(self) -> None:
        last_beat = time.monotonic()
        try:
            while self._stops:
                gevent.sleep(STOP_CHECK_INTERVAL)
                beat = time.monotonic() - last_beat >= self.heartbeat_ttl / 3
                try:
                    self._check(list(self._stops), beat)
                except redis.RedisError:  # the replies' own writes report Redis trouble
                    continue
                if beat:
                    last_beat = time.monotonic()
        finally:
            self._watcher = None

    def _check(self, replies: list[tuple[int, int]], beat: bool) -> None:
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.mget([control.stop_key(*reply) for reply in replies])
            if beat:
                for reply in replies:
                    control.beat(pipe, *reply, self.heartbeat_ttl)
            stops = pipe.execute()[0]
        for reply, stop in zip(replies, stops, strict=True):
            if stop is not None and reply in self._stops:
                self._stops[reply].set()
