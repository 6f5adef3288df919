"""A long chat in Chromium: only the latest page is on it, scrolling up loads older messages
without moving what the reader sees, ?around= jumps to an old message, code blocks copy."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from chatapp.services import events
from chatapp.services.redis_client import get_redis
from tests.conftest import add_history, messages_of
from tests.e2e.conftest import ask, sign_in
from tests.e2e.test_chat_browser import start_chat

REPLY = ("## Plan {i}\n\n- one\n- two\n\n| Item | Monthly cost in euros, all regions included "
         "| Notes |\n|---|---|---|\n| VM | 10 | a long note that makes the table wide |\n\n"
         "```python\nprint('block {i}', 'with a long line that does not fit on a phone screen')\n"
         "```")
FIRST_TOP = """() => {
  const first = document.querySelector("#messages > .msg");
  return [first.id, first.getBoundingClientRect().top];
}"""


def top_of(page, message_id: str) -> float:
    return page.evaluate(f"document.getElementById('{message_id}').getBoundingClientRect().top")


def test_scrolling_up_on_a_phone_loads_older_messages_in_place(cara_on_a_phone, app, llm):
    page = cara_on_a_phone
    start_chat(page)
    add_history(app, page.url, 300, reply=REPLY)
    page.goto(page.url)  # (a reload would restore the empty chat's scroll position)
    messages = page.locator("#messages > .msg")
    expect(messages).to_have_count(50)
    expect(messages.last).to_contain_text("Plan 300")
    assert page.evaluate("document.documentElement.scrollWidth") == 360  # tables, code scroll inside
    assert page.evaluate("""(() => {
      const pre = document.querySelector("#messages .body.markdown pre");
      return pre.scrollWidth > pre.clientWidth;
    })()""")  # the long line of code scrolls inside its block
    assert page.evaluate("document.scrollingElement.scrollTop") > 0  # opened at the latest

    for loaded in (100, 150):
        page.evaluate("window.scrollTo(0, 0)")
        first_id, before = page.evaluate(FIRST_TOP)  # read before the older ones arrive
        expect(messages).to_have_count(loaded)
        # the message that was at the top stays at the same place on screen
        assert abs(top_of(page, first_id) - before) <= 1, (top_of(page, first_id), before)
        assert page.evaluate("document.scrollingElement.scrollTop") > 0
        expect(page.get_by_label("Message")).not_to_be_focused()  # no keyboard popping up
    seqs = [int(s) for s in messages.evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == list(range(151, 301))
    # older replies came with copy buttons too
    copy = page.locator(f"#msg-{first_id_of(app, page, 152)} button.copy-code")
    expect(copy).to_have_text("Copy")

    while page.locator("#history-older").count():
        page.evaluate("window.scrollTo(0, 0)")
        expect(messages).not_to_have_count(len(seqs))
        seqs = messages.evaluate_all("els => els.map(e => e.dataset.seq)")
    expect(messages).to_have_count(300)
    expect(messages.first).to_contain_text("Question 1")

    # live events go on: a new question and its reply at the bottom
    ask(page, "And the next step?")
    expect(messages.nth(300)).to_contain_text("And the next step?")
    expect(messages.last).to_contain_text("Hello from the fake model.")
    expect(messages.last).to_have_class(re.compile("status-done"))
    assert page.evaluate("document.documentElement.scrollWidth") == 360


def first_id_of(app, page, seq: int) -> str:
    return str(next(m.id for m in messages_of(app, page.url) if m.seq == seq))


def long_chat_of_cara(page, make_user, app, count: int) -> str:
    """Cara signed in on `page`, in a chat of `count` stored messages; its URL."""
    make_user("cara@example.com", "Cara Consultant")
    sign_in(page, "cara@example.com")
    start_chat(page)
    add_history(app, page.url, count)
    return page.url


def test_live_events_for_messages_outside_the_window_are_not_inserted(page, make_user, app,
                                                                     run_worker):
    run_worker(burst=False)
    page.goto(long_chat_of_cara(page, make_user, app, 120))
    messages = page.locator("#messages > .msg")
    expect(messages).to_have_count(50)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    stored = {m.seq: m for m in messages_of(app, page.url)}
    session_id = uuid.UUID(page.url.rsplit("/", 1)[-1])
    with app.app_context():
        old, shown = stored[10].to_view(), stored[120].to_view()
        events.append(get_redis(), session_id, "message.updated",
                      {"message": {**old, "content": "An old message changed"}})
        events.append(get_redis(), session_id, "message.updated",
                      {"message": {**shown, "content": "The latest message changed"}})
    # in order: once the second is shown, the first was dealt with
    expect(page.locator(f"#msg-{shown['id']}")).to_contain_text("The latest message changed")
    expect(page.locator(f"#msg-{old['id']}")).to_have_count(0)
    expect(messages).to_have_count(50)
    page.evaluate("window.scrollTo(0, 0)")  # loading it later shows it in its place
    expect(messages).to_have_count(100)
    seqs = [int(s) for s in messages.evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == list(range(21, 121))


def test_around_opens_an_old_message_and_newer_ones_load_below(page, make_user, app):
    chat = long_chat_of_cara(page, make_user, app, 200)
    target = first_id_of(app, page, 40)
    page.goto(f"{chat}?around={target}#msg-{target}")
    messages = page.locator("#messages > .msg")
    expect(page.locator(f"#msg-{target}")).to_be_in_viewport()
    expect(page.get_by_role("link", name="Jump to latest")).to_be_visible()
    expect(messages).to_have_count(50)
    while page.locator("#history-newer").count():
        count = messages.count()
        page.evaluate("window.scrollTo(0, document.scrollingElement.scrollHeight)")
        expect(messages).not_to_have_count(count)
    expect(messages.last).to_have_attribute("data-seq", "200")
    expect(page.get_by_role("link", name="Jump to latest")).to_have_count(0)
    seqs = [int(s) for s in messages.evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == list(range(16, 201))  # in order, no gap, no duplicate


def test_without_javascript_older_messages_are_a_link_away(browser, live_server, make_user, app):
    make_user("cara@example.com", "Cara Consultant")
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, "cara@example.com")
    page.get_by_role("link", name="New chat").first.click()
    page.get_by_role("button", name="Start chat").click()
    page.wait_for_url(re.compile(r"/chats/[0-9a-f-]{36}$"))
    add_history(app, page.url, 80)
    page.reload()
    messages = page.locator("#messages > .msg")
    expect(messages).to_have_count(50)
    page.get_by_role("link", name="Show older messages").click()
    expect(messages.first).to_contain_text("Question 1")
    expect(messages).to_have_count(30)
    page.get_by_role("link", name="Jump to latest").click()
    expect(messages.last).to_contain_text("Answer 80")
    context.close()


def test_the_copy_button_copies_a_code_block(page, make_user, llm, run_worker):
    make_user("cara@example.com", "Cara Consultant")
    llm.reset(tokens=["Run:\n\n", "```sh\n", "terraform plan\n", "terraform apply\n", "```\n"],
              delay=0.05)
    run_worker(burst=False)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, "cara@example.com")
    start_chat(page)
    ask(page, "How do I deploy it?")
    reply = page.locator(".msg-assistant")
    expect(reply).to_have_class(re.compile("status-done"))  # the button comes with the final reply
    button = reply.locator("button.copy-code")
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "terraform plan\nterraform apply\n"
    expect(button).to_have_text("Copy", timeout=5000)  # ready for the next time


def test_a_question_sent_from_an_old_part_of_the_chat_shows_at_the_latest(page, make_user, app, llm,
                                                                          run_worker):
    run_worker(burst=False)
    chat = long_chat_of_cara(page, make_user, app, 120)
    target = first_id_of(app, page, 10)
    page.goto(f"{chat}?around={target}#msg-{target}")
    expect(page.get_by_role("link", name="Jump to latest")).to_be_visible()
    ask(page, "Back to the present")
    page.wait_for_url(chat + "#composer")
    messages = page.locator("#messages > .msg")
    expect(messages.nth(-2)).to_contain_text("Back to the present")
    expect(messages.last).to_contain_text("Hello from the fake model.")
    expect(page.locator("#history-newer")).to_have_count(0)


def test_a_failed_load_of_older_messages_says_so_and_keeps_the_link(page, make_user, app):
    long_chat_of_cara(page, make_user, app, 80)
    page.route(re.compile(r"/messages\?before="), lambda route: route.fulfill(
        status=503, content_type="text/html",
        body='<hx-partial hx-target="#flash" hx-swap="innerHTML">'
             '<p class="flash error">Back in a moment.</p></hx-partial>'))
    page.goto(page.url)
    expect(page.locator("#messages > .msg")).to_have_count(50)
    page.evaluate("window.scrollTo(0, 0)")
    expect(page.locator("#flash")).to_have_text("Back in a moment.")
    expect(page.get_by_role("link", name="Show older messages")).to_be_visible()
    expect(page.locator("#messages > .msg")).to_have_count(50)
    page.unroute(re.compile(r"/messages\?before="))
    page.get_by_role("link", name="Show older messages").click()  # as a link, it still works
    expect(page.locator("#messages > .msg").first).to_contain_text("Question 1")
