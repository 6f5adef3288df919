"""Quick actions: a tap sends the action's prompt, with the client's name, as a message."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import csrf_from, messages_of, new_chat
from tests.e2e.test_chat_browser import start_chat

HTMX = {"HX-Request": "true"}


def tap(client, chat: str, index: int, headers=None):
    token = csrf_from(client.get(chat).get_data(as_text=True))
    return client.post(f"{chat}/actions/{index}", data={"csrf_token": token},
                       headers=headers or HTMX)


def test_a_tap_sends_the_prompt_and_a_second_waits_for_the_reply(client, consultant, app):
    chat = new_chat(client, client_name="Acme")
    page = client.get(chat).get_data(as_text=True)
    assert [label for label in re.findall(r'class="chip"[^>]*>([^<]+)</button>', page)] == [
        "Cost estimate", "Best practices", "Architecture review", "Risks", "Summarize",
        "Follow-up email"]
    sent = tap(client, chat, 3)
    assert sent.status_code == 200 and "List the main risks for Acme" in sent.get_data(as_text=True)
    again = tap(client, chat, 3)
    assert again.status_code == 409 and "still answering" in again.get_data(as_text=True)
    messages = messages_of(app, chat)
    assert len(messages) == 2 and messages[0].content.startswith("List the main risks for Acme")
    assert tap(client, chat, 99).status_code == 404
    assert tap(client, chat, 0, headers={}).status_code == 409  # a plain form: the page, 409


def test_a_tap_on_a_phone_sends_the_prompt_and_the_reply_streams(cara_on_a_phone, llm):
    page = cara_on_a_phone
    start_chat(page, client_name="Acme")
    page.get_by_role("button", name="Follow-up email").tap()
    expect(page.locator(".msg-user .body")).to_contain_text("Draft a short follow-up email to Acme")
    expect(page.locator(".msg-assistant")).to_have_class(re.compile("status-done"))
    assert llm.requests[-1]["messages"][-1]["content"].startswith("Draft a short follow-up email")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
