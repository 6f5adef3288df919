"""Naming sessions: the model writes a short title from the session's first message."""

from __future__ import annotations

import logging
import uuid

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession
from chatapp.services import events, titles
from chatapp.services.llm import ProviderError, choose_model, provider_for
from chatapp.services.redis_client import get_redis
from worker import get_app

log = logging.getLogger(__name__)


def name_session(session_id: str) -> str:
    """Give session `session_id` a title written by its model, unless its owner named it or
    renamed it meanwhile. The name from the first message stays when the model is the offline
    demo model (too small for useful titles, and its one context would hold up replies) or
    cannot answer. Returns what happened."""
    app = get_app()
    with app.app_context():
        chat = db.session.get(ChatSession, uuid.UUID(session_id))
        if chat is None or chat.named_by_owner or chat.deleted_at is not None:
            return "skipped"
        first = db.session.scalar(
            db.select(ChatMessage.content).where(ChatMessage.session_id == chat.id,
                                                 ChatMessage.sender == "user")
            .order_by(ChatMessage.seq).limit(1))
        choice = choose_model(app.config, chat.model)
        name_before = chat.name
        db.session.close()  # no SQL connection is held while the model writes
        if first is None or choice.offline:
            return "kept"
        try:
            provider = provider_for(app.config, choice, max_tokens=titles.MAX_TOKENS)
            answer = "".join(piece for piece in provider.stream(titles.prompt(first))
                             if isinstance(piece, str))
        except ProviderError as error:
            log.info("session %s keeps its name: the model could not name it (%s)", session_id,
                     error.message)
            return "kept"
        title = titles.cleaned(answer)
        if title is None:
            return "kept"
        renamed = db.session.execute(
            db.update(ChatSession).where(ChatSession.id == chat.id,
                                         ChatSession.named_by_owner.is_(False),
                                         ChatSession.name == name_before)
            .values(name=title)).rowcount
        db.session.commit()
        if not renamed:
            return "skipped"
        events.append(get_redis(app), chat.id, "session.updated", {"name": title},
                      events.LogSettings.from_config(app.config))
        return "named"
