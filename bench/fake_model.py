"""An OpenAI-compatible streaming server for benchmarks, on asyncio: every token carries its send
time (nanoseconds since the epoch) so a client can measure how late it arrives."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass


@dataclass
class Pace:
    """The replies the server streams: `tokens` tokens, `interval` seconds apart."""

    tokens: int = 50
    interval: float = 0.02


def token(index: int) -> str:
    """A token stamped with its send time: ' <index>@<ns>'."""
    return f" {index}@{time.time_ns()}"


class FakeModel:
    """Serves POST /v1/chat/completions (stream) at the current pace."""

    def __init__(self):
        self.pace = Pace()
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=4096)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            pace, loop = self.pace, asyncio.get_running_loop()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n")
            start = loop.time()
            for index in range(pace.tokens):
                if index and pace.interval:  # on a fixed schedule: a late token does not delay the next
                    await asyncio.sleep(start + index * pace.interval - loop.time())
                chunk = {"choices": [{"index": 0, "delta": {"content": token(index)}}]}
                writer.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                await writer.drain()
            usage = {"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": pace.tokens}}
            writer.write(b"data: " + json.dumps(usage).encode() + b"\n\ndata: [DONE]\n\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
