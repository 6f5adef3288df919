"""In-process fan-out of session event logs: one Redis reader per web process, many viewers.

Every live viewer in a web process (the consultant's tabs, admins watching, API clients)
subscribes here instead of reading Redis itself. One reader, in the background, listens on a
single Pub/Sub connection to the notify channels of the sessions that have viewers, reads (XREAD)
only the logs that were notified, and hands each entry to their viewers' queues. Its cost follows
the events that happen, not the number of sessions watched. A new session is read once right
after its channel is subscribed, so entries appended meanwhile are not missed; a per-process wake
channel tells the reader about new sessions at once.

A subscriber gets exactly the events after the id it gives: the ones the reader already passed
are read once from Redis (its backlog), later ones arrive from the reader, and any overlap is
dropped by id. A viewer too slow to keep up is cut off (its stream ends and the client resumes
from its last id). Works with threads or, in gunicorn's gevent workers, with greenlets.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid

import redis

from chatapp.services.events import EVENTS_KEY, NOTIFY_CHANNEL, Event, id_key, read_range, to_event

log = logging.getLogger(__name__)

BLOCK_SECONDS = 15.0  # longest wait for a notification before looking at the viewers again
READ_INTERVAL = 0.005  # seconds between the starts of two reads while events keep coming
MESSAGE_READ_SECONDS = 5.0  # to receive the rest of a notification whose first bytes arrived
MAX_QUEUED = 5000  # events waiting for one viewer before it is cut off
_CLOSED = object()


class Subscription:
    """One viewer's feed of a session's events, after a given id."""

    def __init__(self, hub: EventHub, key: str, after_id: str, user_id: int | None = None):
        self.hub = hub
        self.key = key
        self.last_id = after_id
        self.user_id = user_id  # its viewer's own signals are not sent back to it
        self.closed = False
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._held: list | None = []  # live events that arrive while the backlog is read

    def deliver(self, item) -> None:
        """Called by the hub (holding its lock): queue an event (or the end of the feed)."""
        if self._held is not None:
            self._held.append(item)
            return
        if self._queue.qsize() >= MAX_QUEUED and item is not _CLOSED:
            log.warning("a viewer of %s fell %d events behind: cut off", self.key, MAX_QUEUED)
            item = _CLOSED
        self._queue.put(item)

    def next_events(self, timeout: float) -> list[Event] | None:
        """The events that arrived (waiting up to `timeout` s for the first); [] on timeout,
        None when the feed ended (Redis trouble, or this viewer fell too far behind)."""
        batch: list[Event] = []
        try:
            item = self._queue.get(timeout=timeout)
            while True:
                if item is _CLOSED:
                    self.closed = True
                    return batch or None
                if not item.id:  # a passing signal (typing, presence): not in the log
                    batch.append(item)
                elif id_key(item.id) > id_key(self.last_id):
                    batch.append(item)
                    self.last_id = item.id
                item = self._queue.get_nowait()
        except queue.Empty:
            return batch

    def close(self) -> None:
        """Stop receiving."""
        self.hub.unsubscribe(self)

    def end(self) -> None:
        """Stop receiving and end the feed: a viewer waiting in next_events gets None at once
        (its client went away)."""
        self.close()
        self._held = None
        self._queue.put(_CLOSED)


class EventHub:
    """The process's single reader of session event logs."""

    def __init__(self, r: redis.Redis, block_seconds: float = BLOCK_SECONDS):
        self.redis = r
        self.block_seconds = block_seconds
        self.wake_channel = f"chat:hub:{uuid.uuid4().hex}:wake"
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscription]] = {}
        self._positions: dict[str, str] = {}
        self._viewers_changed = False
        self._reader: threading.Thread | None = None
        self._closed = False

    def subscribe(self, session_id, after_id: str, user_id: int | None = None) -> Subscription:
        """Events of session `session_id` after `after_id`, backlog first, and the signals of
        users other than `user_id`."""
        key = EVENTS_KEY.format(session_id)
        subscription = Subscription(self, key, after_id, user_id)
        if self._closed:
            subscription._held = None
            subscription.deliver(_CLOSED)
            return subscription
        head = self._head(key)
        with self._lock:
            if key not in self._positions:
                self._positions[key] = head
                self._viewers_changed = True
            self._subscribers.setdefault(key, set()).add(subscription)
            passed = self._positions[key]  # later entries will reach the subscription's queue
            start_reader = self._reader is None
            if start_reader:
                self._reader = threading.Thread(target=self._read, name="event-hub", daemon=True)
        if start_reader:
            self._reader.start()
        elif self._viewers_changed:
            self.redis.publish(self.wake_channel, b"")
        backlog = []
        if id_key(passed) > id_key(after_id):
            backlog = read_range(self.redis, session_id, after_id, passed)
        with self._lock:
            held, subscription._held = subscription._held, None
            for item in [*backlog, *held]:
                subscription.deliver(item)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription; a stream with no subscriber left is no longer read."""
        with self._lock:
            viewers = self._subscribers.get(subscription.key)
            if viewers is not None:
                viewers.discard(subscription)
                if not viewers:
                    del self._subscribers[subscription.key]
                    del self._positions[subscription.key]
                    self._viewers_changed = True

    def close(self) -> None:
        """End every viewer's feed now, and the feeds asked for later at once (the process is
        stopping): their streams end cleanly and the clients resume from their last event on a
        process that runs."""
        self._closed = True
        self._end_all()

    @property
    def closed(self) -> bool:
        """True once close() was called: the process is stopping."""
        return self._closed

    def _head(self, key: str) -> str:
        last = self.redis.xrevrange(key, count=1)
        return last[0][0].decode() if last else "0-0"

    def _read(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.wake_channel)
            self._read_loop(pubsub)
        except redis.RedisError:
            log.warning("event hub lost Redis; viewers will reconnect", exc_info=True)
            self._end_all()
        finally:
            pubsub.close()

    def _read_loop(self, pubsub) -> None:
        watched: set[str] = set()  # stream keys whose channel is subscribed
        due: set[str] = set()  # stream keys to read
        last_read = 0.0
        while True:
            with self._lock:
                if not self._subscribers:
                    self._reader = None
                    return
                changed, self._viewers_changed = self._viewers_changed, False
                wanted = set(self._positions) if changed else watched
            if changed:
                self._follow(pubsub, wanted - watched, watched - wanted)
                due |= wanted - watched
                watched = wanted
            if not due:
                due |= self._notified(pubsub, self.block_seconds)
            # Pace the reads under load, so each collects a batch; an idle reader answers its
            # first notification at once.
            time.sleep(max(0.0, last_read + READ_INTERVAL - time.monotonic()))
            due |= self._notified(pubsub, 0)
            last_read = time.monotonic()
            if due:
                self._read_due(due)
                due = set()

    @staticmethod
    def _follow(pubsub, added: set[str], removed: set[str]) -> None:
        if removed:
            pubsub.unsubscribe(*(_channel_of(key) for key in removed))
        if added:
            pubsub.subscribe(*(_channel_of(key) for key in added))

    def _notified(self, pubsub, wait: float) -> set[str]:
        """Stream keys notified: the first message is waited for up to `wait` s, then those that
        have arrived are taken. A message is read only once its first bytes are there, with time
        to receive the rest (a read that gives up halfway would leave the connection unusable).
        A message with a body is a signal (events.publish_signal): handed to the viewers as is."""
        keys = set()
        message = pubsub.get_message(timeout=wait) if wait else None
        while True:
            if message is not None and message["type"] == "message":
                key = _key_of(message["channel"])
                if message["data"]:
                    self._dispatch_signal(key, message["data"])
                else:
                    keys.add(key)
            if not pubsub.connection.can_read(timeout=0):
                return keys
            message = pubsub.get_message(timeout=MESSAGE_READ_SECONDS)

    def _dispatch_signal(self, key: str, body: bytes) -> None:
        try:
            signal = json.loads(body)
            event = Event("", signal["type"], signal["data"])
        except (ValueError, KeyError, TypeError):
            log.warning("a malformed signal on %s was dropped", key)
            return
        sender = event.data.get("user_id") if isinstance(event.data, dict) else None
        with self._lock:
            for viewer in self._subscribers.get(key, ()):
                if sender is None or viewer.user_id != sender:
                    viewer.deliver(event)

    def _read_due(self, due: set[str]) -> None:
        with self._lock:
            streams = {key: self._positions[key] for key in due if key in self._positions}
        if not streams:
            return
        for raw_key, entries in self.redis.xread(streams) or []:
            self._dispatch(raw_key.decode(),
                           [to_event(entry_id, fields) for entry_id, fields in entries])

    def _dispatch(self, key: str, batch: list[Event]) -> None:
        with self._lock:
            if key not in self._positions:
                return
            self._positions[key] = batch[-1].id
            for viewer in self._subscribers.get(key, ()):
                for event in batch:
                    viewer.deliver(event)

    def _end_all(self) -> None:
        with self._lock:
            for viewers in self._subscribers.values():
                for viewer in viewers:
                    viewer.deliver(_CLOSED)
            self._subscribers.clear()
            self._positions.clear()
            self._reader = None


def _channel_of(key: str) -> str:
    """The notify channel of stream `key`."""
    return NOTIFY_CHANNEL.format(key.split(":")[2])


def _key_of(channel: bytes) -> str:
    """The stream key of notify channel `channel`."""
    return EVENTS_KEY.format(channel.decode().split(":")[2])
