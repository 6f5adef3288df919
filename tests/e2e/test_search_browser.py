"""Search in Chromium: results as you type on a phone, a hit opening the chat at its message,
and the search inside a chat jumping to the message found."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, User


def long_chat(app, name: str, client_name: str, hit: str) -> tuple[str, int]:
    """A chat of Cara's with 40 messages, `hit` the 10th; its path and the hit's id."""
    with app.app_context():
        cara = db.session.scalar(db.select(User).filter_by(email="cara@example.com"))
        chat = ChatSession(owner_id=cara.id, name=name, client_name=client_name, context={})
        db.session.add(chat)
        db.session.flush()
        texts = [f"Filler message number {i} about nothing in particular." for i in range(40)]
        texts[9] = hit
        rows = [ChatMessage(session_id=chat.id, seq=i + 1, sender="user", author="Cara",
                            content=text) for i, text in enumerate(texts)]
        db.session.add_all(rows)
        db.session.commit()
        return f"/chats/{chat.id}", rows[9].id


def shows_the_message(page, message_id: int) -> None:
    """The page was opened at the message (targeted and in view), not at the newest one."""
    expect(page.locator(f"#msg-{message_id}")).to_be_in_viewport()
    assert page.evaluate("document.querySelector(':target')?.id") == f"msg-{message_id}"
    expect(page.locator("#messages > .msg").last).not_to_be_in_viewport()


def test_on_a_phone_results_follow_the_typing_and_a_tap_opens_the_chat_at_the_hit(
        cara_on_a_phone, app):
    page = cara_on_a_phone
    chat, hit = long_chat(app, "Platform kickoff", "Acme", "We move the shop to Kubernetes.")
    long_chat(app, "Other meeting", "Globex", "Kubernetes again, for Globex.")
    page.get_by_label("Search your chats").fill("kube")
    page.get_by_label("Search your chats").press("Enter")  # the top bar's box: the search page
    page.wait_for_url("**/search?q=kube")
    expect(page.locator(".hit")).to_have_count(2)

    page.evaluate("window.notReloaded = true")
    box = page.get_by_label("Search for")
    box.fill("")
    box.press_sequentially("platf", delay=40)  # no Enter: the results follow the typing
    expect(page.locator(".hit")).to_have_count(1)
    expect(page.locator(".hit mark")).to_have_text("Platform")
    page.wait_for_url(re.compile(r"q=platf"))  # the address can be shared, back works
    assert page.evaluate("window.notReloaded") is True

    box.fill("kubernetes")
    expect(page.locator(".hit")).to_have_count(2)
    page.get_by_label("Client").select_option("Acme")  # a filter updates the results too
    expect(page.locator(".hit")).to_have_count(1)
    expect(page.locator(".hit .snippet mark")).to_have_text("Kubernetes")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.locator(".hit a").tap()
    page.wait_for_url(re.compile(rf"{chat}\?around={hit}#msg-{hit}$"))
    shows_the_message(page, hit)
    page.go_back()
    expect(page.get_by_label("Search for")).to_have_value("kubernetes")
    expect(page.locator(".hit")).to_have_count(1)


def test_a_bad_date_range_is_explained_in_the_form(cara_on_a_phone, app):
    page = cara_on_a_phone
    long_chat(app, "Dated", "Acme", "invoice")
    page.goto("/search?q=invoice")
    expect(page.locator(".hit")).to_have_count(1)
    page.get_by_label("From").fill("2026-05-02")
    page.get_by_label("To").fill("2026-05-01")
    expect(page.get_by_role("alert")).to_have_text("The “from” date must not be after the “to” date.")
    expect(page.locator(".hit")).to_have_count(0)


def test_searching_inside_a_chat_jumps_to_the_message(cara_on_a_phone, app):
    page = cara_on_a_phone
    chat, hit = long_chat(app, "Design review", "Acme", "The cache invalidation plan.")
    page.goto(chat)
    expect(page.locator("#messages > .msg").last).to_be_in_viewport()  # opens at the newest
    page.locator("summary", has_text="Search this chat").tap()
    page.get_by_label("Words to find in this chat").press_sequentially("invalid", delay=40)
    result = page.locator("#session-hits .hit")
    expect(result).to_have_count(1)
    expect(result.locator("mark")).to_have_text("invalidation")
    result.locator("a").tap()
    page.wait_for_url(re.compile(rf"\?around={hit}#msg-{hit}$"))
    shows_the_message(page, hit)


def test_more_results_adds_the_next_page_below(cara_on_a_phone, app):
    page = cara_on_a_phone
    long_chat(app, "Filler talk", "Acme", "the hit")  # the chat's name and 39 fillers match
    page.goto("/search?q=filler")
    expect(page.locator(".hit")).to_have_count(20)
    page.get_by_role("link", name="More results").tap()
    expect(page.locator(".hit")).to_have_count(40)
    expect(page.get_by_role("link", name="More results")).to_have_count(0)
    assert page.url.endswith("/search?q=filler")  # the page stays where it was
