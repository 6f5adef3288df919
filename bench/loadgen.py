"""Drive chatapp as browsers would, and the fake model directly, and measure what arrives."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import statistics
import time
from dataclasses import dataclass, field, fields
from urllib.parse import urlsplit

from bench.http_stream import Browser, StreamError, open_lines

STAMP = re.compile(r"(\d+)@(\d{19})")
_JSON = {"Content-Type": "application/json"}
CHAT_TIMEOUT = 300  # seconds: the longest chat of any scenario takes about a minute
# OSError covers refused and reset connections and the chat's timeout.
STREAM_ERRORS = (StreamError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError)


@dataclass
class Sample:
    """What one chat (or one direct request) saw."""

    ttft: float | None = None  # seconds from the request to the first token
    send: float | None = None  # seconds the send (POST of the message) took
    relay: list[float] = field(default_factory=list)  # per token: arrival - send time (s)
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, tokens)
    done: bool = False
    error: str | None = None

    @property
    def tokens(self) -> int:
        """Tokens received."""
        return sum(tokens for _, tokens in self.arrivals)

    @property
    def gaps(self) -> list[float]:
        """Seconds between two arrivals."""
        return [at - before for (before, _), (at, _) in itertools.pairwise(self.arrivals)]


def _record(sample: Sample, text: str, started: float) -> None:
    arrived_wall, arrived = time.time_ns(), time.monotonic()
    stamps = STAMP.findall(text)
    if not stamps:
        return
    if sample.ttft is None:
        sample.ttft = arrived - started
    sample.arrivals.append((arrived, len(stamps)))
    sample.relay.extend((arrived_wall - int(sent)) / 1e9 for _, sent in stamps)


async def direct(model_url: str) -> Sample:
    """One streaming request straight to the model: the baseline."""
    sample = Sample()
    body = json.dumps({"model": "bench", "stream": True,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    try:
        async with asyncio.timeout(CHAT_TIMEOUT):
            started = time.monotonic()
            async with open_lines(model_url + "/chat/completions", "POST", _JSON, body) as lines:
                async for line in lines:
                    if line.startswith("data: {"):
                        chunk = json.loads(line[6:])
                        for choice in chunk.get("choices") or []:
                            _record(sample, choice["delta"].get("content", ""), started)
                    elif line == "data: [DONE]":
                        sample.done = True
    except STREAM_ERRORS as error:
        sample.error = type(error).__name__
    return sample


async def chat(url: str, cookies: dict[str, str], token: str) -> Sample:
    """Create a session, open its event stream, send a message, read the reply to its end."""
    sample = Sample()
    browser = Browser(url, cookies)
    try:
        async with asyncio.timeout(CHAT_TIMEOUT):
            created = await browser.post_form("/chats", {"csrf_token": token})
            chat_path = urlsplit(created.headers["location"]).path
            async with open_lines(url + chat_path + "/events?after=0-0",
                                  headers={"Cookie": browser.cookie_header()}) as lines:
                started = time.monotonic()
                sent = await browser.post_form(chat_path + "/messages", {
                    "csrf_token": token, "content": "Estimate the cost"})
                sample.send = time.monotonic() - started
                if sent.status != 303:
                    sample.error = f"send {sent.status}"
                    return sample
                await _read_reply(lines, sample, started)
    except (*STREAM_ERRORS, KeyError) as error:
        sample.error = type(error).__name__
    finally:
        browser.close()
    return sample


async def _read_reply(lines, sample: Sample, started: float) -> None:
    event = None
    async for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "reply.delta":
            _record(sample, json.loads(line[6:])["text"], started)
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
    all_streaming_s: float  # how long every chat was streaming at once
    all_streaming_tokens_per_s: float  # tokens delivered meanwhile, per second
    all_streaming_gap_p99: float

    @classmethod
    def median_of(cls, runs: list[Summary]) -> Summary:
        """Runs of one scenario together: chats and errors added up, every other number the
        median over the runs."""
        return cls(**{item.name: _median_or_total(item.name, [getattr(run, item.name)
                                                              for run in runs])
                      for item in fields(cls)})

    @classmethod
    def of(cls, samples: list[Sample]) -> Summary:
        """Summarise samples; tokens/s counts from the first token seen to the last, and again
        over the time when every chat was streaming (from the last chat's first token to the
        first chat's last one)."""
        ttft = [s.ttft for s in samples if s.ttft is not None]
        send = [s.send for s in samples if s.send is not None]
        firsts = [s.arrivals[0][0] for s in samples if s.arrivals]
        lasts = [s.arrivals[-1][0] for s in samples if s.arrivals]
        seconds = max(lasts) - min(firsts) if firsts and max(lasts) > min(firsts) else float("nan")
        relay = [r for s in samples for r in s.relay]
        gaps = [g for s in samples for g in s.gaps]
        window = (max(firsts), min(lasts)) if len(firsts) == len(samples) and lasts else (0, 0)
        together = window[1] - window[0]
        in_window = [(at, tokens, at - before) for s in samples
                     for (before, _), (at, tokens) in itertools.pairwise(s.arrivals)
                     if window[0] < at <= window[1]]
        return cls(len(samples), sum(s.done for s in samples), [s.error for s in samples if s.error],
                   statistics.median(ttft) if ttft else float("nan"), percentile(ttft, 99),
                   percentile(send, 50), percentile(send, 99),
                   percentile(relay, 50), percentile(relay, 99), percentile(gaps, 99),
                   sum(s.tokens for s in samples) / seconds, together,
                   sum(tokens for _, tokens, _ in in_window) / together if together > 0
                   else float("nan"),
                   percentile([gap for _, _, gap in in_window], 99))


def _median_or_total(name: str, values: list):
    if name in ("chats", "completed"):
        return sum(values)
    if name == "errors":
        return [error for errors in values for error in errors]
    return statistics.median(values)


async def run_many(factory, count: int, ramp: float = 0.0) -> list[Sample]:
    """Run `count` coroutines from `factory()` together, their starts spread evenly over `ramp`
    seconds; their samples."""

    async def started_after(delay: float) -> Sample:
        await asyncio.sleep(delay)
        return await factory()

    return list(await asyncio.gather(*(started_after(i * ramp / count) for i in range(count))))
