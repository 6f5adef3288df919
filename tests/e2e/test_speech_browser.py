"""Replies read aloud in Chromium: Listen on a finished reply plays it inline; with "Read replies
aloud automatically" a reply finishing live is played without a click. On a phone-sized page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import ask, sign_in

REPLY = ["Moving the servers", " to the cloud costs", " about four hundred dollars a month."]
PLAYABLE = """audio => audio.readyState >= 1 && audio.duration > 0.5 && audio.src.length > 0"""


def playing(page, audio) -> None:
    """Wait until `audio` has loaded playable sound and is playing it."""
    page.wait_for_function(f"a => ({PLAYABLE})(a) && !a.paused && a.currentTime > 0",
                           arg=audio.element_handle(), timeout=30000)


def test_listen_and_read_aloud(browser, live_server, make_user, llm, run_worker):
    make_user("cara@example.com", "Cara Consultant")
    llm.reset(tokens=REPLY, delay=0.1)  # the page sees each reply unfinished first
    run_worker(burst=False)
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 800},
                                  has_touch=True, is_mobile=True)
    context.set_default_timeout(30000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, "cara@example.com")
    page.get_by_role("link", name="New chat").first.click()
    page.get_by_role("button", name="Start chat").click()
    page.wait_for_url(re.compile(r"/chats/[0-9a-f-]{36}$"))
    chat_url = page.url
    ask(page, "What would the cloud cost?")
    reply = page.locator(".msg-assistant").last
    expect(reply).to_have_class(re.compile("status-done"))
    expect(reply.locator("audio")).to_have_count(0)  # nothing plays unasked

    reply.get_by_role("button", name="Listen").click()
    audio = reply.locator("audio")
    expect(audio).to_have_count(1)
    playing(page, audio)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_role("link", name="Voice").click()
    page.get_by_label("Read replies aloud automatically").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Voice settings saved.")).to_be_visible()
    expect(page.get_by_label("Read replies aloud automatically")).to_be_checked()

    page.goto(chat_url)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    ask(page, "And the risks?")
    second = page.locator(".msg-assistant").nth(1)
    expect(second).to_have_class(re.compile("status-done"))
    playing(page, second.locator("audio"))  # no click
    expect(page.locator(".msg-assistant").first.locator("audio")).to_have_count(0)
    context.close()
    assert errors == []
