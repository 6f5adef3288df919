"""A consultant chats in Chromium: the reply streams in, survives a reload, and ends once."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import ask, sign_in

TOKENS = [f" word{i}" for i in range(60)]
FULL_TEXT = "".join(TOKENS).strip()


def start_chat(page, client_name="Acme Corp", live_state="live"):
    """Start a chat from the menu and wait until its live updates are in `live_state`."""
    page.get_by_role("link", name="New chat").first.click()
    page.get_by_label("Client (optional)").fill(client_name)
    page.get_by_role("button", name="Start chat").click()
    page.wait_for_url(re.compile(r"/chats/[0-9a-f-]{36}$"))
    expect(page.locator("#live-status")).to_have_attribute("data-state", live_state,
                                                           timeout=30000)


def test_reply_streams_and_survives_a_reload(page, make_user, llm, run_worker):
    make_user("cara@example.com", "Cara Consultant")
    llm.reset(tokens=TOKENS, delay=0.05)
    run_worker(burst=False)
    sign_in(page, "cara@example.com")
    start_chat(page)

    page.get_by_label("Message").fill("Which risks should we raise with Acme?")
    page.get_by_label("Message").press("Enter")
    expect(page.locator(".msg-user .body")).to_have_text("Which risks should we raise with Acme?")
    expect(page.get_by_label("Message")).to_have_value("")  # a fresh composer after sending
    expect(page.locator("#chat-title")).to_have_text("Which risks should we raise with Acme?")

    reply = page.locator(".msg-assistant").last
    body = reply.locator(".body")
    expect(body).to_contain_text("word5")  # tokens arrive while the reply is being written
    expect(reply).to_have_class(re.compile(r"status-streaming|status-pending"))
    streamed_so_far = body.inner_text()
    assert "word59" not in streamed_so_far

    page.reload()  # mid-reply: the text so far is there and the reply goes on
    reply = page.locator(".msg-assistant").last
    expect(reply.locator(".body")).to_contain_text(streamed_so_far)
    expect(reply).to_have_class(re.compile("status-done"), timeout=20000)
    expect(reply.locator(".body")).to_have_text(FULL_TEXT)
    assert reply.locator(".body").inner_text().count("word0 ") == 1
    expect(page.locator(".msg")).to_have_count(2)

    page.reload()  # the finished reply is in the history
    expect(page.locator(".msg-assistant .body")).to_have_text(FULL_TEXT)


def test_phone_layout_and_keyboard_only_use(browser, live_server, make_user, llm, run_worker):
    make_user("cara@example.com", "Cara Consultant")
    context = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740},
                                  has_touch=True, is_mobile=True)
    page = context.new_page()
    run_worker(burst=False)
    page.goto("/login")
    # Chromium applies autofocus at its next rendering update, which may come after "load".
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type("cara@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    page.wait_for_url("**/chats")
    start_chat(page)
    composer = page.get_by_label("Message")
    composer.focus()
    page.keyboard.type("Summarise the meeting so far")
    page.keyboard.press("Tab")  # on to the Send button
    page.keyboard.press("Enter")
    expect(page.locator(".msg-assistant .body")).to_have_text("Hello from the fake model.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing overflows sideways
    for element in ("#composer-input", "#composer button[type=submit]", ".chat-head h1", "#live-status"):
        box = page.locator(element).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, element
    assert page.locator("#messages").get_attribute("aria-live") == "polite"
    context.close()


def test_a_failed_reply_can_be_retried_from_the_page(page, make_user, llm, run_worker):
    make_user("cara@example.com", "Cara Consultant")
    llm.reset(fail_status=500)
    run_worker(burst=False)
    sign_in(page, "cara@example.com")
    start_chat(page)
    ask(page, "Cost estimate for 3 VMs?")
    reply = page.locator(".msg-assistant")
    expect(reply.get_by_role("alert")).to_contain_text("The language model service failed (HTTP 500).")
    llm.reset()
    reply.get_by_role("button", name="Retry").click()
    expect(reply.locator(".body")).to_have_text("Hello from the fake model.")
    expect(reply).to_have_class(re.compile("status-done"))
    expect(page.locator(".msg")).to_have_count(2)


def test_stop_button_ends_the_reply_and_keeps_its_text(page, make_user, llm, run_worker):
    make_user("cara@example.com", "Cara Consultant")
    llm.reset(tokens=TOKENS, delay=0.1)
    run_worker(burst=False)
    sign_in(page, "cara@example.com")
    start_chat(page)
    ask(page, "Give me a long answer")
    reply = page.locator(".msg-assistant")
    expect(reply.locator(".body")).to_contain_text("word3")
    reply.get_by_role("button", name="Stop").click()
    expect(reply).to_have_class(re.compile("status-cancelled"))
    expect(reply.locator(".badge")).to_have_text("stopped")
    expect(reply.get_by_role("button", name="Stop")).to_have_count(0)
    kept = reply.locator(".body").inner_text()
    assert "word3" in kept and "word59" not in kept
    page.reload()
    expect(page.locator(".msg-assistant .body")).to_have_text(kept)


def test_regenerate_and_page_through_versions(page, make_user, llm, run_worker):
    make_user("cara@example.com", "Cara Consultant")
    run_worker(burst=False)
    sign_in(page, "cara@example.com")
    start_chat(page)
    ask(page, "Best practices for backups?")
    reply = page.locator(".msg-assistant")
    expect(reply.locator(".body")).to_have_text("Hello from the fake model.")
    llm.reset(tokens=["Keep", " three", " copies."])
    reply.get_by_role("button", name="Regenerate").click()
    expect(reply.locator(".body")).to_have_text("Keep three copies.")
    expect(reply.locator(".versions")).to_contain_text("2 / 2")
    reply.get_by_role("button", name="Previous version").click()
    expect(reply.locator(".body")).to_have_text("Hello from the fake model.")
    expect(reply.locator(".versions")).to_contain_text("1 / 2")
    expect(page.locator(".msg")).to_have_count(2)


def test_a_late_answer_to_the_send_keeps_the_streamed_text(page, make_user, llm, run_worker):
    """The response to the sender's own POST can arrive after reply text has streamed in (a slow
    network): it adds nothing already on the page, so that text is never wiped."""
    make_user("cara@example.com", "Cara Consultant")
    llm.reset(tokens=TOKENS, delay=0.1)  # 6 s of streaming
    run_worker(burst=False)
    sign_in(page, "cara@example.com")
    start_chat(page)
    held = []

    def hold_the_send(route):
        if route.request.method != "POST":
            return route.continue_()
        held.append((route, route.fetch()))  # the server has answered; the browser waits

    page.route(re.compile(r"/chats/[0-9a-f-]{36}/messages$"), hold_the_send)
    ask(page, "Which risks should we raise with Acme?")
    body = page.locator(".msg-assistant .body")
    expect(body).to_contain_text("word5")  # streamed in while the send's answer is held
    assert len(held) == 1
    route, response = held[0]
    route.fulfill(response=response)
    expect(page.get_by_label("Message")).to_have_value("")  # the answer was swapped in
    # read at once (no retrying expect: the final reply.done would restore any wiped text)
    reply = page.locator(".msg-assistant")
    assert "status-done" not in reply.get_attribute("class")
    assert "word5" in body.inner_text()
    expect(reply).to_have_class(re.compile("status-done"), timeout=20000)
    expect(body).to_have_text(FULL_TEXT)
    expect(page.locator(".msg")).to_have_count(2)
