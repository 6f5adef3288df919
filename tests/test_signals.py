"""Typing and presence under gunicorn + gevent: they reach the other watchers of a session over
SSE, WebSocket and long-poll at once, are never logged, and never come back to their sender."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
import redis

from chatapp.services.events import EVENTS_KEY
from tests.conftest import chat_on, csrf_from
from tests.sse_client import after_ready, parse_sse
from tests.test_transports import receive, socket_to


def signal(web, chat: str, **form) -> httpx.Response:
    token = csrf_from(web.get(chat).text)
    return web.post(chat + "/signals", data=form, headers={"X-CSRFToken": token})


@pytest.fixture
def admin_watching(live_server, live_chat, make_user):
    """An admin signed in on the live server, and the consultant's chat they watch."""
    _, chat = live_chat
    with chat_on(live_server, make_user("ada@example.com", "Ada Admin", role="admin")) as (admin, _):
        yield admin, chat


def read_signals(admin, chat: str, found: list, started: threading.Event) -> None:
    """Collect the signals (events without an id) of the admin's SSE stream into `found`, up to
    a typing-off."""
    with admin.stream("GET", chat + "/events?after=0-0") as response:
        started.set()
        for frame in after_ready(parse_sse(response.iter_lines())):
            if "id" not in frame:
                found.append({"type": frame["event"], "data": json.loads(frame["data"])})
                if found[-1]["data"].get("on") is False:
                    return


def repeat_until(send, done, seconds: float = 10) -> None:
    """Signals are not logged: one sent before the watcher's process listens to the session
    (just after its stream opened) is gone. Send until the watcher has one."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the watcher got nothing"
        assert send().status_code == 204
        time.sleep(0.1)


def test_typing_reaches_a_watcher_over_sse_and_is_not_logged(live_chat, admin_watching,
                                                            redis_url):
    web, chat = live_chat
    admin, _ = admin_watching
    started, result = threading.Event(), []
    reader = threading.Thread(target=read_signals, args=(admin, chat, result, started))
    reader.start()
    assert started.wait(10)
    repeat_until(lambda: signal(web, chat, type="typing", on="true"), lambda: result)
    assert signal(web, chat, type="typing", on="false").status_code == 204
    reader.join(10)
    assert result[0] == {"type": "typing", "data": {
        "user_id": 1, "name": "Cara Consultant", "on": True, "ttl": 6}}
    assert result[-1]["data"]["on"] is False
    logged = redis.Redis.from_url(redis_url).xrange(EVENTS_KEY.format(chat.rsplit("/", 1)[1]))
    assert logged and all(fields[b"type"] not in (b"typing", b"presence") for _, fields in logged)


def test_presence_and_typing_reach_a_watcher_over_websocket_and_long_poll(live_chat,
                                                                          admin_watching):
    web, chat = live_chat
    admin, _ = admin_watching
    ws = socket_to(admin, chat)
    try:
        ws.send(json.dumps({"type": "resume", "after": None}))
        assert receive(ws)["type"] == "ready"
        assert receive(ws)["type"] == "snapshot"
        # the consultant's page connects: online; it leaves: offline; its tab is hidden: away
        page = socket_to(web, chat, "?fmt=html&viewer=page-of-cara")
        page.send(json.dumps({"type": "resume", "after": None}))
        online = receive(ws)
        assert online == {"id": "", "type": "presence", "data": {
            "user_id": 1, "name": "Cara Consultant", "state": "online", "ttl": 40}}
        page.close()
        assert receive(ws)["data"]["state"] == "offline"
        assert signal(web, chat, type="presence", state="away", viewer="page-of-cara").status_code == 204
        away = receive(ws)
        assert (away["data"]["state"], away["data"]["ttl"]) == ("away", 300)
    finally:
        ws.close()
    last_id = admin.get(chat + "/events", params={"wait": 0}).json()["last_id"]
    answer = {}
    poll = threading.Thread(target=lambda: answer.update(admin.get(
        chat + "/events", params={"after": last_id, "wait": 10}).json()))
    poll.start()
    repeat_until(lambda: signal(web, chat, type="typing", on="true"), lambda: answer)
    poll.join(10)
    assert answer["events"][0]["type"] == "typing" and answer["events"][0]["id"] == ""
    assert answer["last_id"] == last_id  # a signal does not move the resume point


def test_a_watcher_does_not_get_its_own_signals_back(live_chat):
    web, chat = live_chat
    last_id = web.get(chat + "/events", params={"wait": 0}).json()["last_id"]
    assert signal(web, chat, type="typing", on="true").status_code == 204
    answer = web.get(chat + "/events", params={"after": last_id, "wait": 1}).json()
    assert answer["events"] == []


@pytest.mark.parametrize("form, message", [
    ({"type": "typing", "on": "maybe"}, "on must be true or false."),
    ({"type": "presence", "state": "asleep"}, "state must be one of online, away."),
    ({"type": "shout"}, "type must be typing or presence."),
])
def test_bad_signals_are_400(live_chat, form, message):
    web, chat = live_chat
    response = web.post(chat + "/signals", data=form, headers={
        "X-CSRFToken": csrf_from(web.get(chat).text), "Accept": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["message"] == message


def test_signals_to_another_consultants_chat_are_404(live_server, live_chat, make_user):
    _, chat = live_chat
    with chat_on(live_server, make_user("other@example.com", "Other")) as (other, own_chat):
        token = csrf_from(other.get(own_chat).text)
        response = other.post(chat + "/signals", data={"type": "typing", "on": "true"},
                              headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert response.status_code == 404
