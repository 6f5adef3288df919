"""The XSS corpus (tests/xss_corpus.json) in Chromium: answered by the model and sent as questions,
while the reply streams and once it is final, nothing runs and nothing dangerous is on the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ask, sign_in
from tests.e2e.test_chat_browser import start_chat
from tests.test_render import CORPUS

RECORD_CALLS = "window.__xssCalls = []; window.__xss = (v) => window.__xssCalls.push(String(v));"
# What is wrong inside the messages: handlers, script URLs, elements that must never come from a
# message (the copy button is chatapp's own).
PROBLEMS = r"""() => {
  const problems = [];
  const forbidden = ["script", "iframe", "object", "embed", "style", "form", "meta", "base", "svg",
    "math", "img", "link", "input", "textarea", "video", "audio", "source", "template", "noscript",
    "details", "marquee", "frame", "frameset", "applet"];
  for (const el of document.querySelectorAll("#messages *")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\x00-\x20]/g, "").toLowerCase();
      if (name.startsWith("on") || name === "srcdoc" || name === "style") {
        problems.push(`${el.localName} ${name}`);
      }
      if (["href", "src", "action", "formaction", "xlink:href", "data"].includes(name)
          && /^(javascript|vbscript|data):/.test(value)) problems.push(`${el.localName} ${name}=${value}`);
    }
  }
  for (const el of document.querySelectorAll("#messages .body *")) {
    if (forbidden.includes(el.localName)) problems.push(el.localName);
  }
  return problems;
}"""
END = "END-OF-CORPUS"


@pytest.fixture
def watched(page):
    """The page, recording calls of window.__xss and any dialog (alert, confirm, print...)."""
    page.add_init_script(RECORD_CALLS)
    dialogs: list[str] = []

    def dismiss(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    yield page
    assert dialogs == []


def assert_nothing_ran(page, url: str) -> None:
    assert page.evaluate(PROBLEMS) == []
    assert page.evaluate("window.__xssCalls") == []
    assert page.url == url  # no meta refresh, no navigation


def pieces(payload: str) -> list[str]:
    """A payload as three tokens, so that it arrives cut in the middle."""
    third = max(len(payload) // 3, 1)
    return [payload[:third], payload[third:2 * third], payload[2 * third:]]


def test_the_corpus_streamed_then_final(watched, make_user, llm, run_worker):
    page = watched
    tokens = [token for entry in CORPUS for token in [*pieces(entry["payload"]), "\n\n"]] + [END]
    # all of them, then the model keeps the reply open without a word (the reply stays streaming)
    llm.reset(tokens=[*tokens, "never sent"], stall_after=len(tokens))
    make_user("cara@example.com", "Cara Consultant")
    run_worker(burst=False)
    sign_in(page, "cara@example.com")
    start_chat(page)
    url = page.url
    ask(page, "Show me every payload")
    reply = page.locator(".msg-assistant")
    # all of it, streamed (the worker may take a while to start on a busy machine)
    expect(reply.locator(".body.streaming")).to_contain_text(END, timeout=30000)
    assert_nothing_ran(page, url)
    assert "<script>__xss(1)</script>" in reply.locator(".body").inner_text()  # shown as text

    page.reload()  # the text so far comes from the server's snapshot
    expect(reply.locator(".body.streaming")).to_contain_text(END)
    assert_nothing_ran(page, url)

    reply.get_by_role("button", name="Stop").click()  # the final rendering, as Markdown
    expect(reply).to_have_class(re.compile("status-cancelled"))
    expect(reply.locator(".body.markdown")).to_contain_text(END)
    assert_nothing_ran(page, url)
    page.reload()
    expect(reply.locator(".body.markdown")).to_contain_text(END)
    assert_nothing_ran(page, url)


def test_each_payload_as_a_question_and_as_an_answer(watched, make_user, llm, run_worker):
    page = watched
    make_user("cara@example.com", "Cara Consultant")
    run_worker(burst=False)
    sign_in(page, "cara@example.com")
    start_chat(page)
    url = page.url
    finished = page.locator(".msg-assistant.status-done")
    for count, entry in enumerate(CORPUS, start=1):
        llm.reset(tokens=pieces(entry["payload"]))
        ask(page, entry["payload"])
        expect(finished).to_have_count(count, timeout=30000)
        expect(page.locator(".msg-user .body").last).to_have_text(entry["payload"].strip())
        assert_nothing_ran(page, url)

    page.goto(url)  # final rendering from the server, older pages loaded by scrolling up
    while page.locator("#history-older").count():
        shown = page.locator("#messages > .msg").count()
        page.evaluate("window.scrollTo(0, 0)")
        expect(page.locator("#messages > .msg")).not_to_have_count(shown)
    expect(finished).to_have_count(len(CORPUS))
    assert_nothing_ran(page, url)
