"""RQ jobs of chatapp, by area, and the app they run in.

Nothing is imported here at module level: `python -m worker` may have to let gevent patch the
process before Flask, redis or rq are imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

_app: Flask | None = None


def get_app() -> Flask:
    """The worker process's Flask app, created on first use (configuration from CHATAPP_*)."""
    global _app
    if _app is None:
        from chatapp import create_app

        _app = create_app()
    return _app
