"""The outbox in Chromium: a message sent while offline waits as "sending…" and is stored exactly
once when the network is back, also when the first answer to it is lost on the way."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import messages_of
from tests.e2e.conftest import ask, sign_in
from tests.e2e.test_chat_browser import start_chat

QUESTION = "Draft the follow-up email for Acme"


def chat_path(page, base_url: str) -> str:
    return page.url.replace(base_url, "")


def stored_once(page, app, base_url: str) -> None:
    """The message and its reply are on the page and in the database exactly once."""
    expect(page.locator(".msg-user .body")).to_have_text([QUESTION])
    expect(page.locator(".msg-outbox")).to_have_count(0)
    expect(page.locator(".msg-assistant")).to_have_class(re.compile("status-done"))
    saved = messages_of(app, chat_path(page, base_url))
    assert [(m.sender, m.content) for m in saved][:1] == [("user", QUESTION)] and len(saved) == 2


@pytest.fixture
def chat(page, make_user, run_worker, llm):
    """Cara on a new chat, with a worker writing replies."""
    make_user("cara@example.com", "Cara Consultant")
    run_worker(burst=False)
    sign_in(page, "cara@example.com")
    start_chat(page)


def test_a_message_sent_offline_goes_once_the_network_is_back(page, live_server, app, chat):
    page.context.set_offline(True)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "offline")
    ask(page, QUESTION)
    waiting = page.locator(".msg-outbox")
    expect(waiting.locator(".body")).to_have_text(QUESTION)
    expect(waiting.locator(".badge")).to_have_text("sending…")
    expect(page.get_by_label("Message")).to_have_value("")
    assert messages_of(app, chat_path(page, live_server)) == []
    page.context.set_offline(False)
    stored_once(page, app, live_server)


def test_a_lost_answer_is_retried_without_a_duplicate(page, live_server, app, chat):
    sends = []  # the body of every send that reached the network

    def lose_the_first_answer(route):
        sends.append(route.request.post_data)
        if len(sends) > 1:
            return route.continue_()
        route.fetch()  # the server stores the message...
        route.abort()  # ...but its answer never reaches the page

    page.route(re.compile(r"/messages$"), lose_the_first_answer)
    ask(page, QUESTION)
    expect(page.locator(".msg-outbox .body")).to_have_text(QUESTION)  # kept, to be sent again
    for _ in range(150):  # up to 15 s for the retry
        if len(sends) == 2:
            break
        page.wait_for_timeout(100)  # lets Playwright run the route handler meanwhile
    assert len(sends) == 2, "the kept message was not sent again"
    stored_once(page, app, live_server)
    client_id = re.search(r"client_id=([A-Za-z0-9_-]+)", sends[0])  # the form, url-encoded
    assert client_id and client_id.group(1) in sends[1]  # the retry (multipart) has the same id


def test_files_attached_offline_go_with_the_message(page, live_server, app, chat):
    page.set_input_files("#composer-file-input", [
        {"name": "fees.csv", "mimeType": "text/csv", "buffer": b"client,fee\nAcme,1200\n"}])
    expect(page.locator(".file-chip")).to_have_attribute("data-status", "clean")
    page.context.set_offline(True)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "offline")
    ask(page, QUESTION)
    waiting = page.locator(".msg-outbox")
    expect(waiting.locator(".used-files")).to_have_text("Files: fees.csv")
    expect(page.locator(".file-chip")).to_have_count(0)  # they went with the kept message
    page.context.set_offline(False)
    expect(page.locator(".msg-user .msg-file-name")).to_have_text(["fees.csv"])
    stored_once(page, app, live_server)
    assert [f["name"] for f in messages_of(app, chat_path(page, live_server))[0].meta["files"]] \
        == ["fees.csv"]
