"""Typing and presence in Chromium: the consultant's page shows an admin watching the session and
typing, both fading by themselves, and the consultant's typing reaches the admin."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.conftest import chat_on
from tests.e2e.conftest import sign_in
from tests.e2e.test_chat_browser import start_chat
from tests.test_signals import repeat_until, signal
from tests.test_transports import receive, socket_to


def test_the_page_shows_who_watches_and_types_and_tells_its_own_typing(page, live_server,
                                                                      make_user):
    make_user("cara@example.com", "Cara Consultant")
    admin_user = make_user("ada@example.com", "Ada Admin", role="admin")
    sign_in(page, "cara@example.com")
    start_chat(page)
    chat = page.url.replace(live_server, "")
    presence, typing = page.locator("#presence"), page.locator("#typing")
    with chat_on(live_server, admin_user) as (admin, _):
        watching = socket_to(admin, chat, "?fmt=json&viewer=admin-console-1")
        watching.send(json.dumps({"type": "resume", "after": None}))
        expect(presence).to_have_text("Ada Admin · online")
        repeat_until(lambda: signal(admin, chat, type="typing", on="true"),
                     lambda: typing.inner_text() == "Ada Admin is typing…")
        expect(typing).to_have_text("", timeout=10000)  # no "stopped" came: it fades (6 s)
        assert receive(watching)["type"] == "ready"
        page.get_by_label("Message").press_sequentially("Hello Ada")
        frames = [receive(watching)]
        while frames[-1]["type"] != "typing":
            frames.append(receive(watching))
        assert frames[-1] == {"id": "", "type": "typing", "data": {
            "user_id": 1, "name": "Cara Consultant", "on": True, "ttl": 6}}
        while frames[-1]["type"] != "typing" or frames[-1]["data"]["on"]:
            frames.append(receive(watching, timeout=10))  # 4 s without a key: stopped
        watching.close()
        expect(presence).to_have_text("Ada Admin · offline")
