"""Settings administrators change in the app; CHATAPP_* configuration gives their defaults."""

from __future__ import annotations

from flask import current_app

from chatapp.extensions import db
from chatapp.models import Setting, User

LIVE_TRANSPORTS = ("auto", "sse", "websocket", "poll")


def live_transport() -> str:
    """How pages get live updates: the administrators' choice, else CHATAPP_LIVE_TRANSPORT."""
    chosen = db.session.get(Setting, "live_transport")
    return chosen.value if chosen is not None else current_app.config["LIVE_TRANSPORT"]


def set_live_transport(value: str, by: User) -> None:
    """Force one transport for every page (or `auto`); ValueError for an unknown one."""
    if value not in LIVE_TRANSPORTS:
        raise ValueError(f"Choose one of: {', '.join(LIVE_TRANSPORTS)}.")
    setting = db.session.get(Setting, "live_transport") or Setting(key="live_transport")
    setting.value, setting.updated_by_id = value, by.id
    db.session.add(setting)
    db.session.commit()
