"""Taking uploads in: the allowed types, decided by the content (magic bytes), never by the name
or the browser's MIME type; names made safe; images re-encoded without their metadata (EXIF GPS
and the like); the attachment rows, stored, then the media job queued for each."""

from __future__ import annotations

import io
import os
import re
import unicodedata
import zipfile

from PIL import Image, ImageOps

from chatapp.extensions import db
from chatapp.models import Attachment, ChatSession, User, iso
from chatapp.services import jobs, storage

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
IMAGES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}
TEXT_TYPES = {".csv": "text/csv", ".md": "text/markdown", ".markdown": "text/markdown"}
# What people are told is allowed (415).
ALLOWED = ("PDF", "PNG", "JPEG", "WebP", "GIF", "DOCX", "CSV", "TXT", "MD", "WebM", "Ogg", "WAV",
           "MP3", "M4A")
# The file names the composer lets through before uploading (the content decides on the server).
EXTENSIONS = (".pdf", ".png", ".jpg", ".jpeg", ".webp", ".gif", ".docx", ".csv", ".txt", ".md",
              ".markdown", ".webm", ".ogg", ".oga", ".opus", ".wav", ".mp3", ".m4a", ".mp4")
MAX_NAME = 120


class Rejected(Exception):
    """An upload refused: `status` (413, 415, 422) and a message for the person."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def sniff(data: bytes, name: str) -> str | None:
    """The content type of `data` when it is one of the allowed types, else None. The name only
    chooses among text types (CSV, Markdown, plain text) once the content is valid text."""
    head = data[:16]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
                                   and head[1] & 0x06):
        return "audio/mpeg"
    if head[4:8] == b"ftyp" and head[8:11] in (b"M4A", b"M4B", b"mp4", b"iso"):
        return "audio/mp4"
    if head.startswith(b"PK\x03\x04"):
        return DOCX if _is_docx(data) else None
    if b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return TEXT_TYPES.get(os.path.splitext(name.lower())[1], "text/plain")
    return None


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def safe_name(name: str | None) -> str:
    """`name` without any path, control characters or surrounding dots and spaces, at most
    MAX_NAME characters (the extension kept); "file" when nothing is left."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name)
                   if unicodedata.category(c)[0] != "C")
    name = name.strip(" .")
    if len(name) > MAX_NAME:
        stem, ext = os.path.splitext(name)
        ext = ext[:16]
        name = stem[:MAX_NAME - len(ext)] + ext
    return name or "file"


def strip_metadata(data: bytes, content_type: str) -> bytes:
    """The image re-encoded by Pillow without its metadata (EXIF, XMP, comments), turned upright
    first as its EXIF orientation said; Rejected (415) when Pillow cannot read it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if getattr(image, "is_animated", False):
                clean, extra = image, {"save_all": True}
            else:
                clean, extra = ImageOps.exif_transpose(image), {}
            for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile"):
                clean.info.pop(key, None)
            out = io.BytesIO()
            clean.save(out, IMAGES[content_type], exif=b"", **extra)
            return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise Rejected(415, "That image could not be read.") from error


def check(files: list[tuple[str, bytes]], max_bytes: int, max_files: int) -> list[dict]:
    """Validate every file of one upload (all or none): their names, types and data ready to
    store; Rejected with the first problem."""
    if not files:
        raise Rejected(422, "Choose at least one file to upload.")
    if len(files) > max_files:
        raise Rejected(422, f"Upload at most {max_files} files at a time.")
    ready = []
    for raw_name, data in files:
        name = safe_name(raw_name)
        if not data:
            raise Rejected(422, f"{name} is empty.")
        if len(data) > max_bytes:
            raise Rejected(413, f"{name} is larger than the limit of {size_text(max_bytes)}.")
        content_type = sniff(data, name)
        if content_type is None:
            raise Rejected(415, f"{name} is not of an allowed type. Allowed: "
                                f"{', '.join(ALLOWED)}.")
        if content_type in IMAGES:
            data = strip_metadata(data, content_type)
        ready.append({"name": name, "content_type": content_type, "data": data})
    return ready


def store(chat: ChatSession, user: User, ready: list[dict]) -> list[Attachment]:
    """Store checked files as pending attachments of `chat`, then queue their media jobs."""
    backend = storage.get_storage()
    attachments = []
    for item in ready:
        key = storage.new_key()
        backend.put(key, item["data"], item["content_type"])
        attachment = Attachment(session_id=chat.id, uploader_id=user.id, name=item["name"],
                                content_type=item["content_type"], size=len(item["data"]),
                                storage_key=key, status="pending")
        db.session.add(attachment)
        attachments.append(attachment)
    db.session.commit()
    for attachment in attachments:
        jobs.enqueue_media(attachment.id)
    return attachments


def claim(chat: ChatSession, user: User, raw_ids: list, max_files: int) -> list[Attachment]:
    """The attachments `raw_ids` names, for a message `user` is sending in `chat`: their own
    uploads in this chat, scanned clean and not yet sent in another message (the caller links
    them). Rejected (422 unknown, unsafe or too many; 409 still being checked or already sent)
    otherwise; the chat's row is locked by the caller, so two sends cannot claim one file."""
    try:
        ids = list(dict.fromkeys(int(raw) for raw in raw_ids))
    except (TypeError, ValueError):
        raise Rejected(422, "attachment_ids must be attachment ids (whole numbers).") from None
    if len(ids) > max_files:
        raise Rejected(422, f"Attach at most {max_files} files to a message.")
    if not ids:
        return []
    found = {a.id: a for a in db.session.scalars(db.select(Attachment).where(
        Attachment.id.in_(ids), Attachment.session_id == chat.id,
        Attachment.uploader_id == user.id, Attachment.origin == "upload"))}
    attachments = []
    for attachment_id in ids:
        attachment = found.get(attachment_id)
        if attachment is None:
            raise Rejected(422, "One of the attached files is not in this chat any more: "
                                "remove it and attach it again.")
        if attachment.message_id is not None:
            raise Rejected(409, f"{attachment.name} was already sent in an earlier message.")
        if attachment.status == "pending":
            raise Rejected(409, f"{attachment.name} is still being checked: send again in a "
                                "moment.")
        if attachment.status != "clean":
            raise Rejected(422, f"{attachment.name} cannot be sent: {attachment.reason}")
        attachments.append(attachment)
    return attachments


def drafts(chat: ChatSession, user: User, raw_ids: list) -> list[dict]:
    """The uploads `raw_ids` names that are still the user's unsent files of `chat`, as JSON:
    a refused send shows them in the composer again, nothing lost."""
    ids = [int(raw) for raw in raw_ids if str(raw).isdigit()]
    if not ids:
        return []
    rows = db.session.scalars(db.select(Attachment).where(
        Attachment.id.in_(ids), Attachment.session_id == chat.id,
        Attachment.uploader_id == user.id, Attachment.message_id.is_(None))
        .order_by(Attachment.id))
    return [to_json(row) for row in rows]


def file_view(attachment: Attachment) -> dict:
    """What a message keeps of a file it carries, used or produced (its `meta`): enough to show
    it without another query; its link is signed when the page is shown."""
    return {"id": attachment.id, "name": attachment.name,
            "content_type": attachment.content_type, "size": attachment.size,
            "origin": attachment.origin}


def to_json(attachment: Attachment) -> dict:
    """An attachment as the API shows it; a short-lived download URL for a clean one only."""
    clean = attachment.status == "clean"
    return {
        "id": attachment.id,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "status": attachment.status,
        "reason": attachment.reason,
        "message_id": attachment.message_id,
        "created_at": iso(attachment.created_at),
        "has_text": bool(attachment.extracted_text),
        "origin": attachment.origin,
        "transcript": attachment.transcript,
        "transcript_status": attachment.transcript_status,
        "url": storage.download_url(attachment.storage_key, attachment.name,
                                    attachment.content_type) if clean else None,
        "thumbnail_url": storage.download_url(attachment.thumbnail_key, "thumbnail.png",
                                              "image/png")
        if clean and attachment.thumbnail_key else None,
    }


def size_text(count: int) -> str:
    """A byte count as people read it ("20 MB", "1000 bytes")."""
    return f"{count / (1024 * 1024):g} MB" if count >= 1024 * 1024 else f"{count} bytes"
