"""A chat session as a document: the full record or client notes, in Markdown, JSON or PDF.

Both kinds hold the session's name, its context card and its finished messages (never a reply
still being written), with timestamps in UTC and the moment of the export. Client notes hold
only what a client should read: the questions and the answers (the user's, the assistant's and
an administrator's messages, finished or stopped), without system messages, failed replies,
errors or token counts.

The JSON document (``version`` 1)::

    {"format": "chatapp.session", "version": 1, "kind": "full" | "client_notes",
     "exported_at": ISO 8601,
     "session": {"id", "name", "created_at", "context_card": [{"label", "value"}]},
     "messages": [{"seq", "sender", "author", "content", "files", "created_at"}]}

``files`` are the names of the files a message carries (sent with it, or written by the reply).

A full export's messages also carry ``status`` (done, failed or cancelled), ``error``,
``tokens_in``, ``tokens_out`` and ``latency_ms``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
from urllib.parse import quote

from chatapp.models import REPLY_IN_PROGRESS, ChatSession, iso, utcnow
from chatapp.services.context import card_lines

KINDS = ("full", "client_notes")
FORMATS = {"md": "text/markdown; charset=utf-8", "json": "application/json",
           "pdf": "application/pdf"}
CLIENT_SENDERS = ("user", "assistant", "admin")
CLIENT_STATUSES = ("done", "cancelled")  # a stopped reply's text is an answer, however short


def document(chat: ChatSession, kind: str, now: datetime | None = None) -> dict:
    """The session as the JSON document above (`kind`: one of KINDS)."""
    notes = kind == "client_notes"
    messages = []
    for message in chat.messages:
        if message.status in REPLY_IN_PROGRESS:
            continue
        files = [f["name"] for f in (message.meta or {}).get("files", [])]
        if notes and (message.sender not in CLIENT_SENDERS or message.status not in CLIENT_STATUSES
                      or not (message.content.strip() or files)):
            continue
        item = {"seq": message.seq, "sender": message.sender, "author": message.author,
                "content": message.content, "files": files,
                "created_at": iso(message.created_at)}
        if not notes:
            item.update(status=message.status, error=(message.meta or {}).get("error"),
                        tokens_in=message.tokens_in, tokens_out=message.tokens_out,
                        latency_ms=message.latency_ms)
        messages.append(item)
    return {
        "format": "chatapp.session", "version": 1, "kind": kind,
        "exported_at": iso(now or utcnow()),
        "session": {"id": str(chat.id), "name": chat.name, "created_at": iso(chat.created_at),
                    "context_card": [{"label": label, "value": value} for label, value
                                     in card_lines(chat.client_name, chat.context)]},
        "messages": messages,
    }


def as_json(doc: dict) -> bytes:
    """The document as pretty-printed UTF-8 JSON."""
    return json.dumps(doc, ensure_ascii=False, indent=2).encode()


def as_markdown(doc: dict) -> str:
    """The document as Markdown: a header (name, export time, context card), then each message
    under a heading with its author and time."""
    session = doc["session"]
    lines = [f"# {_one_line(session['name'])}", "",
             f"{title_of(doc)} exported from chatapp on {when(doc['exported_at'])}.  ",
             f"Chat started {when(session['created_at'])}.", ""]
    if session["context_card"]:
        lines += ["## Context", ""]
        lines += [f"- **{_one_line(f['label'])}:** {_one_line(f['value'])}"
                  for f in session["context_card"]]
        lines.append("")
    lines += ["## Conversation", ""]
    for message in doc["messages"]:
        lines += [f"### {_one_line(message['author'])} · {when(message['created_at'])}", ""]
        note = status_note(message)
        if note:
            lines += [f"*{note}*", ""]
        if message["content"].strip() or not message.get("files"):
            lines += [message["content"].strip() or "*(no text)*", ""]
        note = files_note(message)
        if note:
            lines += [f"*{note}*", ""]
    if not doc["messages"]:
        lines += ["*No messages.*", ""]
    return "\n".join(lines)


def title_of(doc: dict) -> str:
    """What the document is, for its header."""
    return "Client notes" if doc["kind"] == "client_notes" else "Chat record"


def status_note(message: dict) -> str | None:
    """A full export's note on a reply that did not finish (None otherwise)."""
    if message.get("status") == "failed":
        return "Reply failed" + (f": {message['error']}" if message.get("error") else ".")
    if message.get("status") == "cancelled":
        return "Reply stopped."
    return None


def files_note(message: dict) -> str | None:
    """The line naming a message's files (None when it has none)."""
    return f"Files: {', '.join(message['files'])}" if message.get("files") else None


def when(iso: str | None) -> str:
    """An ISO time as shown in documents: ``2026-11-24 09:05 UTC``."""
    if not iso:
        return "unknown time"
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")


def filename(doc: dict, extension: str) -> str:
    """A file name from the session's name (letters of any script and digits kept, the rest
    made dashes), the kind and the date: ``acme-review-client-notes-2026-11-24.pdf``."""
    slug = re.sub(r"[\W_]+", "-", doc["session"]["name"].lower()).strip("-")[:60].strip("-")
    parts = [slug or "chat", "client-notes" if doc["kind"] == "client_notes" else None,
             doc["exported_at"][:10]]
    return "-".join(p for p in parts if p) + "." + extension


def content_disposition(name: str) -> str:
    """An attachment header for `name`: plain ASCII for every client, and the UTF-8 name
    (RFC 6266) for the clients that read it."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r"-{2,}", "-", fallback).lstrip("-")  # the date and extension stay
    if fallback == name:
        return f"attachment; filename={name}"
    return f"attachment; filename={fallback}; filename*=UTF-8''{quote(name)}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
