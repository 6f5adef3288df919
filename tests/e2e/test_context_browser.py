"""The chat's header on a phone: renamed and its context card edited in place, saved without a
reload, the context given to the model."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import ask
from tests.e2e.test_chat_browser import start_chat


def test_the_card_is_edited_in_place_on_a_phone_and_reaches_the_model(cara_on_a_phone, llm):
    page = cara_on_a_phone
    start_chat(page, client_name="Acme Corp")
    url = page.url
    page.get_by_role("link", name="Rename this chat").click()
    page.get_by_label("Chat name").fill("Acme architecture review")
    page.get_by_label("Chat name").press("Enter")
    expect(page.locator("#chat-title")).to_have_text("Acme architecture review")
    card = page.locator("#context-card")
    card.get_by_role("link", name="Edit context").click()
    page.get_by_label("Meeting type").fill("Architecture review")
    page.get_by_label("Azure").check()
    page.get_by_label("Other fields").fill("Budget: 200k EUR")
    page.get_by_role("button", name="Save context").click()
    expect(card).to_contain_text("Architecture review")
    expect(card).to_contain_text("Azure")
    expect(card.get_by_role("link", name="Edit context")).to_be_visible()
    assert page.url == url  # in place, no page load
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    ask(page, "What should we check first?")
    expect(page.locator(".msg-assistant")).to_have_class(re.compile("status-done"))
    system = llm.requests[-1]["messages"][0]["content"]
    assert "- Client: Acme Corp" in system and "- Cloud providers: Azure" in system
    assert "- Budget: 200k EUR" in system
    card.get_by_role("link", name="Edit context").click()
    page.get_by_label("Other fields").fill("no colon here")
    page.get_by_role("button", name="Save context").click()
    expect(page.get_by_role("alert")).to_have_text("Custom field line 1: write it as “Name: value”.")
    page.get_by_role("link", name="Cancel").click()
    expect(card).to_contain_text("200k EUR")
