"""The admin console (role admin): every session live, the RQ queues' depths, usage metrics; and
rq-dashboard at /admin/rq for admins and ops engineers."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import rq_dashboard
from flask import Blueprint, Flask, current_app, make_response, render_template, request
from flask_login import current_user
from rq_dashboard.web import setup_rq_connection

from chatapp.admin import admin_required
from chatapp.errors import error_response
from chatapp.extensions import login_manager
from chatapp.models import SESSION_STATUSES, utcnow
from chatapp.services import console

bp = Blueprint("console", __name__, url_prefix="/admin")

RQ_ROLES = ("admin", "ops")


@bp.errorhandler(console.BadFilter)
def bad_filter(wrong: console.BadFilter):
    """A filter or period the console cannot use: 422, saying what to fix."""
    return error_response(422, str(wrong))


@bp.get("/console")
@admin_required
def show_console():
    """The console page: filters, queue depths and the first page of sessions."""
    filters = console.parse_filters(request.args)
    return render_template("console/index.html", **_live(filters), statuses=SESSION_STATUSES)


@bp.get("/console/live")
@admin_required
def live_rows():
    """The live part of the console (queues and sessions), polled by the page: 304 when it has
    not changed since the browser's copy (its ETag)."""
    filters = console.parse_filters(request.args)
    body = render_template("console/_live.html", **_live(filters))
    response = make_response(body)
    response.set_etag(hashlib.sha256(body.encode()).hexdigest())
    response.headers["Cache-Control"] = "no-cache, private"
    return response.make_conditional(request)


def _live(filters: console.Filters) -> dict:
    rows, more = console.sessions(filters)
    return {"filters": filters, "rows": rows, "more": more, "queues": console.queue_depths(),
            "poll_seconds": current_app.config["CONSOLE_POLL_SECONDS"]}


@bp.get("/metrics")
@admin_required
def show_metrics():
    """Usage over a period (the last 7 days unless from/to are given)."""
    start, end = console.parse_period(request.args, utcnow().date())
    numbers = console.metrics(start, end, current_app.config["LLM_MODEL"])
    return render_template("console/metrics.html", m=numbers)


def init_app(app: Flask) -> None:
    """Check the console's settings; mount rq-dashboard at /admin/rq on the app's Redis, for the
    roles in RQ_ROLES only."""
    seconds = app.config["CONSOLE_POLL_SECONDS"]
    if not isinstance(seconds, int) or not 1 <= seconds <= 3600:
        raise RuntimeError("CHATAPP_CONSOLE_POLL_SECONDS must be a whole number from 1 to 3600.")
    app.config["RQ_DASHBOARD_REDIS_URL"] = app.config["REDIS_URL"]
    setup_rq_connection(app)  # a client object; it connects on first use
    app.register_blueprint(rq_dashboard.blueprint, url_prefix="/admin/rq")
    app.before_request(_guard_rq_dashboard)


def _guard_rq_dashboard():
    """Every request to rq-dashboard (pages, JSON, its POST actions): signed out -> sign in,
    another role -> 403. Its scripts post without our CSRF token (auth.py lets them through), so
    a post must come from this site's own pages: same origin, as the browser reports it."""
    if request.blueprint != rq_dashboard.blueprint.name:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.role not in RQ_ROLES:
        return error_response(403)
    if request.method not in ("GET", "HEAD") and not _same_origin():
        return error_response(403, "Use the dashboard's own buttons.")
    return None


def _same_origin() -> bool:
    if request.headers.get("Sec-Fetch-Site") not in (None, "same-origin"):
        return False
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    return origin is not None and urlsplit(origin).netloc == request.host
