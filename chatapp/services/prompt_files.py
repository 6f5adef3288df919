"""The files a reply reads: the text taken from the chat's files (documents, and the transcripts
of voice notes) and, for a model that sees images, the images themselves. They join the user
messages that carried them, newest first, within a token budget of their own; what did not fit
is left out (a long document is cut), and the reply records what it read."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

from PIL import Image

from chatapp.extensions import db
from chatapp.models import Attachment
from chatapp.services import storage
from chatapp.services.uploads import file_view

IMAGE_TOKENS = 850  # what one image costs a vision model, roughly (tiles of a 1024px image)
IMAGE_SIDE = 1024  # images are sent at most this wide and high
CHARS_PER_TOKEN = 4
MIN_PART_TOKENS = 100  # a document is not cut to less than this: it is left out instead


@dataclass
class _Read:
    """A file the reply reads: its text (or an image's storage key), and how much of it."""

    attachment: Attachment
    text: str | None = None
    image_key: str | None = None
    note: str | None = None


@dataclass
class FilePlan:
    """What each user message of the prompt brings: texts and image keys, by message id."""

    texts: dict[int, list[str]] = field(default_factory=dict)
    images: dict[int, list[str]] = field(default_factory=dict)
    used: list[dict] = field(default_factory=list)  # file views, with a note when cut

    def item(self, message_id: int, sender: str, text: str, fetch) -> dict:
        """A history item (prompt.build_messages) of message `message_id`, with the files it
        brings: they are kept whatever the history's budget, and images read by `fetch`."""
        if message_id not in self.texts and message_id not in self.images:
            return {"sender": sender, "content": text}
        return {"sender": sender, "content": self._content(message_id, text, fetch),
                "files": True, "text": text}

    def _content(self, message_id: int, text: str, fetch) -> str | list[dict]:
        """The content of user message `message_id` with its files: plain text, or OpenAI-style
        parts when it brings images (read with `fetch(key) -> bytes`)."""
        blocks = [text] if text else []
        blocks += self.texts.get(message_id, [])
        joined = "\n\n".join(blocks)
        keys = self.images.get(message_id, [])
        if not keys:
            return joined
        return [{"type": "text", "text": joined or "(images attached)"},
                *({"type": "image_url", "image_url": {"url": image_data_url(fetch(key))}}
                  for key in keys)]


def plan(message_ids: list[int], budget_tokens: int, vision: bool) -> FilePlan:
    """Choose the files of user messages `message_ids` (oldest first) that the prompt carries:
    the newest message's first, each file whole while the budget lasts, then cut, then left
    out. Images count IMAGE_TOKENS each and only for a `vision` model."""
    rows = db.session.scalars(
        db.select(Attachment).where(Attachment.message_id.in_(message_ids),
                                    Attachment.status == "clean", Attachment.origin == "upload")
        .order_by(Attachment.message_id.desc(), Attachment.id)).all() if message_ids else []
    result, left = FilePlan(), budget_tokens
    for attachment in rows:
        read = _read(attachment, left, vision)
        if read is None:
            continue
        if read.image_key:
            left -= IMAGE_TOKENS
            result.images.setdefault(attachment.message_id, []).append(read.image_key)
        else:
            left -= len(read.text) // CHARS_PER_TOKEN
            result.texts.setdefault(attachment.message_id, []).append(read.text)
        result.used.append({**file_view(attachment), "note": read.note})
    result.used.sort(key=lambda view: view["id"])  # in the order they were sent
    return result


def _read(attachment: Attachment, left_tokens: int, vision: bool) -> _Read | None:
    if attachment.content_type.startswith("image/"):
        if vision and left_tokens >= IMAGE_TOKENS:
            return _Read(attachment, image_key=attachment.storage_key)
        return None
    body = attachment.transcript if attachment.content_type.startswith("audio/") \
        else attachment.extracted_text
    if not body:
        return None
    label = "Voice note" if attachment.content_type.startswith("audio/") else "File"
    header = f'{label} "{attachment.name}":\n'
    room = (left_tokens * CHARS_PER_TOKEN) - len(header) - 40
    if room < MIN_PART_TOKENS * CHARS_PER_TOKEN:
        return None
    if len(body) <= room:
        return _Read(attachment, text=f"{header}{body}")
    cut = body[:room]
    return _Read(attachment, text=f"{header}{cut}\n[… the rest of this file was left out]",
                 note=f"first {len(cut):,} of {len(body):,} characters")


def image_data_url(data: bytes) -> str:
    """An image as a data: URL for the model, made at most IMAGE_SIDE wide and high (JPEG)."""
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((IMAGE_SIDE, IMAGE_SIDE))
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def fetch_stored(key: str) -> bytes:
    """The stored bytes of object `key` (the plan's image keys)."""
    return storage.get_storage().get(key)
