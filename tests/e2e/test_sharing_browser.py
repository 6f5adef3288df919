"""Export and share on a phone: a download from the chat's menu, a link made and copied, read by
someone without an account, then revoked."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import ask
from tests.e2e.test_chat_browser import start_chat


def test_a_consultant_on_a_phone_exports_shares_and_revokes(cara_on_a_phone, browser,
                                                              live_server, llm):
    page = cara_on_a_phone
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    start_chat(page, client_name="Acme Corp")
    chat_url = page.url
    ask(page, "Which risks should we raise?")
    expect(page.locator(".msg-assistant")).to_have_class(re.compile("status-done"))
    answer = page.locator(".msg-assistant .body").inner_text()

    page.get_by_text("Export & share").click()
    notes = page.get_by_role("link", name="Client notes as Markdown")
    expect(notes).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    with page.expect_download() as download:
        notes.click()
    assert re.fullmatch(r"which-risks-should-we-raise-client-notes-\d{4}-\d\d-\d\d\.md",
                        download.value.suggested_filename)
    text = Path(download.value.path()).read_text()
    assert "- **Client:** Acme Corp" in text and "Which risks should we raise?" in text
    assert answer in text

    page.get_by_role("link", name="Share a read-only link…").click()
    page.get_by_label("Link expires").select_option(label="in 1 day")
    page.get_by_role("button", name="Create link").click()
    link = page.get_by_label("Shared link")
    expect(link).to_have_value(re.compile(re.escape(live_server) + r"/s/[A-Za-z0-9_-]{43}$"))
    shared_url = link.input_value()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == shared_url
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    ask_later = page.context.new_page()  # the owner goes on in the chat after sharing
    ask_later.goto(chat_url)
    ask(ask_later, "Internal: what margin do we take?")
    expect(ask_later.locator(".msg-assistant").last).to_have_class(re.compile("status-done"))

    visitor = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True,
                                  has_touch=True)
    try:
        reader = visitor.new_page()
        assert reader.goto(shared_url).status == 200
        expect(reader.get_by_role("heading", name="Which risks should we raise?")).to_be_visible()
        expect(reader.locator(".msg-user")).to_have_text(re.compile("Which risks should we raise"))
        expect(reader.locator(".msg-assistant .body")).to_have_text(answer)
        expect(reader.locator(".context-card")).to_contain_text("Acme Corp")
        expect(reader.get_by_text("Internal: what margin")).to_have_count(0)
        expect(reader.get_by_role("button", name="Sign out")).to_have_count(0)
        expect(reader.get_by_text("cara@example.com")).to_have_count(0)
        assert reader.evaluate("document.documentElement.scrollWidth") <= 390

        page.get_by_role("button", name=re.compile(r"^Revoke link")).click()
        expect(page.get_by_text("Link revoked: it no longer opens.")).to_be_visible()
        expect(page.locator(".share-links")).to_contain_text("revoked")
        expect(page.get_by_role("button", name=re.compile(r"^Revoke link"))).to_have_count(0)

        assert reader.reload().status == 404
        expect(reader.get_by_role("heading", name="This link does not work")).to_be_visible()
        expect(reader.get_by_text("Which risks should we raise?")).to_have_count(0)
    finally:
        visitor.close()
