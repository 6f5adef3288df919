"""Signing in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash

from chatapp.errors import error_response, is_htmx, wants_json
from chatapp.extensions import db, login_manager
from chatapp.models import User

bp = Blueprint("auth", __name__)

BAD_LOGIN = "Email or password is incorrect."
# Checked against when the email is unknown, so both failures take the same time.
_DUMMY_HASH = (
    "scrypt:32768:8:1$FGc9bZuvUVFt8U8N$e3bf82dda55bb27aea1c2e9753fbde2ba6f5e66525bfc1ee7cb622713b0cc015"
    "5a1522c65dd40d8a40c8fc16cf26f6a2670029cbd14ad1a13caaf3117652f3ee"
)


def init_app(app: Flask) -> None:
    """Wire Flask-Login to the users table."""
    login_manager.user_loader(lambda user_id: db.session.get(User, int(user_id)))
    login_manager.unauthorized_handler(_unauthorized)


def _unauthorized():
    if wants_json():
        return error_response(401)
    if is_htmx():
        response = make_response("", 401)
        response.headers["HX-Redirect"] = url_for("auth.login")
        return response
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("chats.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in page; the same message for an unknown email and a wrong password."""
    if current_user.is_authenticated:
        return redirect(url_for("chats.index"))
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        password = request.form.get("password", "")
        user = db.session.scalar(db.select(User).filter_by(email=email)) if email else None
        stored_hash = user.password_hash if user else _DUMMY_HASH
        valid = check_password_hash(stored_hash, password) and user is not None
        if valid and user.active:
            login_user(user, remember=bool(request.form.get("remember")))
            return redirect(_safe_next(request.args.get("next")))
        return render_template("auth/login.html", email=email, error=BAD_LOGIN), 401
    return render_template("auth/login.html", email=email, error=None)


@bp.post("/logout")
@login_required
def logout():
    """Sign out and return to the sign-in page."""
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))
