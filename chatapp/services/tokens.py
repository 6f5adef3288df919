"""API tokens: made, checked, refreshed and revoked. Only their SHA-256 hash is stored.

A token reads ``chat_<43 random characters>``: personal tokens (made on the settings page, with
an expiry or none) for scripts, and for long-running clients a pair made from a sign-in: an access
token (ACCESS_LIFETIME) and a refresh token (REFRESH_LIFETIME) that trades itself for a new pair,
once: a refresh token used twice was stolen or replayed, and every access and refresh token of
its user is revoked (they sign in again; personal tokens stay).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from chatapp.extensions import db
from chatapp.models import ApiToken, User, as_utc, utcnow

PREFIX = "chat_"
ACCESS_LIFETIME = timedelta(minutes=15)
REFRESH_LIFETIME = timedelta(days=30)
LAST_USED_PRECISION = timedelta(minutes=1)  # at most one write per token per minute
EXPIRY_CHOICES = {"30": 30, "90": 90, "365": 365, "never": None}  # days, as the form offers


class TokenRefused(Exception):
    """A refresh that cannot be honoured (unknown, expired, revoked or already used)."""


def fingerprint(plaintext: str) -> str:
    """The SHA-256 of a token (hex), which is all that is stored of it."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def issue(user: User, kind: str, name: str, lifetime: timedelta | None) -> tuple[ApiToken, str]:
    """Make a token (added to the SQL session, not committed); returns it and its plaintext,
    which exists nowhere else."""
    plaintext = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, kind=kind, name=name, token_hash=fingerprint(plaintext),
                     prefix=plaintext[:12], expires_at=utcnow() + lifetime if lifetime else None)
    db.session.add(token)
    return token, plaintext


def issue_personal(user: User, name: str, expires: str) -> str:
    """Make (and commit) a personal token expiring as chosen (a key of EXPIRY_CHOICES); returns
    its plaintext."""
    days = EXPIRY_CHOICES[expires]
    _, plaintext = issue(user, "personal", name, None if days is None else timedelta(days=days))
    db.session.commit()
    return plaintext


def _live(plaintext: str, kinds: tuple[str, ...]) -> ApiToken | None:
    if not plaintext.startswith(PREFIX) or len(plaintext) > 100:
        return None
    token = db.session.scalar(db.select(ApiToken).filter_by(token_hash=fingerprint(plaintext)))
    if token is None or token.kind not in kinds or token.revoked_at is not None:
        return None
    if token.expires_at is not None and as_utc(token.expires_at) <= utcnow():
        return None
    return token


def authenticate(plaintext: str) -> User | None:
    """The active user a personal or access token belongs to, or None."""
    token = _live(plaintext, ("personal", "access"))
    if token is None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - as_utc(token.last_used_at) > LAST_USED_PRECISION:
        token.last_used_at = now
        db.session.commit()
    return token.user


def sign_in_pair(user: User) -> dict:
    """A new access token and refresh token for `user` (committed), as the API answers them."""
    access, access_text = issue(user, "access", "access token", ACCESS_LIFETIME)
    refresh, refresh_text = issue(user, "refresh", "refresh token", REFRESH_LIFETIME)
    db.session.commit()
    return {"access_token": access_text, "refresh_token": refresh_text, "token_type": "Bearer",
            "expires_in": int(ACCESS_LIFETIME.total_seconds())}


def refresh(plaintext: str) -> dict:
    """Trade a refresh token for a new pair; the old refresh token is used up."""
    token = _live(plaintext, ("refresh",))
    if token is None:
        used = db.session.scalar(db.select(ApiToken).filter_by(token_hash=fingerprint(plaintext),
                                                               kind="refresh"))
        if used is not None and used.revoked_at is not None:
            revoke_all(used.user, kinds=("access", "refresh"))  # replayed: end that sign-in
        raise TokenRefused("The refresh token is unknown, expired or already used: sign in again.")
    if not token.user.active:
        raise TokenRefused("This account is deactivated.")
    token.revoked_at = utcnow()
    return sign_in_pair(token.user)


def personal_tokens(user: User) -> list[ApiToken]:
    """The user's personal tokens, newest first (revoked ones included, marked)."""
    return list(db.session.scalars(
        db.select(ApiToken).filter_by(user_id=user.id, kind="personal")
        .order_by(ApiToken.created_at.desc())))


def revoke(user: User, token_id: int) -> bool:
    """Revoke one of the user's personal tokens; False when it is not theirs (or not there)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.kind != "personal":
        return False
    token.revoked_at = token.revoked_at or utcnow()
    db.session.commit()
    return True


def revoke_all(user: User, kinds: tuple[str, ...]) -> None:
    """Revoke every live token of these kinds of the user (committed)."""
    db.session.execute(db.update(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.kind.in_(kinds), ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()))
    db.session.commit()
