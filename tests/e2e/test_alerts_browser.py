"""Alerts in Chromium on a phone: an admin reaches the alerts page from the top bar, sees how
each message went, and sets their alert settings (a wrong phone number is shown back)."""

from __future__ import annotations

from playwright.sync_api import expect

from chatapp.services.alerts import raise_alert
from tests.e2e.conftest import sign_in


def test_an_admin_reads_the_alerts_and_sets_sms_on_a_phone(phone, make_user, app):
    make_user("ada@example.com", "Ada Admin", role="admin")
    with app.app_context():
        raise_alert("system", summary="Nightly backup failed")  # no worker: it stays queued
    sign_in(phone, "ada@example.com")
    phone.get_by_role("link", name="Alerts").tap()
    item = phone.locator(".alert-item").first
    expect(item).to_contain_text("System alert: Nightly backup failed")
    expect(item).to_contain_text("email to Ada Admin (ada@example.com): queued")

    phone.get_by_role("link", name="Your alert settings").tap()
    expect(phone.get_by_label("Email to ada@example.com")).to_be_checked()
    phone.get_by_label("SMS", exact=True).check()
    phone.get_by_label("Phone number for SMS").fill("0151 2345678")
    phone.get_by_role("button", name="Save").tap()
    expect(phone.get_by_role("alert")).to_contain_text("Write the phone number in international form")
    expect(phone.get_by_label("Phone number for SMS")).to_have_value("0151 2345678")

    phone.get_by_label("Phone number for SMS").fill("+49 151 2345678")
    phone.get_by_label("From (HH:MM)").fill("22:00")
    phone.get_by_label("Until (HH:MM)").fill("07:00")
    phone.get_by_label("Time zone").fill("Europe/Berlin")
    phone.get_by_role("button", name="Save").tap()
    expect(phone.locator("#flash")).to_contain_text("Alert settings saved.")
    expect(phone.get_by_label("Phone number for SMS")).to_have_value("+491512345678")
    expect(phone.get_by_label("SMS", exact=True)).to_be_checked()
    expect(phone.get_by_label("From (HH:MM)")).to_have_value("22:00")
