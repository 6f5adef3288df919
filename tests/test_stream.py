"""The SSE endpoint under gunicorn + gevent: framing, snapshot, resume without gap or duplicate."""

from __future__ import annotations

import httpx
import pytest
import redis

from chatapp.services.events import EVENTS_KEY
from chatapp.stream import format_sse
from tests.conftest import chat_on
from tests.services import wait_for
from tests.sse_client import after_ready, parse_sse, read_until


def test_sse_frames_keep_leading_spaces_and_split_lines():
    frame = format_sse(" world\nsecond line\n", event="reply.delta", event_id="17-0")
    assert frame == ("id: 17-0\nevent: reply.delta\ndata:  world\ndata: second line\ndata: \n\n")
    assert format_sse("") == "data: \n\n"  # an event always has a data line
    assert format_sse("a\r\nb\rc") == "data: a\ndata: b\ndata: c\n\n"


def test_fresh_connection_gets_a_snapshot_then_the_tail(live_chat, llm, run_worker):
    web, chat = live_chat
    llm.reset(tokens=["<b>bold?</b>", " leading", "\nnew line"], delay=0.05)
    with web.stream("GET", chat + "/events") as response:
        frames = after_ready(parse_sse(response.iter_lines()))
        snapshot = next(frames)
        assert snapshot["event"] == "snapshot" and snapshot["id"]
        assert snapshot["data"] == '{"replies":{"2":""}}'
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


def test_resume_by_last_event_id_has_no_gap_and_no_duplicate(live_chat, llm, run_worker):
    web, chat = live_chat
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


def test_html_format_swaps_escaped_text_into_the_reply(live_chat, llm, run_worker):
    web, chat = live_chat
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


def test_an_id_older_than_the_trimmed_log_gets_a_reset(live_chat, llm, run_worker, redis_url):
    web, chat = live_chat
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
def test_bad_stream_arguments_are_400(live_chat, headers, query):
    web, chat = live_chat
    response = web.get(chat + "/events" + query, headers={**headers, "Accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_a_stopping_web_worker_ends_its_streams_at_once(private_stack, consultant):
    """A restart or a deploy (SIGTERM to the workers, here by a graceful reload of gunicorn) ends
    the live streams cleanly at once, instead of holding them for gunicorn's graceful_timeout
    (10 s) and then cutting them: browsers resume on a running worker straight away."""
    with chat_on(private_stack.base_url, consultant) as (web, chat):
        old_workers = set(private_stack.web_worker_pids())
        # read timeout 5 s: shorter than the graceful timeout, and no keep-alive comes before 15 s
        with web.stream("GET", chat + "/events", timeout=httpx.Timeout(30, read=5)) as response:
            frames = after_ready(parse_sse(response.iter_lines()))
            snapshot = next(frames)
            assert snapshot["event"] == "snapshot"
            private_stack.reload_web()
            assert list(frames) == []  # the stream ended, cleanly, with nothing after the snapshot
        wait_for(lambda: not old_workers & set(private_stack.web_worker_pids()), 30,
                 "the old workers to leave")
        with web.stream("GET", chat + "/events",
                        headers={"Last-Event-ID": snapshot["id"]}) as response:
            assert response.status_code == 200  # resumed on a new worker
