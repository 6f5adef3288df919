"""Errors as people and programs expect them: an HTML page or fragment, or a JSON error body.

Every response carries a correlation id (``X-Request-ID``, taken from the request when it sends
one) that is also in the logs, so a user's report can be matched to the server's record.
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in to continue.",
    403: "You are not allowed to do that.",
    404: "That page or chat does not exist, or it is not yours.",
    405: "That action is not available here.",
    413: "That upload is too large.",
    422: "Some of what you sent is not valid.",
    429: "Too many requests: please wait a moment.",
    500: "Something went wrong on our side. It has been logged; please try again.",
    503: "This is unavailable for a moment; please try again shortly.",
}
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 413: "too_large", 422: "invalid", 429: "rate_limited",
         500: "internal_error", 503: "unavailable"}


def wants_json() -> bool:
    """True for API paths and clients that prefer JSON over HTML."""
    if request.path.startswith("/api/"):
        return True
    accept = request.accept_mimetypes
    return accept["application/json"] > accept["text/html"]


def is_htmx() -> bool:
    """True for requests made by htmx (which then swaps the response into the page)."""
    return request.headers.get("HX-Request") == "true"


def error_response(status: int, message: str | None = None, code: str | None = None,
                   details: dict | None = None, headers: dict | None = None):
    """A response for an error, shaped for whoever asked: JSON, an htmx fragment or a page."""
    message = message or MESSAGES.get(status, "Request failed.")
    code = code or CODES.get(status, "error")
    if wants_json():
        body = {"error": {"code": code, "message": message, "details": details or {},
                          "correlation_id": g.get("correlation_id")}}
        return jsonify(body), status, headers or {}
    template = "errors/_flash.html" if is_htmx() else "errors/error.html"
    return render_template(template, status=status, message=message), status, headers or {}


def _holds_nul(value) -> bool:
    """True when a JSON value has a NUL character in any of its strings (keys included)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def init_app(app: Flask) -> None:
    """Register the correlation id and the error handlers."""

    @app.before_request
    def assign_correlation_id():
        given = request.headers.get("X-Request-ID", "")
        g.correlation_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex

    @app.before_request
    def refuse_nul_characters():
        """No text chatapp stores may hold a NUL character (PostgreSQL refuses them): a request
        carrying one, in its query, form or JSON body, gets a 400 before anything reads it."""
        values = [*request.args.values(), *(request.form.values() if request.form else ())]
        body = request.get_json(silent=True) if request.is_json else None
        if any("\x00" in value for value in values) or _holds_nul(body):
            return error_response(400, "Text must not contain NUL characters.")
        return None

    @app.after_request
    def send_correlation_id(response):
        if "correlation_id" in g:
            response.headers["X-Request-ID"] = g.correlation_id
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return error_response(400, "Your form expired or was sent from elsewhere. Reload the page "
                                   "and try again.", code="csrf_failed")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return error_response(error.code or 500, MESSAGES.get(error.code))

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unhandled error (correlation id %s)", g.get("correlation_id"))
        return error_response(InternalServerError.code)
