"""Checking and reading stored uploads (for worker/media.py): a malware scan (ClamAV's clamd when
CLAMD_URL is set; always the built-in checks for the EICAR test file, archive bombs and
polyglots), then the text of PDF, DOCX and text files and a thumbnail for images."""

from __future__ import annotations

import io
import re
import socket
import struct
import zipfile
from urllib.parse import urlparse
from xml.etree.ElementTree import ParseError

from defusedxml import ElementTree
from PIL import Image
from pypdf import PdfReader

from chatapp.services.uploads import DOCX, IMAGES

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
ZIP_MAX_TOTAL = 200 * 1024 * 1024  # bytes an archive may unpack to
ZIP_MAX_RATIO = 100  # uncompressed / compressed, beyond a few megabytes
ZIP_MAX_ENTRIES = 5000
MAX_TEXT_CHARS = 500_000
THUMBNAIL_SIZE = (256, 256)
_MARKUP = re.compile(rb"<\s*(html|script|body|iframe|svg)\b", re.IGNORECASE)
_WORD = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class Infected(Exception):
    """A file that must not be served: the reason is the message."""


def scan(data: bytes, content_type: str, clamd_url: str | None) -> None:
    """Raise Infected when `data` is malware, an archive bomb or a polyglot."""
    if EICAR in data:
        raise Infected("Malware found: the EICAR test file.")
    if content_type == DOCX:
        _check_archive(data)
    elif _is_zip(data):
        raise Infected(f"The file is both {_label(content_type)} and a ZIP archive.")
    if not content_type.startswith("text/") and _MARKUP.search(data[:4096]):
        raise Infected(f"The file is both {_label(content_type)} and HTML.")
    if clamd_url:
        verdict = clamd_scan(data, clamd_url)
        if verdict:
            raise Infected(f"Malware found: {verdict}.")


def _is_zip(data: bytes) -> bool:
    return b"PK\x05\x06" in data[-66000:] and zipfile.is_zipfile(io.BytesIO(data))


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile as error:
        raise ValueError(f"The document could not be read: {error}") from error
    total = sum(entry.file_size for entry in entries)
    packed = sum(entry.compress_size for entry in entries) or 1
    if len(entries) > ZIP_MAX_ENTRIES:
        raise Infected(f"Archive bomb: {len(entries)} entries.")
    if total > ZIP_MAX_TOTAL or (total > 5 * 1024 * 1024 and total / packed > ZIP_MAX_RATIO):
        raise Infected(f"Archive bomb: {total} bytes packed into {packed}.")


def clamd_scan(data: bytes, url: str) -> str | None:
    """The signature clamd finds in `data` (INSTREAM), or None when it finds nothing; OSError
    when clamd cannot be reached or answers an error."""
    parsed = urlparse(url)
    if parsed.scheme == "unix":
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address = parsed.path
    else:
        conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        address = (parsed.hostname or "127.0.0.1", parsed.port or 3310)
    with conn:
        conn.settimeout(60)
        conn.connect(address)
        conn.sendall(b"zINSTREAM\0")
        for start in range(0, len(data), 65536):
            chunk = data[start:start + 65536]
            conn.sendall(struct.pack("!L", len(chunk)) + chunk)
        conn.sendall(struct.pack("!L", 0))
        answer = b""
        while not answer.endswith(b"\0"):
            part = conn.recv(4096)
            if not part:
                break
            answer += part
    reply = answer.rstrip(b"\0").decode("utf-8", "replace")
    if reply.endswith("OK"):
        return None
    if reply.endswith("FOUND"):
        return reply.split(":", 1)[-1].removesuffix("FOUND").strip()
    raise OSError(f"clamd: {reply}")


def extract_text(data: bytes, content_type: str) -> str | None:
    """The text of a PDF, DOCX, CSV, Markdown or text file (None for other types), at most
    MAX_TEXT_CHARS characters; ValueError when the file cannot be read."""
    if content_type == "application/pdf":
        try:
            reader = PdfReader(io.BytesIO(data))
            text = "\n".join(page.extract_text() or "" for page in reader.pages)
        except Exception as error:  # pypdf raises many kinds for broken files
            raise ValueError(f"The PDF could not be read: {error}") from error
    elif content_type == DOCX:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                root = ElementTree.fromstring(archive.read("word/document.xml"))
        except (zipfile.BadZipFile, ParseError) as error:
            raise ValueError(f"The document could not be read: {error}") from error
        text = "\n".join("".join(node.text or "" for node in paragraph.iter(_WORD + "t"))
                         for paragraph in root.iter(_WORD + "p"))
    elif content_type.startswith("text/"):
        text = data.decode("utf-8")
    else:
        return None
    return text.replace("\x00", "").strip()[:MAX_TEXT_CHARS]


def thumbnail(data: bytes, content_type: str) -> bytes | None:
    """A PNG thumbnail of an image (None for other types)."""
    if content_type not in IMAGES:
        return None
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail(THUMBNAIL_SIZE)
        out = io.BytesIO()
        image.convert("RGBA").save(out, "PNG")
        return out.getvalue()


def _label(content_type: str) -> str:
    return {DOCX: "DOCX"}.get(content_type, content_type.split("/")[-1].upper())
