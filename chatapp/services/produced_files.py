"""Files a reply writes: a fenced code block whose info string names a file (```csv estimate.csv,
```markdown:plan.md, ```json title="data.json") becomes a download of that reply, stored like an
upload (and scanned like one); a CSV block without a name is offered as a table too."""

from __future__ import annotations

import logging
import re

from flask import current_app

from chatapp.extensions import db
from chatapp.models import Attachment, ChatSession
from chatapp.services import media, storage
from chatapp.services.uploads import file_view, safe_name

log = logging.getLogger(__name__)

TYPES = {".csv": "text/csv", ".tsv": "text/tab-separated-values", ".md": "text/markdown",
         ".markdown": "text/markdown", ".txt": "text/plain", ".json": "application/json",
         ".yaml": "text/yaml", ".yml": "text/yaml", ".sql": "text/plain"}
MAX_FILES = 5
MAX_BYTES = 1024 * 1024
INSTRUCTION = (
    "When the user asks for a file (a CSV table, a Markdown document, JSON...), write its whole "
    "content in one fenced code block whose info string is the language and a file name, e.g. "
    "```csv cost-estimate.csv: chatapp offers it as a download.")
_FENCE = re.compile(r"^(`{3,})[ \t]*([^\n`]*)\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_NAME = re.compile(r"""(?:^|[\s:=])["']?(\w[\w.()-]{0,100}(\.[A-Za-z]{2,8}))["']?\s*$""")


def find(text: str) -> list[tuple[str, str, str]]:
    """The files `text` writes, as (name, content type, content), at most MAX_FILES."""
    found, tables = [], 0
    for match in _FENCE.finditer(text):
        info, body = match.group(2).strip(), match.group(3)
        named = _NAME.search(info) if " " in info or ":" in info or "=" in info else None
        if named and named.group(2).lower() in TYPES:
            name = safe_name(named.group(1))
        elif info.lower() == "csv":
            tables += 1
            name = "table.csv" if tables == 1 else f"table-{tables}.csv"
        else:
            continue
        found.append((name, TYPES[name[name.rindex("."):].lower()], body))
    return found[:MAX_FILES]


def store(message, text: str) -> list[dict]:
    """Store the files reply `message` wrote in `text` as its clean attachments (a file the
    scan refuses is left out); their views, for the reply's `meta["files"]`."""
    files = find(text)
    if not files:
        return []
    owner_id = db.session.scalar(db.select(ChatSession.owner_id)
                                 .where(ChatSession.id == message.session_id))
    backend, views = storage.get_storage(), []
    for name, content_type, body in files:
        data = body.encode("utf-8")[:MAX_BYTES]
        try:
            media.scan(data, content_type, current_app.config["CLAMD_URL"])
        except (media.Infected, OSError) as refused:  # OSError: clamd could not be asked
            log.warning("reply %s: file %s left out: %s", message.id, name, refused)
            continue
        key = storage.new_key(name[name.rindex("."):].lower())
        backend.put(key, data, content_type)
        attachment = Attachment(session_id=message.session_id, uploader_id=owner_id,
                                message_id=message.id, name=name, content_type=content_type,
                                size=len(data), storage_key=key, status="clean",
                                origin="assistant", extracted_text=body)
        db.session.add(attachment)
        db.session.flush()
        views.append(file_view(attachment))
    return views


