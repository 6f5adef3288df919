"""Organising chats on a phone (Chromium, 360 px): pin, archive, delete with Undo, and a list
that loads its next page as it is scrolled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from chatapp.extensions import db
from chatapp.models import ChatSession, User


def chats_for(app, email: str, names: list[str]) -> None:
    """Idle chats of the user `email`, the first name the most recently active."""
    with app.app_context():
        owner = db.session.scalar(db.select(User).filter_by(email=email))
        now = datetime.now(UTC)
        db.session.add_all(ChatSession(owner_id=owner.id, name=name, context={}, status="idle",
                                       last_activity_at=now - timedelta(minutes=minutes))
                           for minutes, name in enumerate(names))
        db.session.commit()


def menu_action(page, chat: str, action: str) -> None:
    """Open a row's menu (unless it is open) and tap one of its actions."""
    row = page.locator("#session-list li", has_text=chat)
    if row.locator("details").get_attribute("open") is None:
        page.get_by_label(f"Actions for {chat}").tap()
    row.get_by_role("button" if action != "Delete" else "link", name=action, exact=True).tap()


def test_pin_archive_and_delete_with_undo_on_a_phone(cara_on_a_phone, app):
    page = cara_on_a_phone
    chats_for(app, "cara@example.com", ["Alpha", "Beta", "Gamma"])
    page.goto("/chats")
    names = page.locator("#session-list > li .name")
    expect(names).to_have_text(["Alpha", "Beta", "Gamma"])
    page.evaluate("window.notReloaded = true")

    menu_action(page, "Gamma", "Pin")
    expect(names).to_have_text(["Pinned Gamma", "Alpha", "Beta"])

    menu_action(page, "Beta", "Archive")
    expect(names).to_have_text(["Pinned Gamma", "Alpha"])
    expect(page.locator("#flash")).to_contain_text("“Beta” archived.")

    page.once("dialog", lambda dialog: dialog.accept())
    menu_action(page, "Alpha", "Delete")
    undo = page.locator("#session-list li", has_text="Deleted “Alpha”.")
    expect(undo).to_be_visible()
    assert page.evaluate("window.notReloaded") is True  # all of it in place, no page load
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    undo.get_by_role("button", name="Undo").tap()
    expect(names).to_have_text(["Pinned Gamma", "Alpha"])

    page.once("dialog", lambda dialog: dialog.dismiss())  # a change of mind deletes nothing
    menu_action(page, "Alpha", "Delete")
    expect(names).to_have_text(["Pinned Gamma", "Alpha"])

    page.once("dialog", lambda dialog: dialog.accept())
    menu_action(page, "Alpha", "Delete")
    expect(undo).to_be_visible()
    expect(undo).to_have_count(0, timeout=20000)  # gone after DELETE_UNDO_SECONDS (10)
    page.reload()
    expect(names).to_have_text(["Pinned Gamma"])

    page.get_by_role("link", name="Archived").tap()
    expect(names).to_have_text(["Beta"])
    menu_action(page, "Beta", "Unarchive")
    expect(names).to_have_count(0)
    page.get_by_role("link", name="Chats", exact=True).last.tap()
    expect(names).to_have_text(["Pinned Gamma", "Beta"])


def test_archive_and_pin_from_the_chat_header(cara_on_a_phone, app):
    page = cara_on_a_phone
    chats_for(app, "cara@example.com", ["Alpha", "Beta"])
    page.goto("/chats")
    page.get_by_role("link", name="Beta").tap()
    header = page.locator("#chat-organise")
    header.get_by_role("button", name="Pin").tap()
    expect(header).to_contain_text("Pinned")
    header.get_by_role("button", name="Archive").tap()
    expect(header).to_contain_text("Archived")
    expect(header.get_by_role("button", name="Unarchive")).to_be_visible()
    page.goto("/chats?view=archived")
    expect(page.locator("#session-list > li .name")).to_have_text(["Active Beta"])  # (opened)


def test_scrolling_to_the_end_of_the_list_loads_the_next_page(cara_on_a_phone, app):
    page = cara_on_a_phone
    chats_for(app, "cara@example.com", [f"Meeting {i:02}" for i in range(60)])
    page.goto("/chats")
    rows = page.locator("#session-list > li.session-row")
    expect(rows).to_have_count(50)  # SESSIONS_PER_PAGE
    expect(page.get_by_text("Meeting 59")).to_have_count(0)
    page.get_by_role("link", name="More chats").scroll_into_view_if_needed()
    expect(rows).to_have_count(60)
    expect(rows.last).to_contain_text("Meeting 59")
    expect(page.get_by_role("link", name="More chats")).to_have_count(0)


def test_a_page_open_on_a_chat_deleted_elsewhere_says_so(cara_on_a_phone, app):
    page = cara_on_a_phone
    chats_for(app, "cara@example.com", ["Alpha"])
    page.goto("/chats")
    page.get_by_role("link", name="Alpha").tap()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    chat = page.url
    token = page.locator("#composer input[name=csrf_token]").input_value()
    other_tab = page.context.new_page()
    other_tab.goto(chat)
    other_tab.request.post(chat + "/delete", form={"csrf_token": token})
    note = page.locator("#chat-ended")
    expect(note).to_contain_text("This chat was deleted")
    expect(note.get_by_role("link", name="Back to your chats")).to_be_visible()
    other_tab.request.post(chat + "/restore", form={"csrf_token": token})  # Undo, in time
    expect(note).not_to_contain_text("deleted")
