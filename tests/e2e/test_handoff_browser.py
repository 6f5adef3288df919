"""Human handoff in Chromium with two browser contexts: Cara on a phone asks for help, Ada (an
admin, on a desktop) gets the alert, finds the chat flagged in the console, takes over, and they
write to each other live (typing shown both ways); Ada hands back and the assistant answers Cara
again."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import ask, sign_in
from tests.e2e.test_chat_browser import start_chat


def test_help_takeover_messages_both_ways_and_hand_back(cara_on_a_phone, page, make_user, llm):
    cara = cara_on_a_phone
    make_user("ada@example.com", "Ada Admin", role="admin")
    start_chat(cara)
    ask(cara, "Which migration path fits Acme?")
    expect(cara.locator(".msg-assistant").last).to_have_class(re.compile("status-done"))

    cara.get_by_text("Request help").click()
    cara.get_by_label("Note for the administrator (optional)").fill("Client asks for a quote")
    cara.get_by_role("button", name="Ask for help").click()
    expect(cara.locator("#handoff")).to_contain_text("Help requested: waiting for an administrator.")

    ada = page
    sign_in(ada, "ada@example.com")
    # the alert: delivered by email (the file outbox of the embedded default), linking to the
    # console, where the chat is flagged; its name opens the admin's live page
    ada.get_by_role("link", name="Alerts").click()
    alert = ada.locator("li", has_text="Cara Consultant asks for help").first
    expect(alert.locator(".badge")).to_have_text("sent", timeout=30000)
    session_id = cara.url.rsplit("/", 1)[1]
    ada.goto(f"/admin/console?session={session_id}")
    row = ada.locator(f"#console-session-{session_id}")
    expect(row.locator(".flag")).to_contain_text("Help")
    row.get_by_role("link").first.click()
    expect(ada.locator("#live-status")).to_have_attribute("data-state", "live", timeout=30000)
    expect(ada.locator("#handoff")).to_contain_text(
        "Cara Consultant asks for help: “Client asks for a quote”")
    expect(ada.locator(".msg-user .body")).to_have_text("Which migration path fits Acme?")

    ada.get_by_role("button", name="Take over").click()
    expect(ada.locator("#handoff")).to_contain_text("You have taken over this chat")
    expect(cara.locator("#handoff")).to_contain_text(
        "Ada Admin joined. The assistant is paused: Ada Admin answers your messages.")
    expect(cara.locator(".quick-actions")).to_be_hidden()  # the assistant's actions are put away

    # Cara writes: the message reaches Ada live, and the assistant stays quiet
    cara.get_by_label("Message").press_sequentially("Can you check the estimate?")
    expect(ada.locator("#typing")).to_have_text("Cara Consultant is typing…")
    cara.get_by_role("button", name="Send").click()
    expect(ada.locator(".msg-user .body").last).to_have_text("Can you check the estimate?")
    # Ada answers: Cara sees it live, under Ada's name
    ada.get_by_label("Message").press_sequentially("About 40 days")
    expect(cara.locator("#typing")).to_have_text("Ada Admin is typing…")
    ada.get_by_label("Message").fill("About 40 days, I checked with the team.")
    ada.get_by_role("button", name="Send").click()
    from_ada = cara.locator(".msg-admin").last
    expect(from_ada.locator(".author")).to_have_text("Ada Admin")
    expect(from_ada.locator(".body")).to_have_text("About 40 days, I checked with the team.")
    expect(cara.locator(".msg-assistant")).to_have_count(1)

    ada.get_by_label("Note for the assistant (optional)").fill("Quoted 40 days")
    ada.get_by_role("button", name="Hand back").click()
    expect(cara.locator("#handoff")).to_contain_text("Ada Admin handed back: the assistant answers again.")
    expect(cara.locator(".quick-actions")).to_be_visible()
    expect(ada.locator("#handoff")).to_contain_text("Ada Admin handed back")
    expect(ada.get_by_role("button", name="Take over")).to_be_visible()

    llm.reset(tokens=["Summary:", " 40", " days."])
    ask(cara, "Summarise for the client")
    reply = cara.locator(".msg-assistant").last
    expect(reply).to_have_class(re.compile("status-done"))
    expect(reply.locator(".body")).to_have_text("Summary: 40 days.")
    expect(cara.locator(".msg-assistant")).to_have_count(2)
    expect(ada.locator(".msg-assistant .body").last).to_have_text("Summary: 40 days.")
    ada.reload()
    expect(ada.locator("#timeline")).to_contain_text("Ada Admin took over (from 127.0.0.1)")
    expect(ada.locator("#timeline")).to_contain_text("Ada Admin handed back (from 127.0.0.1)")
