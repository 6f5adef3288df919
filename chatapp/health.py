"""Health check for load balancers and the launcher: database and Redis reachable."""

from flask import Blueprint, jsonify
from sqlalchemy import text

from chatapp.extensions import db
from chatapp.services.redis_client import get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when SQL and Redis answer, else 503 with what failed."""
    problems = {}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:
        problems["database"] = type(exc).__name__
    try:
        get_redis().ping()
    except Exception as exc:
        problems["redis"] = type(exc).__name__
    if problems:
        return jsonify({"status": "unavailable", "problems": problems}), 503
    return jsonify({"status": "ok"})
