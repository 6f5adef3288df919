"""The composer's slash menu: "/" offers the quick actions, filtered as you type, picked with
the keyboard (or a tap on a phone); the pick sends the quick action and its reply streams."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.test_chat_browser import start_chat


def test_slash_menu_from_the_keyboard(page, make_user, llm, run_worker):
    make_user("cara@example.com", "Cara Consultant")
    run_worker(burst=False)
    sign_in(page, "cara@example.com")
    start_chat(page, client_name="Acme")
    box = page.get_by_role("combobox", name="Message")
    menu = page.get_by_role("listbox", name="Quick actions")
    expect(box).to_have_attribute("aria-expanded", "false")

    box.press_sequentially("/")
    expect(menu).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = menu.get_by_role("option")
    expect(options).to_have_text(["Cost estimate", "Best practices", "Architecture review",
                                  "Risks", "Summarize", "Follow-up email"])
    selected = menu.locator("[aria-selected=true]")
    expect(selected).to_have_text("Cost estimate")
    box.press("ArrowDown")
    expect(selected).to_have_text("Best practices")
    expect(box).to_have_attribute("aria-activedescendant", "slash-option-1")
    box.press("ArrowUp")
    box.press("ArrowUp")  # round to the last one
    expect(selected).to_have_text("Follow-up email")

    box.press("Escape")
    expect(menu).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_value("/")
    expect(page.locator(".msg")).to_have_count(0)  # nothing sent

    box.press_sequentially("ri")
    expect(options).to_have_text(["Risks"])
    box.press("Enter")
    expect(box).to_have_value("")
    expect(menu).to_be_hidden()
    expect(page.locator(".msg-user .body")).to_have_text(re.compile(r"^List the main risks for Acme"))
    expect(page.locator(".msg-assistant")).to_have_class(re.compile("status-done"), timeout=30000)
    assert llm.requests[-1]["messages"][-1]["content"].startswith("List the main risks for Acme")

    box.press_sequentially("/nothing like it")
    expect(menu).to_be_hidden()  # no match, no menu: Enter sends the text as typed


def test_slash_menu_option_tapped_on_a_phone(cara_on_a_phone, llm):
    page = cara_on_a_phone
    start_chat(page, client_name="Acme")
    page.get_by_label("Message").press_sequentially("/fol")
    page.get_by_role("option", name="Follow-up email").tap()
    expect(page.locator(".msg-user .body")).to_contain_text("Draft a short follow-up email to Acme")
    expect(page.locator(".msg-assistant")).to_have_class(re.compile("status-done"), timeout=30000)
    expect(page.get_by_label("Message")).to_have_value("")
