"""WebSocket and long-poll under gunicorn + gevent: the same events as SSE, same ids, and
refusals that say why."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import simple_websocket
from simple_websocket import ConnectionClosed

from chatapp.services.events import id_key
from tests.conftest import PASSWORD, chat_on
from tests.sse_client import read_until


class Client(simple_websocket.Client):
    """simple-websocket's client, without its one race: frames that arrive in the same read as
    the handshake's answer (a refusal's close frame often does) were left unread in the protocol
    buffer, and the server's FIN that follows made it report 1005 (no code) instead."""

    def _thread(self):
        if self._handle_events():  # the frames that came with the handshake's answer, first
            super()._thread()
        else:
            self.sock.close()


def socket_to(web, chat: str, query: str = "?fmt=json", headers: dict | None = None) -> Client:
    """A WebSocket to the chat's live events, with the HTTP client's cookies (as a page's)."""
    base = str(web.base_url).rstrip("/")
    cookie = "; ".join(f"{name}={value}" for name, value in web.cookies.items())
    # simple-websocket's client sends the Host header without the port: the page's origin, as
    # the server compares it, is the same host
    origin = "http://" + web.base_url.host
    return Client.connect(base.replace("http", "ws", 1) + chat + "/ws" + query,
                          headers={"Cookie": cookie, "Origin": origin, **(headers or {})})


def receive(ws: Client, timeout: float = 30) -> dict:
    raw = ws.receive(timeout=timeout)
    assert raw is not None, f"no frame within {timeout} s"
    return json.loads(raw)


def close_code_of(ws: Client) -> tuple[int, str]:
    """The code and reason of the close the server sends next (the frames before it skipped)."""
    deadline = time.monotonic() + 30
    with pytest.raises(ConnectionClosed) as closed:
        while time.monotonic() < deadline:
            ws.receive(timeout=1)
    return int(closed.value.reason), closed.value.message


def sse_events(web, chat: str) -> list[dict]:
    """The session's log as SSE gives it, as {id, type, data} dicts."""
    frames = read_until(chat + "/events?after=0-0", web, until="reply.done")
    return [{"id": f["id"], "type": f["event"], "data": json.loads(f["data"])} for f in frames]


def test_websocket_sends_the_log_as_sse_does_and_answers_pings(live_chat, llm, run_worker):
    web, chat = live_chat
    llm.reset(tokens=[f" w{i}" for i in range(20)], delay=0.02)
    ws = socket_to(web, chat)
    try:
        ws.send(json.dumps({"type": "resume", "after": None}))
        assert receive(ws) == {"type": "ready"}
        snapshot = receive(ws)
        assert snapshot["type"] == "snapshot" and snapshot["data"] == {"replies": {"2": ""}}
        ws.send(json.dumps({"type": "ping"}))
        assert receive(ws) == {"type": "pong"}
        run_worker()
        frames = [receive(ws)]
        while frames[-1]["type"] != "reply.done":
            frames.append(receive(ws))
    finally:
        ws.close()
    logged = [e for e in sse_events(web, chat) if id_key(e["id"]) > id_key(snapshot["id"])]
    assert frames == logged and len(frames) >= 3


def test_websocket_resumes_after_the_id_it_is_given(live_chat, llm, run_worker):
    web, chat = live_chat
    assert run_worker().wait(60) == 0
    logged = sse_events(web, chat)
    ws = socket_to(web, chat)
    try:
        ws.send(json.dumps({"type": "resume", "after": logged[1]["id"]}))
        assert receive(ws) == {"type": "ready"}
        resumed = [receive(ws) for _ in logged[2:]]
    finally:
        ws.close()
    assert resumed == logged[2:]


@pytest.mark.parametrize("case, code", [
    ("signed out", 4401), ("another site", 4403), ("not a resume", 4400), ("bad format", 4400)])
def test_websocket_refusals_say_why(live_chat, case, code):
    web, chat = live_chat
    if case == "signed out":
        web.cookies.clear()
    ws = socket_to(web, chat, "?fmt=xml" if case == "bad format" else "?fmt=json",
                   headers={"Origin": "https://elsewhere.example"} if case == "another site"
                   else None)
    if case in ("not a resume", "bad format"):  # the others are refused before any frame
        ws.send(json.dumps({"type": "hello"} if case == "not a resume" else
                           {"type": "resume", "after": None}))
    assert close_code_of(ws)[0] == code


def test_websocket_to_another_users_chat_is_refused_as_missing(live_server, live_chat,
                                                              make_user):
    _, chat = live_chat
    with chat_on(live_server, make_user("other@example.com", "Other")) as (other, _):
        ws = socket_to(other, chat)  # refused before any frame is read
        assert close_code_of(ws) == (4404, "That chat does not exist, or it is not yours.")


def test_long_poll_returns_the_log_as_sse_does(live_chat, llm, run_worker):
    web, chat = live_chat
    llm.reset(tokens=[f" w{i}" for i in range(20)], delay=0.02)
    first = web.get(chat + "/events", params={"wait": 25}).json()
    assert [e["type"] for e in first["events"]] == ["snapshot"]
    assert first["last_id"] == first["events"][0]["id"]
    run_worker()
    polled, last_id = [], first["last_id"]
    while not polled or polled[-1]["type"] != "reply.done":
        answer = web.get(chat + "/events", params={"after": last_id, "wait": 25})
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
        polled += answer.json()["events"]
        last_id = answer.json()["last_id"]
    assert polled == [e for e in sse_events(web, chat)
                      if id_key(e["id"]) > id_key(first["last_id"])]
    assert last_id == polled[-1]["id"]


def test_long_poll_with_nothing_new_answers_empty_after_its_wait(live_chat):
    web, chat = live_chat
    last_id = web.get(chat + "/events", params={"wait": 0}).json()["last_id"]
    started = time.monotonic()
    answer = web.get(chat + "/events", params={"after": last_id, "wait": 1}).json()
    assert answer == {"events": [], "last_id": last_id} and time.monotonic() - started >= 1


@pytest.mark.parametrize("wait", ["-1", "31", "soon"])
def test_long_poll_with_a_bad_wait_is_400(live_chat, wait):
    web, chat = live_chat
    answer = web.get(chat + "/events", params={"wait": wait},
                     headers={"Accept": "application/json"})
    assert answer.status_code == 400
    assert "wait must be a number of seconds" in answer.json()["error"]["message"]


def test_scripts_read_the_events_with_a_bearer_token_on_every_transport(live_chat, live_server):
    """The API's events: a script with a token (no cookie, no Origin) gets the same feeds."""
    web, chat = live_chat
    pair = httpx.post(f"{live_server}/api/v1/auth/tokens",
                      json={"email": "cara@example.com", "password": PASSWORD}).json()
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    path = "/api/v1/sessions/" + chat.rsplit("/", 1)[1]
    ws = Client.connect(live_server.replace("http", "ws", 1) + path + "/ws", headers=bearer)
    try:
        ws.send(json.dumps({"type": "resume", "after": None}))
        assert [receive(ws)["type"], receive(ws)["type"]] == ["ready", "snapshot"]
    finally:
        ws.close()
    with httpx.Client(base_url=live_server, headers=bearer, timeout=30) as script:
        frames = read_until(path + "/events", script, until="snapshot")
        assert frames[0]["event"] == "snapshot"
        polled = script.get(path + "/events", params={"wait": 0}).json()
        assert polled["events"][0]["type"] == "snapshot"
