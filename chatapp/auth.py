"""Signing in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash

from chatapp.errors import error_response, is_htmx, wants_json
from chatapp.extensions import csrf, db, login_manager
from chatapp.models import User
from chatapp.services import ratelimit, tokens

bp = Blueprint("auth", __name__)

BAD_LOGIN = "Email or password is incorrect."
# Checked against when the email is unknown, so both failures take the same time.
DUMMY_HASH = (
    "scrypt:32768:8:1$FGc9bZuvUVFt8U8N$e3bf82dda55bb27aea1c2e9753fbde2ba6f5e66525bfc1ee7cb622713b0cc015"
    "5a1522c65dd40d8a40c8fc16cf26f6a2670029cbd14ad1a13caaf3117652f3ee"
)


def init_app(app: Flask) -> None:
    """Wire Flask-Login to the users table: the session cookie for the browser, a bearer token
    for scripts (never both: a request that sends a token is judged by the token alone), and
    the CSRF check for every cookie-authenticated form or request that changes something."""
    login_manager.user_loader(_user_of_session)
    login_manager.request_loader(_user_of_token)
    login_manager.unauthorized_handler(_unauthorized)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.before_request(_check_csrf)


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _user_of_session(user_id: str) -> User | None:
    if bearer_token() is not None:
        return None
    return db.session.get(User, int(user_id))


def _user_of_token(_request) -> User | None:
    token = bearer_token()
    return tokens.authenticate(token) if token else None


def _check_csrf() -> None:
    """A cross-site page can make the browser send the cookie, never an Authorization header:
    requests that change something need a CSRF token, unless they carry a bearer token, or are
    API calls without a signed-in cookie (signing in for tokens: nothing to forge)."""
    if request.endpoint is None:  # no such route or method: its 404 or 405 says so
        return
    if request.method not in current_app.config["WTF_CSRF_METHODS"] or bearer_token():
        return
    if request.path.startswith("/api/") and "_user_id" not in session:
        return
    if request.blueprint == "rq_dashboard":  # its scripts cannot send our token: console.py
        return                               # accepts same-origin posts only
    csrf.protect()


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
        if refused := sign_in_refusal(email):
            return refused
        user = db.session.scalar(db.select(User).filter_by(email=email)) if email else None
        stored_hash = user.password_hash if user else DUMMY_HASH
        valid = check_password_hash(stored_hash, password) and user is not None
        if valid and user.active:
            login_user(user, remember=bool(request.form.get("remember")))
            return redirect(_safe_next(request.args.get("next")))
        return render_template("auth/login.html", email=email, error=BAD_LOGIN), 401
    return render_template("auth/login.html", email=email, error=None)


def sign_in_refusal(email: str):
    """The 429 answer when this address has tried to sign in as `email` too often this minute,
    else None (password guessing is slowed down whichever way it comes)."""
    return ratelimit.refusal("sign-in", f"{request.remote_addr}:{email}",
                             current_app.config["RATE_LIMIT_SIGN_IN"])


@bp.post("/logout")
@login_required
def logout():
    """Sign out and return to the sign-in page."""
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))
