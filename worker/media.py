"""Media jobs: scan an uploaded file, read its text, make its thumbnail; quarantine it when it is
not safe; queue the transcription of clean audio (worker/voice.py)."""

from __future__ import annotations

import logging

from sqlalchemy.orm.exc import StaleDataError

from chatapp.extensions import db
from chatapp.models import Attachment
from chatapp.services import alerts, jobs, media, storage
from worker import get_app

log = logging.getLogger(__name__)


def process_attachment(attachment_id: int) -> str:
    """Scan and read attachment `attachment_id` unless it was done already; returns its status.
    A file found unsafe is quarantined (moved under the quarantine prefix) and admins alerted;
    one that cannot be read is marked failed."""
    with get_app().app_context():
        attachment = db.session.get(Attachment, attachment_id)
        if attachment is None or attachment.status != "pending":
            return attachment.status if attachment else "gone"
        backend = storage.get_storage()
        data = backend.get(attachment.storage_key)
        try:
            media.scan(data, attachment.content_type, get_app().config["CLAMD_URL"])
            attachment.extracted_text = media.extract_text(data, attachment.content_type)
            preview = media.thumbnail(data, attachment.content_type)
        except media.Infected as infected:
            _set_aside(attachment, "quarantined", str(infected))
        except (ValueError, OSError, KeyError) as error:
            _set_aside(attachment, "failed", f"The file could not be read: {error}"[:500])
        else:
            thumbnail_key = storage.new_key(".png") if preview else None
            if preview:
                backend.put(thumbnail_key, preview, "image/png")
            attachment.thumbnail_key = thumbnail_key
            attachment.status = "clean"
            to_transcribe = (attachment.content_type.startswith("audio/")
                             and attachment.origin == "upload")
            if to_transcribe:
                attachment.transcript_status = "pending"
            try:
                db.session.commit()
            except StaleDataError:  # removed from its composer while it was being checked
                db.session.rollback()
                storage.delete_all([thumbnail_key] if thumbnail_key else [])
                return "gone"
            if to_transcribe:
                jobs.enqueue_transcription(attachment.id)
        return attachment.status


def _set_aside(attachment: Attachment, status: str, reason: str) -> None:
    attachment.storage_key = storage.quarantine(attachment.storage_key, attachment.content_type)
    attachment.status = status
    attachment.reason = reason
    log.warning("attachment %s %s: %s", attachment.id, status, reason)
    alerts.raise_alert("system", summary=f"Upload {status}: {attachment.name} ({reason})",
                       session_id=attachment.session_id, user_id=attachment.uploader_id,
                       details={"attachment_id": attachment.id})
