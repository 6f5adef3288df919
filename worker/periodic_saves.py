"""Saving replies' text to SQL while they stream, for all of a worker process's replies at once.

Each reply asks for a save every few seconds (REPLY_SAVE_INTERVAL); with hundreds of replies in one
process that would be hundreds of SQL transactions a second. Here the latest text of every reply
that asked is written in one transaction, at most once per `interval`. A save never overwrites a
reply that has ended: the final text is written by the job itself.
"""

from __future__ import annotations

import logging

import gevent
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from chatapp.extensions import db
from chatapp.models import ChatMessage

log = logging.getLogger(__name__)

_messages = ChatMessage.__table__
_SAVE = (sa.update(_messages)
         .where(_messages.c.id == sa.bindparam("message_id"), _messages.c.status == "streaming")
         .values(content=sa.bindparam("text")))


class PeriodicSaves:
    """Collects the replies' latest text and writes it together."""

    def __init__(self, app: Flask, interval: float = 1.0):
        self.app = app
        self.interval = interval
        self._texts: dict[int, str] = {}
        self._writer: gevent.Greenlet | None = None

    def save(self, message_id: int, text: str) -> None:
        """Have reply `message_id`'s text saved within `interval` seconds."""
        self._texts[message_id] = text
        if self._writer is None:
            self._writer = gevent.spawn_later(self.interval, self._write)

    def _write(self) -> None:
        texts, self._texts, self._writer = self._texts, {}, None
        with self.app.app_context():
            try:
                db.session.execute(_SAVE, [{"message_id": message_id, "text": text}
                                           for message_id, text in texts.items()])
                db.session.commit()
            except SQLAlchemyError:  # the final save at the end of each reply still comes
                log.warning("could not save %d streaming replies", len(texts), exc_info=True)
                db.session.rollback()
            finally:
                db.session.remove()
