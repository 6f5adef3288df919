"""Files in chats: upload them (JSON answers, for scripts and the composer), list them with their
scan status, and download a clean one by a short-lived signed link."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from chatapp.chats import owned_session
from chatapp.errors import error_response
from chatapp.extensions import db
from chatapp.models import Attachment, ChatSession
from chatapp.services import storage, uploads

bp = Blueprint("attachments", __name__)


@bp.post("/chats/<uuid:session_id>/attachments")
@login_required
def upload(session_id: uuid.UUID):
    """Store the files sent as `files` (multipart, several) as attachments of the user's chat;
    201 with them, pending until the media job has scanned them."""
    chat = owned_session(session_id)
    config = current_app.config
    max_bytes, max_files = config["UPLOAD_MAX_BYTES"], config["UPLOAD_MAX_FILES"]
    # Room for every file at its limit plus the form around them; each file is checked below.
    request.max_content_length = max_bytes * max_files + 1024 * 1024
    try:
        files = [(item.filename, item.read(max_bytes + 1))
                 for item in request.files.getlist("files") if item.filename or item.content_length]
    except RequestEntityTooLarge:
        return error_response(413, f"The upload is larger than the limit of {max_files} files "
                                   f"of {max_bytes // (1024 * 1024)} MB.")
    try:
        ready = uploads.check(files, max_bytes, max_files)
    except uploads.Rejected as rejected:
        return error_response(rejected.status, rejected.message)
    attachments = uploads.store(chat, current_user, ready)
    return jsonify({"attachments": [uploads.to_json(a) for a in attachments]}), 201


@bp.get("/chats/<uuid:session_id>/attachments")
@login_required
def list_attachments(session_id: uuid.UUID):
    """The attachments of the user's chat, oldest first, with their status and reason; a signed
    download URL for clean ones only."""
    chat = owned_session(session_id)
    rows = db.session.scalars(db.select(Attachment).filter_by(session_id=chat.id)
                              .order_by(Attachment.id)).all()
    return jsonify({"attachments": [uploads.to_json(a) for a in rows]})


@bp.get("/attachments/<token>")
@login_required
def download(token: str):
    """Serve a clean attachment (or its thumbnail) of the user's own chat by a signed local
    link: 410 once the link has expired, 404 for a link that is not theirs or not valid."""
    try:
        key = storage.read_local_link(token)
    except storage.LinkExpired:
        return error_response(410, "This download link has expired: open the chat's "
                                   "attachments again for a new one.", code="link_expired")
    except storage.LinkInvalid:
        return error_response(404)
    attachment = db.session.scalar(
        db.select(Attachment).join(ChatSession)
        .where(db.or_(Attachment.storage_key == key, Attachment.thumbnail_key == key),
               Attachment.status == "clean", ChatSession.owner_id == current_user.id,
               ChatSession.deleted_at.is_(None)))
    if attachment is None:
        return error_response(404)
    thumbnail = key == attachment.thumbnail_key
    return Response(storage.get_storage().get(key),
                    mimetype="image/png" if thumbnail else attachment.content_type,
                    headers={"Content-Disposition": storage.content_disposition(
                        "thumbnail.png" if thumbnail else attachment.name),
                        "X-Content-Type-Options": "nosniff",
                        "Cache-Control": "private, no-store"})
