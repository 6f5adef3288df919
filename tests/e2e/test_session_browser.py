"""The chat header on a phone: choosing the model, the model's title arriving live, and an
ended chat saying so (live too) and being reopened."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from chatapp.extensions import db
from chatapp.models import ChatSession, utcnow
from chatapp.services import lifecycle
from tests.e2e.conftest import ask, sign_in
from tests.e2e.test_chat_browser import start_chat
from tests.stack import Stack


@pytest.fixture
def two_models_stack(subprocess_env, fake_llm, _migrated, app, tmp_path):
    """A chatapp (own Redis, gunicorn, workers) offering two models behind the fake server."""
    models = [{"id": "fake-model", "label": "Main (fake)", "base_url": fake_llm.base_url},
              {"id": "fake-other", "label": "Other (fake)", "base_url": fake_llm.base_url}]
    stack = Stack({**subprocess_env, "CHATAPP_LLM_MODELS": json.dumps(models)}, tmp_path).start()
    yield stack
    stack.stop()


def test_on_a_phone_the_chosen_model_answers_and_the_title_arrives_live(
        browser, two_models_stack, make_user, llm):
    llm.reset(title="ERP move to AWS: costs")
    make_user("cara@example.com", "Cara Consultant")
    context = browser.new_context(base_url=two_models_stack.base_url, is_mobile=True,
                                  viewport={"width": 360, "height": 740}, has_touch=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    sign_in(page, "cara@example.com")
    start_chat(page)
    selector = page.get_by_label("Model answering in this chat")
    expect(selector).to_have_value("fake-model")
    with page.expect_response(re.compile(r"/model$")) as saved:
        selector.select_option("fake-other")
    assert saved.value.status == 200
    ask(page, "What would moving our ERP to AWS cost?")
    expect(page.locator(".msg-assistant")).to_have_class(re.compile("status-done"))
    expect(page.locator("#chat-title")).to_have_text("ERP move to AWS: costs", timeout=20000)
    assert [request["model"] for request in llm.requests] == ["fake-other"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.reload()
    expect(page.get_by_label("Model answering in this chat")).to_have_value("fake-other")
    context.close()


def test_an_ended_chat_says_so_live_and_is_reopened(cara_on_a_phone, app):
    page = cara_on_a_phone
    start_chat(page)
    note = page.locator("#chat-ended")
    expect(note).to_be_empty()
    with app.app_context():  # twelve hours and more without activity, as the upkeep sees it
        lifecycle.upkeep(utcnow() + timedelta(hours=13))
    expect(note).to_contain_text("This chat ended at")
    page.get_by_role("button", name="Reopen").tap()
    expect(note).to_be_empty()
    with app.app_context():
        assert db.session.scalar(db.select(ChatSession.status)) == "active"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
