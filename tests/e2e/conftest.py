"""Chromium (Debian's package) driven by Playwright against the live server."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import PASSWORD

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 # replies read aloud automatically play without a click, as after a visit
                 "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the run; `make test` installs it (tests/ensure_chromium.sh)."""
    executable = shutil.which("chromium")
    assert executable, "Chromium is missing: run `make test`, which installs it, or apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) with the live server as base URL."""
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def phone(browser, live_server):
    """A page in a phone-sized, touch browser context (360 × 740) on the live server."""
    context = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740},
                                  has_touch=True, is_mobile=True)
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


@pytest.fixture
def cara_on_a_phone(phone, make_user, run_worker):
    """Cara, a consultant, signed in on a phone, with a worker writing replies."""
    make_user("cara@example.com", "Cara Consultant")
    run_worker(burst=False)
    sign_in(phone, "cara@example.com")
    return phone


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/chats")


def ask(page, question: str) -> None:
    """Type a question in the composer and send it."""
    page.get_by_label("Message").fill(question)
    page.get_by_role("button", name="Send").click()
