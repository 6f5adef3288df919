"""The admin console on a phone: a new session appears without a reload, and a filter works."""

from __future__ import annotations

from playwright.sync_api import expect

from chatapp.extensions import db
from chatapp.models import ChatSession, User
from tests.e2e.conftest import sign_in


def add_session(app, email: str, name: str, status: str = "active") -> str:
    """A session of the user with `email`, stored as the chat pages store one; its id."""
    with app.app_context():
        owner = db.session.scalar(db.select(User).filter_by(email=email))
        chat = ChatSession(owner=owner, name=name, status=status)
        db.session.add(chat)
        db.session.commit()
        return str(chat.id)


def test_an_admin_on_a_phone_sees_a_new_session_arrive_and_filters(phone, app, make_user):
    make_user("ada@example.com", "Ada Admin", role="admin")
    make_user("cara@example.com", "Cara Consultant")
    add_session(app, "cara@example.com", "Old ended chat", status="ended")
    sign_in(phone, "ada@example.com")
    phone.get_by_role("link", name="Console").click()
    rows = phone.locator("#console-live tbody tr[id^=console-session-]")
    expect(rows).to_have_count(1)
    new_id = add_session(app, "cara@example.com", "Acme kickoff")
    fresh = phone.locator(f"#console-session-{new_id}")
    expect(fresh).to_contain_text("Acme kickoff", timeout=15000)  # polled in (every 5 s)
    expect(fresh).to_contain_text("Cara Consultant")
    assert phone.url.endswith("/admin/console")
    # A phone shows each session as a card: label and value side by side, no table header.
    expect(phone.locator(".console-table thead")).to_be_hidden()
    box = fresh.bounding_box()
    assert box["width"] <= 360
    phone.get_by_label("Status").select_option("ended")
    phone.get_by_role("button", name="Filter").click()
    phone.wait_for_url("**/admin/console?*status=ended*")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Old ended chat")
    expect(phone.locator(f"#console-session-{new_id}")).to_have_count(0)
