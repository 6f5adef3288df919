"""Human handoff: a consultant asks for help, an administrator takes the session over (the
assistant pauses), answers, and hands back (the assistant answers again); all of it audited.

Each change is committed, then announced on the session's event log with the handoff's state
as it is now (`state_of`), so every page shows the same thing from one event.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import current_app

from chatapp.extensions import db
from chatapp.models import (
    HELP_OPEN,
    REPLY_IN_PROGRESS,
    AuditEntry,
    ChatMessage,
    ChatSession,
    HelpRequest,
    User,
    as_utc,
    iso,
    utcnow,
)
from chatapp.services import alerts, events, takeover
from chatapp.services.conversation import (
    MessageRejected,
    commit_and_publish,
    lock_session,
    stop_reply,
    validate_content,
)
from chatapp.services.redis_client import get_redis

MAX_NOTE = 500
VISIT_MINUTES = 30  # an admin back on a session within this long, not having left: one visit
ACTIONS = {"help_requested": "asked for help", "help_cancelled": "cancelled the help request",
           "help_acknowledged": "acknowledged the help request", "join": "joined (watching)",
           "leave": "left", "takeover": "took over", "hand_back": "handed back",
           "takeover_lapsed": "lost the chat (their connection ended): the assistant answers again"}


def open_request(session_id) -> HelpRequest | None:
    """The session's help request still open (waiting, acknowledged or joined), if any."""
    return db.session.scalar(db.select(HelpRequest).where(
        HelpRequest.session_id == session_id, HelpRequest.state.in_(HELP_OPEN))
        .order_by(HelpRequest.id.desc()).limit(1))


def state_of(chat: ChatSession) -> dict:
    """What the pages show of the handoff: the open help request, who has taken over, whether
    an admin assisted (JSON-safe: events carry it)."""
    request = open_request(chat.id)
    holder = takeover.holder(get_redis(), chat.id)
    return {
        "session_id": str(chat.id),
        "owner_id": chat.owner_id,
        "help": request and {
            "id": request.id, "state": request.state, "note": request.note,
            "requested_by": request.requested_by.display_name,
            "acknowledged_by": request.acknowledged_by and request.acknowledged_by.display_name,
            "at": iso(request.created_at)},
        "taken_over_by": holder and {"id": holder.id, "name": holder.name},
        "admin_assisted": chat.admin_assisted,
    }


def request_help(chat: ChatSession, user: User, raw_note: str | None, ip: str | None) -> None:
    """Ask for an administrator's help (once at a time), with an optional note; alerts go out."""
    note = _note(raw_note)
    locked = lock_session(chat)
    if open_request(locked.id) is not None:
        db.session.rollback()
        raise MessageRejected("You have already asked for help in this chat.", status=409)
    locked.help_requested_at = utcnow()
    db.session.add(HelpRequest(session_id=locked.id, requested_by_id=user.id, note=note))
    audit(user, "help_requested", locked, ip, {"note": note} if note else None)
    _commit_and_announce(locked, "help.requested", user)
    alerts.raise_alert("help_request", summary=f"{user.display_name} asks for help in "
                       f"“{locked.name}”", session_id=locked.id, user_id=user.id,
                       details={"note": note} if note else None)


def cancel_help(chat: ChatSession, user: User, ip: str | None) -> None:
    """Withdraw the open help request (not once an admin has joined: they hand back instead)."""
    locked = lock_session(chat)
    request = open_request(locked.id)
    if request is None or request.state == "joined":
        db.session.rollback()
        raise MessageRejected("There is no help request to cancel." if request is None else
                              "An administrator has joined: they hand back when done.",
                              status=409)
    request.state = "cancelled"
    locked.help_requested_at = None
    audit(user, "help_cancelled", locked, ip)
    _commit_and_announce(locked, "help.cancelled", user)


def acknowledge(chat: ChatSession, admin: User, ip: str | None) -> None:
    """Tell the consultant an administrator has seen their waiting request."""
    locked = lock_session(chat)
    request = open_request(locked.id)
    if request is None or request.state != "waiting":
        db.session.rollback()
        raise MessageRejected("There is no waiting help request in this chat.", status=409)
    request.state, request.acknowledged_by_id = "acknowledged", admin.id
    audit(admin, "help_acknowledged", locked, ip)
    _commit_and_announce(locked, "help.acknowledged", admin)


def take_over(chat: ChatSession, admin: User, ip: str | None) -> None:
    """Take the session's exclusive lock (409 naming the holder when another admin has it),
    stop any reply being written, and announce it; taking over again is a no-op."""
    r = get_redis()
    if (current := takeover.holder(r, chat.id)) is not None and current.id == admin.id:
        takeover.renew(r, chat.id, admin.id)
        return
    holder = takeover.acquire(r, chat.id, admin.id, admin.display_name,
                              current_app.config["TAKEOVER_LOCK_TTL"])
    if holder.id != admin.id:
        raise MessageRejected(f"{holder.name} has taken over this chat.", status=409)
    try:
        locked = lock_session(chat)  # a send holding the row finishes first: its reply is seen
        request = open_request(locked.id)
        if request is not None:
            request.state = "joined"
        audit(admin, "takeover", locked, ip)
        replies = db.session.scalars(db.select(ChatMessage).where(
            ChatMessage.session_id == locked.id,
            ChatMessage.status.in_(REPLY_IN_PROGRESS))).all()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        takeover.release(r, chat.id, admin.id)
        raise
    for reply in replies:
        try:
            stop_reply(locked, reply)
        except MessageRejected:
            pass  # it ended meanwhile
    _announce(locked, ["admin.joined", "ai.paused"], admin)


def hand_back(chat: ChatSession, admin: User, raw_note: str | None, ip: str | None) -> None:
    """Give the session back to the assistant; `raw_note` (optional) joins the session's context
    for the replies that follow. The session is marked admin-assisted."""
    note = _note(raw_note)
    _require_holder(chat, admin)
    locked = lock_session(chat)
    request = open_request(locked.id)
    if request is not None:
        request.state = "resolved"
    locked.help_requested_at = None
    locked.admin_assisted = True
    if note:
        locked.context = {**(locked.context or {}), "admin_note": note}
    audit(admin, "hand_back", locked, ip, {"note": note} if note else None)
    db.session.commit()
    takeover.release(get_redis(), locked.id, admin.id)
    _announce(locked, ["admin.left", "ai.resumed"], admin)


def end_lapsed_takeovers() -> int:
    """Announce the takeovers whose lock expired (their admin's connection died): the assistant
    answers again, the pages' banners go, the session counts as assisted, and the audit log says
    so. Returns how many."""
    count = 0
    for session_id, holder in takeover.lapsed(get_redis()):
        chat = db.session.get(ChatSession, uuid.UUID(session_id))
        admin = db.session.get(User, holder.id)
        if chat is None or admin is None:
            continue
        request = open_request(chat.id)
        if request is not None and request.state == "joined":
            request.state = "acknowledged"  # seen by an admin, who is gone: still open
        chat.admin_assisted = True
        audit(admin, "takeover_lapsed", chat, None)
        _commit_and_announce(chat, "admin.left", admin)
        _announce(chat, ["ai.resumed"], admin)
        count += 1
    return count


def leave(chat: ChatSession, admin: User, ip: str | None) -> None:
    """An administrator stops watching the session (handing it back first if they hold it)."""
    holder = takeover.holder(get_redis(), chat.id)
    if holder is not None and holder.id == admin.id:
        hand_back(chat, admin, None, ip)
    audit(admin, "leave", chat, ip)
    db.session.commit()


def watched(chat: ChatSession, admin: User, ip: str | None) -> None:
    """Record that an administrator opened the session live, once a visit: a reload, or a return
    within VISIT_MINUTES of their last step without having left, is the same visit."""
    last = db.session.scalar(
        db.select(AuditEntry).where(AuditEntry.session_id == chat.id,
                                    AuditEntry.actor_id == admin.id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(1))
    if last is not None and last.action != "leave" \
            and utcnow() - as_utc(last.at) < timedelta(minutes=VISIT_MINUTES):
        return
    audit(admin, "join", chat, ip)
    db.session.commit()


def post_admin_message(chat: ChatSession, admin: User, raw_content: str | None) -> ChatMessage:
    """Store and announce a message of the administrator holding the session."""
    content = validate_content(raw_content)
    _require_holder(chat, admin)
    locked = lock_session(chat)
    last = db.session.scalar(db.select(db.func.max(ChatMessage.seq))
                             .where(ChatMessage.session_id == locked.id)) or 0
    message = ChatMessage(session_id=locked.id, seq=last + 1, sender="admin",
                          author=admin.display_name, content=content, status="done")
    db.session.add(message)
    commit_and_publish(locked.id, [("message.created", message)])
    return message


def audit(actor: User, action: str, chat: ChatSession, ip: str | None,
          details: dict | None = None) -> None:
    """Add an entry to the audit log (committed with the change it records)."""
    db.session.add(AuditEntry(actor_id=actor.id, actor_name=actor.display_name, action=action,
                              session_id=chat.id, ip=ip, details=details or {}))


def timeline(session_id) -> list[dict]:
    """The session's audit entries, oldest first, as the admin's page lists them."""
    entries = db.session.scalars(db.select(AuditEntry).where(AuditEntry.session_id == session_id)
                                 .order_by(AuditEntry.at, AuditEntry.id)).all()
    return [{"at": iso(entry.at), "who": entry.actor_name, "action": entry.action,
             "what": ACTIONS.get(entry.action, entry.action), "ip": entry.ip,
             "note": (entry.details or {}).get("note")} for entry in entries]


def _require_holder(chat: ChatSession, admin: User) -> None:
    holder = takeover.holder(get_redis(), chat.id)
    if holder is None or holder.id != admin.id:
        raise MessageRejected(f"{holder.name} has taken over this chat." if holder else
                              "Take the chat over first.", status=409)


def _note(raw: str | None) -> str | None:
    note = (raw or "").strip()
    if len(note) > MAX_NOTE:
        raise MessageRejected(f"The note is limited to {MAX_NOTE} characters.")
    return note or None


def _commit_and_announce(chat: ChatSession, type_: str, who: User) -> None:
    db.session.commit()
    _announce(chat, [type_], who)


def _announce(chat: ChatSession, types: list[str], who: User) -> None:
    """Append handoff events, each carrying who did it, when, and the state now."""
    data = {"who": who.display_name, "at": iso(utcnow()), "state": state_of(chat)}
    events.append_many(get_redis(), chat.id, [(type_, data) for type_ in types],
                       events.LogSettings.from_config(current_app.config))
