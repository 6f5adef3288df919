"""RQ jobs of chatapp, by area, and the app they run in."""

from __future__ import annotations

from flask import Flask

_app: Flask | None = None


def get_app() -> Flask:
    """The worker process's Flask app, created on first use (configuration from CHATAPP_*)."""
    global _app
    if _app is None:
        from chatapp import create_app

        _app = create_app()
    return _app
