"""The page through a killed web process and a restarted Redis: no gap, no duplicate, no loss."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import messages_of
from tests.e2e.conftest import ask, sign_in
from tests.services import wait_for

TOKENS = [f" word{i}" for i in range(120)]
FULL_TEXT = "".join(TOKENS).strip()


def open_chat_and_ask(page, question: str):
    page.get_by_role("link", name="New chat").first.click()
    page.get_by_role("button", name="Start chat").click()
    page.wait_for_url(re.compile(r"/chats/[0-9a-f-]{36}$"))
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    ask(page, question)
    reply = page.locator(".msg-assistant")
    expect(reply.locator(".body")).to_contain_text("word5")
    return reply


def test_web_process_killed_mid_stream(browser, private_stack, make_user, llm):
    make_user("cara@example.com", "Cara Consultant")
    llm.reset(tokens=TOKENS, delay=0.04)
    page = browser.new_context(base_url=private_stack.base_url).new_page()
    sign_in(page, "cara@example.com")
    reply = open_chat_and_ask(page, "Keep talking")
    killed = private_stack.kill_web_workers()
    wait_for(lambda: len(set(private_stack.web_worker_pids()) - set(killed)) == 2, 30,
             "gunicorn to start new workers")
    expect(reply).to_have_class(re.compile("status-done"), timeout=30000)
    expect(reply.locator(".body")).to_have_text(FULL_TEXT)  # nothing missing, nothing twice
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    page.context.close()


def test_redis_restarted_mid_stream(browser, private_stack, make_user, llm, app):
    make_user("cara@example.com", "Cara Consultant")
    llm.reset(tokens=TOKENS, delay=0.05)
    page = browser.new_context(base_url=private_stack.base_url).new_page()
    sign_in(page, "cara@example.com")
    reply = open_chat_and_ask(page, "Keep talking")
    chat_url = page.url.replace(private_stack.base_url, "")
    private_stack.kill_redis()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "reconnecting")
    # the worker gives up on the reply (its next write fails) and saves it failed in SQL; it
    # announces the end once Redis is back
    wait_for(lambda: messages_of(app, chat_url)[1].status == "failed", 30,
             "the worker to fail the reply")
    private_stack.start_redis()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=30000)
    expect(reply).to_have_class(re.compile("status-failed"), timeout=30000)
    expect(reply.get_by_role("alert")).to_contain_text("lost its connection to Redis")
    saved = messages_of(app, chat_url)[1]
    assert saved.status == "failed" and saved.content.startswith(" word0 word1 word2")
    expect(reply.locator(".body")).to_have_text(saved.content.strip())  # the text is kept
    expect(reply.get_by_role("button", name="Retry")).to_be_visible()
    page.context.close()
