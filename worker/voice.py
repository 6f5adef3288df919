"""Voice jobs: transcribe a clean audio upload, and read a reply aloud into a speech attachment.
A failure is recorded on the attachment with its reason (and logged), never left pending."""

from __future__ import annotations

import logging

from chatapp.extensions import db
from chatapp.models import Attachment
from chatapp.services import speech, storage, transcription
from chatapp.services.voice_endpoint import VoiceFailed
from worker import get_app

log = logging.getLogger(__name__)


def transcribe_attachment(attachment_id: int) -> str | None:
    """Write the transcript of audio attachment `attachment_id` when it is clean and its
    transcript pending (else nothing: done already, or never to be heard); returns the
    transcript status. The audio stays attached either way."""
    with get_app().app_context():
        attachment = db.session.get(Attachment, attachment_id)
        if attachment is None or attachment.status != "clean" or \
                attachment.transcript_status != "pending":
            return attachment.transcript_status if attachment else "gone"
        data = storage.get_storage().get(attachment.storage_key)
        try:
            attachment.transcript = transcription.transcribe(data, attachment.name,
                                                             attachment.content_type)
            attachment.transcript_status = "done"
        except VoiceFailed as failed:
            attachment.transcript_status = "failed"
            log.warning("attachment %s not transcribed: %s", attachment.id, failed)
        db.session.commit()
        return attachment.transcript_status


def synthesize_speech(attachment_id: int) -> str:
    """Say the text of speech attachment `attachment_id` (its reply made speakable, kept as its
    transcript) into its storage key, then mark it clean (or failed with the reason); returns its
    status. Runs once: only a pending one."""
    with get_app().app_context():
        attachment = db.session.get(Attachment, attachment_id)
        if attachment is None or attachment.status != "pending" or attachment.origin != "speech":
            return attachment.status if attachment else "gone"
        try:
            data, content_type = speech.synthesize(attachment.transcript or "")
        except VoiceFailed as failed:
            attachment.status, attachment.reason = "failed", str(failed)[:500]
            log.warning("speech attachment %s failed: %s", attachment.id, failed)
        else:
            storage.get_storage().put(attachment.storage_key, data, content_type)
            attachment.content_type, attachment.size = content_type, len(data)
            attachment.name = f"reply-{attachment.message_id}{speech.EXTENSIONS[content_type]}"
            attachment.status = "clean"
        db.session.commit()
        return attachment.status
