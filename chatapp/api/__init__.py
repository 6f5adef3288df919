"""chatapp's JSON API, ``/api/v1``: for scripts and integrations (the browser uses the pages).

Authentication: a bearer token (a personal token from the settings page, or an access token from
``POST /api/v1/auth/tokens``), or the browser's session cookie with its CSRF token. Errors are
``{"error": {"code", "message", "details", "correlation_id"}}`` (chatapp/errors.py). The
OpenAPI 3.1 document is served at ``/api/v1/openapi.json`` (chatapp/api/openapi.json).
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Flask, current_app, jsonify, request
from flask_login import current_user

from chatapp.errors import error_response
from chatapp.services import ratelimit

bp = Blueprint("api", __name__, url_prefix="/api/v1")
OPENAPI_PATH = Path(__file__).with_name("openapi.json")
PUBLIC = {"api.openapi", "api.sign_in", "api.refresh"}  # endpoints that need no sign-in


@bp.before_request
def require_sign_in():
    """Every endpoint but signing in and the API's description needs a user, within the
    per-user rate limit."""
    if request.endpoint in PUBLIC:
        return None
    if not current_user.is_authenticated:
        return error_response(401, "Send a valid token (Authorization: Bearer <token>) or sign "
                                   "in.", headers={"WWW-Authenticate": "Bearer"})
    return ratelimit.refusal("api", str(current_user.id), current_app.config["RATE_LIMIT_API"])


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(json.loads(OPENAPI_PATH.read_text()))


def init_app(app: Flask) -> None:
    """Register the API's endpoints."""
    from chatapp.api import (  # noqa: F401  (they add their routes to bp)
        attachments,
        auth,
        exports,
        search,
        sessions,
    )

    app.register_blueprint(bp)
