"""A minimal HTTP/1.1 client on asyncio for the load generator.

httpx spent more than half of the load generator's core (its stream layers cost far more per
chunk than the rest of the generator), so at a few thousand chunks a second the benchmark measured
itself, and each of its requests added a millisecond or two of the generator's own time to the
times measured. Here a streamed response has a connection of its own (`Connection: close`), its
chunked transfer encoding decoded and its body given line by line; short requests go over one
kept-alive connection per simulated browser (`Browser`), which keeps its cookies.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit


class StreamError(Exception):
    """The server answered with a status other than 200."""


@dataclass
class Response:
    """A short response: its status, headers (lower-case names, the last of repeated ones) and
    body."""

    status: int
    headers: dict[str, str]
    body: bytes


class Browser:
    """One simulated browser: its cookies and one kept-alive connection to `url`, dropped after
    KEEP_ALIVE_SECONDS idle, before the server's keep-alive timeout (5 s in gunicorn) closes it
    (a request sent on a connection the server is closing would fail, where a browser quietly
    sends it again)."""

    KEEP_ALIVE_SECONDS = 2.0

    def __init__(self, url: str, cookies: dict[str, str]):
        self.url = url
        self.cookies = dict(cookies)
        self._connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._idle_since = 0.0

    async def post_form(self, path: str, fields: dict[str, str]) -> Response:
        """POST an url-encoded form, without following a redirect."""
        body = urlencode(fields).encode()
        if time.monotonic() - self._idle_since > self.KEEP_ALIVE_SECONDS:
            self.close()
        if self._connection is None:
            parts = urlsplit(self.url)
            self._connection = await asyncio.open_connection(parts.hostname, parts.port)
        reader, writer = self._connection
        writer.write(_head("POST", self.url + path, {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie_header(),
            "Content-Length": str(len(body))}) + body)
        status, headers, cookies = await _read_head(reader)
        self.cookies.update(cookies)
        content = await reader.readexactly(int(headers.get("content-length", 0)))
        self._idle_since = time.monotonic()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, content)

    def cookie_header(self) -> str:
        """The Cookie header to send."""
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def close(self) -> None:
        """Close the kept-alive connection."""
        if self._connection is not None:
            self._connection[1].close()
            self._connection = None


@contextlib.asynccontextmanager
async def open_lines(url: str, method: str = "GET", headers: dict[str, str] | None = None,
                     body: bytes = b"") -> AsyncIterator[AsyncIterator[str]]:
    """Send one request to `url` and give the response body's lines as they arrive."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(_head(method, url, {"Connection": "close", "Content-Length": str(len(body)),
                                         **(headers or {})}) + body)
        status, response_headers, _ = await _read_head(reader)
        if status != 200:
            raise StreamError(f"status {status}")
        chunked = response_headers.get("transfer-encoding", "").lower() == "chunked"
        yield _lines(_chunks(reader) if chunked else _until_closed(reader))
    finally:
        writer.close()


def _head(method: str, url: str, headers: dict[str, str]) -> bytes:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], dict[str, str]]:
    """The response's status, headers and the cookies it sets."""
    status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers, cookies = {}, {}
    for name, _, value in (line.partition(":") for line in lines if line):
        name, value = name.strip().lower(), value.strip()
        headers[name] = value
        if name == "set-cookie":
            cookie, _, _ = value.partition(";")
            cookie_name, _, cookie_value = cookie.partition("=")
            cookies[cookie_name.strip()] = cookie_value.strip()
    return int(status_line.split()[1]), headers, cookies


async def _lines(pieces: AsyncIterator[bytes]) -> AsyncIterator[str]:
    pending = b""
    async for piece in pieces:
        pending += piece
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.rstrip(b"\r").decode()


async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        yield (await reader.readexactly(size + 2))[:-2]


async def _until_closed(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while piece := await reader.read(65536):
        yield piece
