"""The transport ladder in Chromium: with server-sent events blocked the page steps down to a
WebSocket, with both blocked to long-polling, and the reply streams completely either way."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from chatapp.extensions import db
from chatapp.services import settings
from tests.e2e.conftest import ask, sign_in
from tests.e2e.test_chat_browser import FULL_TEXT, TOKENS, start_chat


def is_event_stream(url: str) -> bool:
    """The page's SSE requests (long-polls carry `wait`)."""
    return "/events" in url and "wait=" not in url


def streams_the_whole_reply(page) -> None:
    ask(page, "Which risks should we raise with Acme?")
    reply = page.locator(".msg-assistant").last
    expect(reply).to_have_class(re.compile("status-done"), timeout=30000)
    expect(reply.locator(".body")).to_have_text(FULL_TEXT)
    assert reply.locator(".body").inner_text().count("word0 ") == 1
    expect(page.locator(".msg")).to_have_count(2)


@pytest.fixture
def cara(make_user, llm, run_worker):
    """Cara, a consultant, with the model answering TOKENS and a worker running."""
    user = make_user("cara@example.com", "Cara Consultant")
    llm.reset(tokens=TOKENS, delay=0.03)
    run_worker(burst=False)
    return user


def test_with_sse_blocked_the_reply_streams_over_a_websocket(page, cara):
    page.route(is_event_stream, lambda route: route.abort())
    sign_in(page, "cara@example.com")
    start_chat(page, live_state="live-websocket")
    expect(page.locator("#live-status")).to_have_attribute("title", re.compile("WebSocket"))
    streams_the_whole_reply(page)


def test_with_sse_and_websocket_blocked_the_reply_streams_by_polling(page, cara):
    page.route(is_event_stream, lambda route: route.abort())
    page.route_web_socket(re.compile(r"/ws"), lambda ws: ws.close())
    sign_in(page, "cara@example.com")
    start_chat(page, live_state="polling")
    streams_the_whole_reply(page)


def test_a_transport_forced_by_an_admin_is_used_from_the_start(page, app, make_user, cara):
    admin = make_user("ada@example.com", "Ada Admin", role="admin")
    with app.test_request_context():
        settings.set_live_transport("poll", admin)  # as the admin settings page does
        db.session.commit()
    sign_in(page, "cara@example.com")
    start_chat(page, live_state="polling")
    streams_the_whole_reply(page)


def test_the_page_steps_back_up_to_sse_once_it_gets_through_again(page, cara):
    page.clock.install()  # the page's timers, fast-forwarded below instead of waited for
    page.route(is_event_stream, lambda route: route.abort())
    sign_in(page, "cara@example.com")
    start_chat(page, live_state="live-websocket")
    page.unroute(is_event_stream)  # the network lets SSE through again
    page.clock.fast_forward(61_000)  # a minute on the fallback: SSE is tried again
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    streams_the_whole_reply(page)
