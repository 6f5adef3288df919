"""API sign-in: an access token (15 minutes) and a refresh token (30 days) from an email and a
password, and a new pair for a refresh token."""

from __future__ import annotations

from flask import request
from werkzeug.security import check_password_hash

from chatapp.api import bp
from chatapp.api.bodies import BadBody, json_body, text_field
from chatapp.auth import BAD_LOGIN, DUMMY_HASH, sign_in_refusal
from chatapp.errors import error_response
from chatapp.extensions import db
from chatapp.models import User
from chatapp.services import tokens


@bp.post("/auth/tokens")
def sign_in():
    """Trade an email and a password for an access token and a refresh token."""
    try:
        body = json_body(request)
        email = text_field(body, "email", required=True).lower()
        password = text_field(body, "password", required=True, strip=False)
    except BadBody as bad:
        return bad.response()
    if refused := sign_in_refusal(email):
        return refused
    user = db.session.scalar(db.select(User).filter_by(email=email))
    valid = check_password_hash(user.password_hash if user else DUMMY_HASH, password)
    if not (valid and user is not None and user.active):
        return error_response(401, BAD_LOGIN)
    return tokens.sign_in_pair(user), 201


@bp.post("/auth/refresh")
def refresh():
    """Trade a refresh token for a new pair (the old refresh token is used up)."""
    try:
        plaintext = text_field(json_body(request), "refresh_token", required=True)
        return tokens.refresh(plaintext), 201
    except BadBody as bad:
        return bad.response()
    except tokens.TokenRefused as refused:
        return error_response(401, str(refused))
