"""Reading SSE streams in tests, as a client would."""

from __future__ import annotations

import time


def parse_sse(lines):
    """Yield {id, event, data} dicts from an iterator of SSE lines (comments skipped)."""
    frame: dict = {}
    for line in lines:
        if line == "":
            if "data" in frame or "event" in frame:
                yield frame
            frame = {}
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "data":
                frame["data"] = frame["data"] + "\n" + value if "data" in frame else value
            else:
                frame[field] = value


def after_ready(frames):
    """The frames of a stream after its first, which must be the id-less `ready` event."""
    assert next(frames) == {"event": "ready", "data": "{}"}
    return frames


def read_until(url, client, *, until: str, headers=None, limit=500) -> list[dict]:
    """Open the stream and collect the events after `ready` up to and including the first of
    type `until`."""
    collected = []
    deadline = time.monotonic() + 30
    with client.stream("GET", url, headers=headers or {}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        for frame in after_ready(parse_sse(_before(deadline, response.iter_lines()))):
            collected.append(frame)
            if frame.get("event") == until or len(collected) >= limit:
                break
    return collected


def _before(deadline: float, lines):
    for line in lines:  # keepalive comments arrive every 15 s, so this check runs
        assert time.monotonic() < deadline, "the expected event did not arrive within 30 s"
        yield line
