"""Several models: the catalog from configuration, the selector (only when there is a choice),
the choice stored on the session and used by its replies, and the API's view of it."""

from __future__ import annotations

import json

import pytest

from chatapp import create_app
from chatapp.extensions import db
from chatapp.models import ChatSession
from chatapp.services.llm import choose_model, configured_models
from tests.conftest import csrf_from, login, messages_of, new_chat, send
from tests.test_api import Api, api  # noqa: F401  (the fixture)

HTMX = {"HX-Request": "true"}


@pytest.fixture
def models(app, fake_llm):
    """Three models on offer: two behind the fake server, and the offline demo model."""
    listed = [{"id": "fake-large", "label": "Large (fake)", "base_url": fake_llm.base_url},
              {"id": "fake-small", "base_url": fake_llm.base_url, "model": "small-v2"},
              {"id": "offline"}]
    app.config["LLM_MODELS"] = listed
    return listed


def test_without_a_list_the_one_configured_model_is_on_offer(app_config):
    assert [(m.id, m.provider, m.model) for m in configured_models(app_config)] == [
        ("fake-model", "openai", "fake-model")]
    offline = configured_models({"LLM_PROVIDER": None, "LLM_BASE_URL": None})
    assert [(m.id, m.offline) for m in offline] == [("offline", True)]
    assert offline[0].label.startswith("Offline demo model")


@pytest.mark.parametrize("listed, problem", [
    ({"id": "x"}, "must be a JSON list"),
    (["gpt-4o"], "must be an object"),
    ([{"label": "no id"}], "must be an object with an \"id\""),
    ([{"id": "a", "base_url": "http://x"}, {"id": "a", "base_url": "http://y"}], "id of its own"),
    ([{"id": "a", "provider": "anthropic", "base_url": "http://x"}], "provider must be"),
    ([{"id": "a", "base_url": "http://x", "api_key": "sk-secret"}], "unknown keys: api_key"),
    ([{"id": "a"}], "needs a base_url"),
])
def test_a_model_list_that_cannot_be_used_stops_the_start_saying_why(app_config, listed, problem):
    with pytest.raises(ValueError, match=problem):
        create_app({**app_config, "TESTING": True, "LLM_MODELS": listed, "LLM_BASE_URL": None})


def test_with_one_model_the_chat_names_it_and_offers_no_selector(client, consultant):
    page = client.get(new_chat(client)).get_data(as_text=True)
    assert 'title="Model answering in this chat">fake-model</span>' in page
    assert "<select" not in page
    assert 'name="model"' not in client.get("/chats/new").get_data(as_text=True)


def test_a_new_chat_uses_the_chosen_model_and_the_offline_one_is_labelled(client, consultant,
                                                                          models, app):
    form = client.get("/chats/new").get_data(as_text=True)
    assert '<option value="offline">Offline demo model' in form
    chat = new_chat(client, model="fake-small")
    page = client.get(chat).get_data(as_text=True)
    assert '<option value="fake-small" selected>fake-small</option>' in page
    assert '<option value="fake-large">Large (fake)</option>' in page
    with app.app_context():
        assert db.session.scalar(db.select(ChatSession.model)) == "fake-small"


def test_a_model_not_on_offer_is_refused_and_nothing_changes(client, consultant, models, app,
                                                             make_user):
    token = csrf_from(client.get("/chats/new").get_data(as_text=True))
    refused = client.post("/chats", data={"csrf_token": token, "model": "gpt-99"})
    assert refused.status_code == 422
    assert "Choose one of the models on offer." in refused.get_data(as_text=True)
    chat = new_chat(client)
    token = csrf_from(client.get(chat).get_data(as_text=True))
    bad = client.post(chat + "/model", data={"csrf_token": token, "model": "gpt-99"},
                      headers=HTMX)
    assert bad.status_code == 422 and "Choose one of the models on offer." in bad.text
    assert 'id="chat-model"' in bad.text  # the selector again, in place
    with app.app_context():
        assert db.session.scalar(db.select(ChatSession.model)) == "fake-large"
    make_user("dan@example.com")
    other = app.test_client()
    login(other, "dan@example.com")
    token = csrf_from(other.get("/chats/new").get_data(as_text=True))
    assert other.post(chat + "/model", data={"csrf_token": token,
                                             "model": "fake-small"}).status_code == 404


def test_replies_are_written_by_the_session_s_model_from_the_next_reply_on(
        client, consultant, models, app, llm, run_worker):
    chat = new_chat(client)
    send(client, chat, "First question")
    assert run_worker(env={"CHATAPP_LLM_MODELS": json.dumps(models[:2])}).wait(60) == 0
    token = csrf_from(client.get(chat).get_data(as_text=True))
    changed = client.post(chat + "/model", data={"csrf_token": token, "model": "fake-small"})
    assert changed.status_code == 303
    send(client, chat, "Second question")
    assert run_worker(env={"CHATAPP_LLM_MODELS": json.dumps(models[:2])}).wait(60) == 0
    assert [request["model"] for request in llm.requests] == ["fake-large", "small-v2"]
    assert [m.status for m in messages_of(app, chat)] == ["done"] * 4


def test_a_session_whose_model_was_withdrawn_uses_the_default(app, models):
    assert choose_model(app.config, "retired-model").id == "fake-large"


def test_the_api_lists_the_models_and_sets_a_session_s(api, models):  # noqa: F811
    listed = api.call("GET", "/models").get_json()["models"]
    assert [(m["id"], m["offline"]) for m in listed] == [
        ("fake-large", False), ("fake-small", False), ("offline", True)]
    session = api.call("POST", "/sessions", {"client_name": "Acme"}).get_json()
    assert session["model"] == "fake-large"
    changed = api.call("PATCH", f"/sessions/{session['id']}", {"model": "offline"})
    assert changed.status_code == 200 and changed.get_json()["model"] == "offline"
    for wrong in ("gpt-99", {"id": "offline"}, ["offline"], None):
        refused = api.call("PATCH", f"/sessions/{session['id']}", {"model": wrong})
        assert refused.status_code == 422
        assert refused.get_json()["error"]["details"]["field"] == "model"
