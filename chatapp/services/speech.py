"""Replies read aloud: the speech attachment of a message, its text made speakable (Markdown
stripped, code left out, length capped) and synthesised offline (the natural Piper voice,
services/piper_voice.py, or espeak-ng's robotic one: TTS_ENGINE) or by an OpenAI-compatible
server when TTS_URL is set."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from flask import current_app
from markdown_it import MarkdownIt

from chatapp.extensions import db
from chatapp.models import Attachment, ChatMessage, ChatSession
from chatapp.services import espeak, jobs, piper_voice, storage, uploads
from chatapp.services.voice_endpoint import VoiceFailed, post

SPOKEN_SENDERS = ("assistant", "admin")
# The name's extension of the audio made, by its (sniffed) content type.
EXTENSIONS = {"audio/wav": ".wav", "audio/mpeg": ".mp3", "audio/ogg": ".ogg",
              "audio/webm": ".webm", "audio/mp4": ".m4a"}
CODE_SPOKEN = "There is a code example here; see the written reply."
_SENTENCE_END = re.compile(r"[.!?:;]$")
_BLOCK_ENDS = ("paragraph_close", "heading_close", "list_item_close", "th_close", "td_close",
               "blockquote_close")


class NotSpeakable(Exception):
    """This message cannot be read aloud (yet): `status` (409, 422) and a message for the person."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def request_speech(chat: ChatSession, message_id: int) -> Attachment:
    """The speech attachment of finished reply `message_id` of `chat`: the one made already for its
    current text, or a new pending one whose synthesis job is queued (its `transcript` is the text
    it will say). NotSpeakable for other messages."""
    message = db.session.scalar(db.select(ChatMessage).filter_by(id=message_id,
                                                                  session_id=chat.id))
    if message is None:
        raise NotSpeakable(404, "That message is not in this chat.")
    if message.sender not in SPOKEN_SENDERS:
        raise NotSpeakable(422, "Only replies of the assistant or an admin can be read aloud.")
    if message.status != "done":
        raise NotSpeakable(409, "This reply is not finished yet: listen once it is complete.")
    text = speakable_text(message.content, current_app.config["TTS_MAX_CHARS"])
    if not text:
        raise NotSpeakable(422, "This reply has no words to read aloud.")
    # A regenerated reply, or another of its versions on show, says something else: new audio.
    existing = db.session.scalar(
        db.select(Attachment).filter_by(message_id=message.id, origin="speech", transcript=text)
        .where(Attachment.status != "failed").order_by(Attachment.id.desc()))
    if existing is not None:
        return existing
    attachment = Attachment(session_id=chat.id, uploader_id=chat.owner_id, message_id=message.id,
                            name=f"reply-{message.id}.wav", content_type="audio/wav", size=0,
                            storage_key=storage.new_key(".wav"), status="pending",
                            origin="speech", transcript=text, transcript_status="done")
    db.session.add(attachment)
    db.session.commit()
    jobs.enqueue_speech(attachment.id)
    return attachment


def speakable_text(markdown: str, max_chars: int) -> str:
    """The words of Markdown `markdown` as they are read aloud: no markup, a code block replaced
    by a short note, each block ending a sentence; at most `max_chars`, cut at a sentence's end
    where there is one."""
    parts: list[str] = []
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        if token.type in ("fence", "code_block"):
            parts.append(CODE_SPOKEN)
        elif token.type == "inline":
            parts.append(" ".join(child.content for child in token.children or ()
                                  if child.type in ("text", "code_inline", "image")))
        elif token.type in _BLOCK_ENDS and parts and parts[-1].strip():
            if not _SENTENCE_END.search(parts[-1].rstrip()):
                parts[-1] = parts[-1].rstrip() + "."
    text = re.sub(r"\s+", " ", " ".join(part for part in parts if part.strip())).strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[:end + 1] if end > max_chars // 2 else cut.rsplit(" ", 1)[0] + "…"


def synthesize(text: str) -> tuple[bytes, str]:
    """Audio of `text` spoken and its content type (sniffed); VoiceFailed when none was made."""
    config = current_app.config
    if config["TTS_URL"]:
        data = post(config["TTS_URL"], "/v1/audio/speech", config["TTS_API_KEY"],
                    config["VOICE_TIMEOUT"],
                    json={"model": config["TTS_MODEL"], "input": text,
                          "voice": config["TTS_VOICE"], "response_format": "wav"}).content
    elif config["TTS_ENGINE"] == "piper":
        data = piper_voice.synthesize(text)
    elif config["TTS_ENGINE"] == "espeak":
        data = _espeak(text, config["ESPEAK_VOICE"])
    else:
        raise VoiceFailed("CHATAPP_TTS_ENGINE must be 'piper' or 'espeak'.")
    content_type = uploads.sniff(data, "speech.wav") if data else None
    if not content_type or not content_type.startswith("audio/"):
        raise VoiceFailed("The speech service returned no audio.")
    return data, content_type


def _espeak(text: str, voice: str) -> bytes:
    # -w writes a WAV with its real length (--stdout leaves the sizes unset).
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "speech.wav"
        espeak.run(["-v", voice, "-w", str(out)], text)
        return out.read_bytes()
