"""Settings administrators change in the app (the settings table); CHATAPP_* configuration or
the code gives their defaults."""

from __future__ import annotations

from typing import Any

from flask import current_app

from chatapp.extensions import db
from chatapp.models import Setting, User

LIVE_TRANSPORTS = ("auto", "sse", "websocket", "poll")


def stored(key: str, default: Any) -> Any:
    """The value administrators stored under `key`, else `default`."""
    setting = db.session.get(Setting, key)
    return setting.value if setting is not None else default


def store(key: str, value: Any, by: User) -> None:
    """Store `value` under `key` as changed by `by` (committed with the caller's transaction)."""
    setting = db.session.get(Setting, key) or Setting(key=key)
    setting.value, setting.updated_by_id = value, by.id
    db.session.add(setting)


def live_transport() -> str:
    """How pages get live updates: the administrators' choice, else CHATAPP_LIVE_TRANSPORT."""
    return stored("live_transport", current_app.config["LIVE_TRANSPORT"])


def set_live_transport(value: str, by: User) -> None:
    """Force one transport for every page (or `auto`); ValueError for an unknown one. Not
    committed: the caller commits its settings together."""
    if value not in LIVE_TRANSPORTS:
        raise ValueError(f"Choose one of: {', '.join(LIVE_TRANSPORTS)}.")
    store("live_transport", value, by)
