"""A small OpenAI-compatible chat completions server for tests (and for trying chatapp by hand).

It streams a scripted reply as SSE chunks with a configurable delay, fails on demand, and records
every request it receives, so tests can assert on the prompt chatapp sent. It also speaks the
audio API: /v1/audio/transcriptions answers a scripted transcript, /v1/audio/speech a WAV tone.
"""

from __future__ import annotations

import io
import json
import math
import struct
import threading
import time
import wave
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chatapp.services import titles


@dataclass
class Script:
    """What the next replies look like."""

    tokens: list[str] = field(default_factory=lambda: ["Hello", " from", " the", " fake", " model."])
    delay: float = 0.0  # seconds between tokens
    fail_status: int | None = None  # answer with this HTTP status instead of streaming
    fail_times: int | None = None  # ... only for this many requests (None: every request)
    fail_after: int | None = None  # drop the connection after this many tokens
    first_delay: float = 0.0  # seconds before the first token
    stall_after: int | None = None  # stop sending (but keep the connection) after this many tokens
    # The answer to requests for a session title (kept apart from `requests`); None: a 503, so
    # sessions keep the name taken from their first message.
    title: str | None = None
    transcript: str = "Transcribed by the fake server."  # /v1/audio/transcriptions answers it
    audio_fail_status: int | None = None  # the audio endpoints answer this status instead


class FakeLLM:
    """Runs the server on a free loopback port in a background thread."""

    def __init__(self):
        self.script = Script()
        self.requests: list[dict] = []
        self.title_requests: list[dict] = []
        self.audio_requests: list[dict] = []  # path, headers and body of each audio request
        self.tokens_sent = 0
        self.active = 0  # streams being sent right now
        self.max_active = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeLLM:
        """Serve in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def reset(self, **script) -> None:
        """Forget recorded requests and use a new script."""
        with self._lock:
            self.script = Script(**script)
            self.requests.clear()
            self.title_requests.clear()
            self.audio_requests.clear()
            self.tokens_sent = 0
            self.max_active = 0

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                if self.path.startswith("/v1/audio/"):
                    self._audio(self.rfile.read(length))
                    return
                body = json.loads(self.rfile.read(length) or b"{}")
                if _asks_for_title(body):
                    self._title(body)
                    return
                with fake._lock:
                    fake.requests.append(body)
                    script = fake.script
                    failing = script.fail_status and (script.fail_times is None
                                                      or len(fake.requests) <= script.fail_times)
                if not self.path.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": "not found"}})
                elif failing:
                    self._json(script.fail_status, {"error": {"message": "scripted failure"}})
                else:
                    with fake._lock:
                        fake.active += 1
                        fake.max_active = max(fake.max_active, fake.active)
                    try:
                        self._stream(script, body)
                    except OSError:
                        pass  # the client went away (a stopped reply)
                    finally:
                        with fake._lock:
                            fake.active -= 1

            def _audio(self, raw: bytes):
                with fake._lock:
                    fake.audio_requests.append({"path": self.path, "headers": dict(self.headers),
                                                "body": raw})
                    script = fake.script
                if script.audio_fail_status:
                    self._json(script.audio_fail_status, {"error": {"message": "scripted failure"}})
                elif self.path == "/v1/audio/transcriptions":
                    self._json(200, {"text": script.transcript})
                elif self.path == "/v1/audio/speech":
                    data = tone_wav()
                    self.send_response(200)
                    self.send_header("Content-Type", "audio/wav")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def _json(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, script: Script, body: dict):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                if script.first_delay:
                    time.sleep(script.first_delay)
                for index, token in enumerate(script.tokens):
                    if script.fail_after is not None and index >= script.fail_after:
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        return
                    if script.stall_after is not None and index >= script.stall_after:
                        self._stall()
                        return
                    if script.delay:
                        time.sleep(script.delay)
                    self._chunk({"choices": [{"index": 0, "delta": {"content": token}}]})
                    with fake._lock:
                        fake.tokens_sent += 1
                prompt_tokens = sum(len(m["content"].split()) for m in body.get("messages", []))
                self._chunk({"choices": [], "usage": {"prompt_tokens": prompt_tokens,
                                                      "completion_tokens": len(script.tokens)}})
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _title(self, body: dict):
                with fake._lock:
                    fake.title_requests.append(body)
                    title = fake.script.title
                if title is None:
                    self._json(503, {"error": {"message": "no title scripted"}})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self._chunk({"choices": [{"index": 0, "delta": {"content": title}}]})
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _stall(self, seconds: float = 60):
                """Send no token, only SSE comments, until the client goes away (or `seconds`)."""
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    time.sleep(0.2)
                    self.wfile.write(b": still thinking\n\n")
                    self.wfile.flush()

            def _chunk(self, payload):
                self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                self.wfile.flush()

        return Handler


def tone_wav(seconds: float = 1.0, rate: int = 16000) -> bytes:
    """A WAV of a 440 Hz tone, `seconds` long (what the fake speech endpoint answers)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                                 for i in range(int(seconds * rate))))
    return out.getvalue()


def _asks_for_title(body: dict) -> bool:
    messages = body.get("messages") or [{}]
    return messages[0].get("content") == titles.INSTRUCTION
