"""Read-only links to a snapshot of a chat session: made, listed, opened and revoked.

A link's token is 43 random URL-safe characters (256 bits: guessing one is hopeless, and the
shared page is rate-limited besides); only its SHA-256 is stored, as for API tokens. The
snapshot is the session's client notes (services/export.py) taken when the link is made, so
messages written later never show through it. A link stops working when it is revoked, when it
expires, when its session is deleted, or while its owner's account is deactivated.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from chatapp.extensions import db
from chatapp.models import ChatSession, SharedLink, as_utc, utcnow
from chatapp.services import export
from chatapp.services.tokens import fingerprint

EXPIRY_CHOICES = {"1": 1, "7": 7, "30": 30, "never": None}  # days, as the form offers
DEFAULT_EXPIRY = "7"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def create(chat: ChatSession, expires: str) -> tuple[SharedLink, str]:
    """Make (and commit) a link to a snapshot of `chat` taken now, expiring as chosen (a key of
    EXPIRY_CHOICES); returns it and its token, which exists nowhere else."""
    days = EXPIRY_CHOICES[expires]
    plaintext = secrets.token_urlsafe(32)
    link = SharedLink(session_id=chat.id, token_hash=fingerprint(plaintext),
                      prefix=plaintext[:6], snapshot=export.document(chat, "client_notes"),
                      expires_at=utcnow() + timedelta(days=days) if days else None)
    db.session.add(link)
    db.session.commit()
    return link, plaintext


def opened(plaintext: str) -> SharedLink | None:
    """The live link with this token, or None (unknown, revoked, expired, its session deleted or
    its owner's account deactivated)."""
    if not _TOKEN.match(plaintext):
        return None
    link = db.session.scalar(db.select(SharedLink).filter_by(token_hash=fingerprint(plaintext)))
    if link is None or not is_live(link):
        return None
    if link.session.deleted_at is not None or not link.session.owner.active:
        return None
    return link


def is_live(link: SharedLink) -> bool:
    """False once the link is revoked or past its expiry."""
    expires = as_utc(link.expires_at)
    return link.revoked_at is None and (expires is None or expires > utcnow())


def links_of(chat: ChatSession) -> list[SharedLink]:
    """The session's links, newest first (revoked and expired ones included)."""
    return list(db.session.scalars(db.select(SharedLink).filter_by(session_id=chat.id)
                                   .order_by(SharedLink.created_at.desc(), SharedLink.id.desc())))


def revoke(chat: ChatSession, link_id: int) -> bool:
    """Revoke one of the session's links (committed); False when it is not the session's."""
    link = db.session.get(SharedLink, link_id)
    if link is None or link.session_id != chat.id:
        return False
    link.revoked_at = link.revoked_at or utcnow()
    db.session.commit()
    return True

