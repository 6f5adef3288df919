"""Drive chatapp as browsers would, and the fake model directly, and measure what arrives."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import statistics
import time
from dataclasses import dataclass, field

import httpx

STAMP = re.compile(r"(\d+)@(\d{19})")
_TLS = ssl.create_default_context()  # built once: a client per chat would otherwise load it each time
# Like a browser: a few connections per client, idle ones dropped before gunicorn's keep-alive
# (5 s) closes them (a request sent on a connection the server is closing would fail, where a
# browser quietly sends it again).
_LIMITS = httpx.Limits(max_connections=6, max_keepalive_connections=6, keepalive_expiry=2.0)


def new_client(**options) -> httpx.AsyncClient:
    """An HTTP client of its own for one chat (one browser): a pool shared by a thousand chats
    would spend the load generator's time searching itself."""
    return httpx.AsyncClient(timeout=httpx.Timeout(120), limits=_LIMITS, verify=_TLS, **options)


@dataclass
class Sample:
    """What one chat (or one direct request) saw."""

    ttft: float | None = None  # seconds from the request to the first token
    send: float | None = None  # seconds the send (POST of the message) took
    relay: list[float] = field(default_factory=list)  # per token: arrival - send time (s)
    gaps: list[float] = field(default_factory=list)  # between arrivals (s)
    tokens: int = 0
    done: bool = False
    error: str | None = None
    first_at: float | None = None  # monotonic time of the first and the last arrival
    last_at: float | None = None


def _record(sample: Sample, text: str, started: float, last: list[float]) -> None:
    arrived_wall, arrived = time.time_ns(), time.monotonic()
    stamps = STAMP.findall(text)
    if not stamps:
        return
    if sample.ttft is None:
        sample.ttft = arrived - started
        sample.first_at = arrived
    elif last:
        sample.gaps.append(arrived - last[0])
    last[:] = [arrived]
    sample.last_at = arrived
    sample.tokens += len(stamps)
    sample.relay.extend((arrived_wall - int(sent)) / 1e9 for _, sent in stamps)


async def direct(model_url: str) -> Sample:
    """One streaming request straight to the model: the baseline."""
    sample, last = Sample(), []
    body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    try:
        async with new_client() as client:
            started = time.monotonic()
            async with client.stream("POST", model_url + "/chat/completions",
                                     json=body) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data: {"):
                        chunk = json.loads(line[6:])
                        for choice in chunk.get("choices") or []:
                            _record(sample, choice["delta"].get("content", ""), started, last)
                    elif line == "data: [DONE]":
                        sample.done = True
    except httpx.HTTPError as error:
        sample.error = type(error).__name__
    return sample


async def chat(url: str, cookies: httpx.Cookies, token: str) -> Sample:
    """Create a session, open its event stream, send a message, read the reply to its end."""
    sample, last = Sample(), []
    try:
        async with new_client(base_url=url, cookies=cookies) as client:
            created = await client.post("/chats", data={"csrf_token": token})
            chat_url = created.headers["location"]
            async with client.stream("GET", chat_url + "/events?after=0-0") as stream:
                lines = stream.aiter_lines()
                started = time.monotonic()
                sent = await client.post(chat_url + "/messages",
                                         data={"csrf_token": token, "content": "Estimate the cost"})
                sample.send = time.monotonic() - started
                if sent.status_code != 303:
                    sample.error = f"send {sent.status_code}"
                    return sample
                await _read_reply(lines, sample, started, last)
    except (httpx.HTTPError, KeyError) as error:
        sample.error = type(error).__name__
    return sample


async def _read_reply(lines, sample: Sample, started: float, last: list[float]) -> None:
    event = None
    async for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "reply.delta":
            _record(sample, json.loads(line[6:])["text"], started, last)
        elif line.startswith("data: ") and event in ("reply.done", "reply.failed"):
            sample.done = event == "reply.done"
            sample.error = None if sample.done else json.loads(line[6:]).get("reason")
            return


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank); nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


@dataclass
class Summary:
    """A scenario's numbers over all its chats."""

    chats: int
    completed: int
    errors: list[str]
    ttft_p50: float
    ttft_p99: float
    send_p50: float
    send_p99: float
    relay_p50: float
    relay_p99: float
    gap_p99: float
    tokens_per_s: float

    @classmethod
    def of(cls, samples: list[Sample]) -> Summary:
        """Summarise samples; tokens/s counts from the first token seen to the last."""
        ttft = [s.ttft for s in samples if s.ttft is not None]
        send = [s.send for s in samples if s.send is not None]
        firsts = [s.first_at for s in samples if s.first_at is not None]
        lasts = [s.last_at for s in samples if s.last_at is not None]
        seconds = max(lasts) - min(firsts) if firsts and max(lasts) > min(firsts) else float("nan")
        relay = [r for s in samples for r in s.relay]
        gaps = [g for s in samples for g in s.gaps]
        return cls(len(samples), sum(s.done for s in samples), [s.error for s in samples if s.error],
                   statistics.median(ttft) if ttft else float("nan"), percentile(ttft, 99),
                   percentile(send, 50), percentile(send, 99),
                   percentile(relay, 50), percentile(relay, 99), percentile(gaps, 99),
                   sum(s.tokens for s in samples) / seconds)


async def run_many(factory, count: int, ramp: float = 0.0) -> list[Sample]:
    """Run `count` coroutines from `factory()` together, their starts spread evenly over `ramp`
    seconds; their samples."""

    async def started_after(delay: float) -> Sample:
        await asyncio.sleep(delay)
        return await factory()

    return list(await asyncio.gather(*(started_after(i * ramp / count) for i in range(count))))
