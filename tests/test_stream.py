"""The SSE endpoint under gunicorn + gevent: framing, snapshot, resume without gap or duplicate."""

from __future__ import annotations

import re
import time

import httpx
import pytest
import redis

from chatapp.services.events import EVENTS_KEY
from chatapp.stream import format_sse
from tests.conftest import PASSWORD


def test_sse_frames_keep_leading_spaces_and_split_lines():
    frame = format_sse(" world\nsecond line\n", event="reply.delta", event_id="17-0")
    assert frame == ("id: 17-0\nevent: reply.delta\ndata:  world\ndata: second line\ndata: \n\n")
    assert format_sse("") == "data: \n\n"  # an event always has a data line
    assert format_sse("a\r\nb\rc") == "data: a\ndata: b\ndata: c\n\n"


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


def read_until(url, client, *, until: str, headers=None, limit=500) -> list[dict]:
    """Open the stream and collect events up to and including the first of type `until`."""
    collected = []
    deadline = time.monotonic() + 30
    with client.stream("GET", url, headers=headers or {}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        for frame in parse_sse(_before(deadline, response.iter_lines())):
            collected.append(frame)
            if frame.get("event") == until or len(collected) >= limit:
                break
    return collected


def _before(deadline: float, lines):
    for line in lines:  # keepalive comments arrive every 15 s, so this check runs
        assert time.monotonic() < deadline, "the expected event did not arrive within 30 s"
        yield line


@pytest.fixture
def browser_like(live_server, consultant):
    """An HTTP client signed in on the live server, with a chat whose reply is pending."""
    with httpx.Client(base_url=live_server, timeout=httpx.Timeout(30, read=30)) as web:
        token = _csrf(web.get("/login").text)
        assert web.post("/login", data={"csrf_token": token, "email": consultant.email,
                                        "password": PASSWORD}).status_code == 302
        token = _csrf(web.get("/chats/new").text)
        chat = web.post("/chats", data={"csrf_token": token}).headers["location"]
        response = web.post(chat + "/messages", data={"csrf_token": token, "content": "Hi"})
        assert response.status_code == 303
        yield web, chat


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_fresh_connection_gets_a_snapshot_then_the_tail(browser_like, llm, run_worker):
    web, chat = browser_like
    llm.reset(tokens=["<b>bold?</b>", " leading", "\nnew line"], delay=0.05)
    with web.stream("GET", chat + "/events") as response:
        frames = parse_sse(response.iter_lines())
        snapshot = next(frames)
        assert snapshot["event"] == "snapshot" and snapshot["id"]
        assert snapshot["data"] == '{"replies": {"2": ""}}'
        run_worker()
        tail = []
        for frame in frames:
            tail.append(frame)
            if frame["event"] == "reply.done":
                break
    assert [f["event"] for f in tail] == ["reply.delta"] * 3 + ["reply.done"]
    assert '"text":"\\nnew line"' in tail[2]["data"]
    ids = [snapshot["id"]] + [f["id"] for f in tail]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-")))) and len(set(ids)) == 5


def test_resume_by_last_event_id_has_no_gap_and_no_duplicate(browser_like, llm, run_worker):
    web, chat = browser_like
    llm.reset(tokens=[f" t{i}" for i in range(30)], delay=0.03)
    assert run_worker().wait(60) == 0
    full = read_until(chat + "/events?after=0-0", web, until="reply.done")
    kinds = [f["event"] for f in full]
    assert kinds[:2] == ["message.created"] * 2 and kinds[-1] == "reply.done"
    assert set(kinds[2:-1]) == {"reply.delta"} and len(kinds) > 10
    for cut in (1, len(full) // 2, len(full) - 2):
        resumed = read_until(chat + "/events", web, until="reply.done",
                             headers={"Last-Event-ID": full[cut]["id"]})
        assert resumed == full[cut + 1:]


def test_html_format_swaps_escaped_text_into_the_reply(browser_like, llm, run_worker):
    web, chat = browser_like
    llm.reset(tokens=[" <script>x</script>", "\nline"])
    assert run_worker().wait(60) == 0
    frames = read_until(chat + "/events?fmt=html&after=0-0", web, until="(none)", limit=5)
    assert "event" not in frames[2]  # unnamed: htmx swaps it
    assert frames[2]["data"] == ('<hx-partial hx-target="#msg-2-body" hx-swap="beforeend"> '
                                 "&lt;script&gt;x&lt;/script&gt;</hx-partial>")
    assert frames[3]["data"] == ('<hx-partial hx-target="#msg-2-body" hx-swap="beforeend">\n'
                                 "line</hx-partial>")
    assert frames[4]["data"].startswith('<hx-upsert hx-target="#messages"')
    assert "status-done" in frames[4]["data"] and "<script>" not in frames[4]["data"]


def test_an_id_older_than_the_trimmed_log_gets_a_reset(browser_like, llm, run_worker, redis_url):
    web, chat = browser_like
    assert run_worker().wait(60) == 0
    full = read_until(chat + "/events?after=0-0", web, until="reply.done")
    key = EVENTS_KEY.format(chat.rsplit("/", 1)[-1])
    redis.Redis.from_url(redis_url).xtrim(key, maxlen=2, approximate=False)
    frames = read_until(chat + "/events", web, until="reset", headers={"Last-Event-ID": full[0]["id"]})
    assert frames[0]["event"] == "reset" and frames[0]["id"] == full[-1]["id"]


@pytest.mark.parametrize("headers, query", [
    ({"Last-Event-ID": "not-an-id"}, ""),
    ({}, "?after=12abc"),
    ({}, "?fmt=xml"),
])
def test_bad_stream_arguments_are_400(browser_like, headers, query):
    web, chat = browser_like
    response = web.get(chat + "/events" + query, headers={**headers, "Accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
