"""Files in chats: upload them (JSON answers, for scripts and the composer), list them with their
scan status, have a reply read aloud into one, and download a clean one by a short-lived signed
link."""

from __future__ import annotations

import uuid

import flask
from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from chatapp.chats import owned_session, viewable_session
from chatapp.errors import error_response
from chatapp.extensions import db
from chatapp.models import Attachment, ChatSession
from chatapp.services import speech, storage, uploads

bp = Blueprint("attachments", __name__)
UPLOAD_ENDPOINTS = {"attachments.upload", "api.upload_attachments"}  # the same view, twice


class Request(flask.Request):
    """Flask's request allowing the upload route a body of every file at its limit plus the form
    around them (elsewhere MAX_CONTENT_LENGTH holds); known from the route, so it holds already
    when the CSRF check reads the form."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and self.endpoint in UPLOAD_ENDPOINTS:
            config = current_app.config
            return config["UPLOAD_MAX_BYTES"] * config["UPLOAD_MAX_FILES"] + 1024 * 1024
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def init_app(app: flask.Flask) -> None:
    """Use the request class that lets uploads through, and say their limits when a body is
    too large for them."""
    app.request_class = Request
    app.register_error_handler(RequestEntityTooLarge, too_large)


def too_large(error: RequestEntityTooLarge):
    """413 naming the limits, for an upload too large to read at all."""
    if request.endpoint not in UPLOAD_ENDPOINTS:
        return error_response(413)
    config = current_app.config
    return error_response(413, f"The upload is larger than the limit of "
                               f"{config['UPLOAD_MAX_FILES']} files of "
                               f"{uploads.size_text(config['UPLOAD_MAX_BYTES'])}.")


@bp.post("/chats/<uuid:session_id>/attachments")
@login_required
def upload(session_id: uuid.UUID):
    """Store the files sent as `files` (multipart, several) as attachments of the user's chat;
    201 with them, pending until the media job has scanned them."""
    chat = owned_session(session_id)
    max_bytes, max_files = current_app.config["UPLOAD_MAX_BYTES"], current_app.config[
        "UPLOAD_MAX_FILES"]
    files = [(item.filename, item.read(max_bytes + 1))
             for item in request.files.getlist("files") if item.filename]
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


@bp.get("/chats/<uuid:session_id>/attachments/<int:attachment_id>")
@login_required
def show_attachment(session_id: uuid.UUID, attachment_id: int):
    """One attachment of the user's chat, as in the list (the composer polls it until its scan
    and, for audio, its transcript are done); 404 when it is not in that chat."""
    attachment = _attachment_of(owned_session(session_id), attachment_id)
    if attachment is None:
        return error_response(404)
    return jsonify(uploads.to_json(attachment))


@bp.delete("/chats/<uuid:session_id>/attachments/<int:attachment_id>")
@login_required
def delete_attachment(session_id: uuid.UUID, attachment_id: int):
    """Remove a file the user attached in the composer but has not sent: its stored file (and
    thumbnail) and its row go; 204. 409 once it belongs to a message, 404 when it is not the
    user's own upload in their chat."""
    attachment = _attachment_of(owned_session(session_id), attachment_id)
    if attachment is None or attachment.uploader_id != current_user.id:
        return error_response(404)
    if attachment.message_id is not None:
        return error_response(409, f"{attachment.name} was sent in a message: it stays with it.",
                              code="already_sent")
    keys = [key for key in (attachment.storage_key, attachment.thumbnail_key) if key]
    db.session.delete(attachment)
    db.session.commit()
    storage.delete_all(keys)
    return "", 204


def _attachment_of(chat: ChatSession, attachment_id: int) -> Attachment | None:
    """Attachment `attachment_id` when it belongs to `chat`, else None."""
    return db.session.scalar(db.select(Attachment).filter_by(id=attachment_id,
                                                             session_id=chat.id))


@bp.get("/chats/<uuid:session_id>/attachments/<int:attachment_id>/file")
@login_required
def open_file(session_id: uuid.UUID, attachment_id: int):
    """Redirect to a fresh signed link of a clean file of a chat the user may view (`?thumbnail=1`
    for an image's preview, when it has one): the link pages carry, which never expires itself;
    404 otherwise."""
    chat = viewable_session(session_id)
    attachment = db.session.scalar(db.select(Attachment).filter_by(
        id=attachment_id, session_id=chat.id, status="clean"))
    if attachment is None:
        return error_response(404)
    if request.args.get("thumbnail") and attachment.thumbnail_key:
        url = storage.download_url(attachment.thumbnail_key, "thumbnail.png", "image/png")
    else:
        url = storage.download_url(attachment.storage_key, attachment.name,
                                   attachment.content_type)
    return Response(status=302, headers={"Location": url, "Cache-Control": "private, no-store"})


@bp.post("/chats/<uuid:session_id>/messages/<int:message_id>/speech")
@login_required
def read_aloud(session_id: uuid.UUID, message_id: int):
    """Have finished reply `message_id` of the user's chat read aloud: 202 with its speech
    attachment (made now, or the one made before), pending until the speech job has written it;
    409 while the reply is not finished, 422 for a message that is not a reply."""
    chat = owned_session(session_id)
    try:
        attachment = speech.request_speech(chat, message_id)
    except speech.NotSpeakable as refused:
        return error_response(refused.status, refused.message)
    return jsonify(uploads.to_json(attachment)), 202


@bp.get("/attachments/<token>")
@login_required
def download(token: str):
    """Serve a clean attachment (or its thumbnail) of a chat the user may view (their own; any,
    for an admin) by a signed local link: 410 once the link has expired, 404 for a link that is
    not theirs or not valid."""
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
               Attachment.status == "clean", ChatSession.deleted_at.is_(None),
               db.or_(ChatSession.owner_id == current_user.id,
                      db.literal(current_user.role == "admin"))))
    if attachment is None:
        return error_response(404)
    thumbnail = key == attachment.thumbnail_key
    return Response(storage.get_storage().get(key),
                    mimetype="image/png" if thumbnail else attachment.content_type,
                    headers={"Content-Disposition": storage.content_disposition(
                        "thumbnail.png" if thumbnail else attachment.name),
                        "X-Content-Type-Options": "nosniff",
                        "Cache-Control": "private, no-store"})
