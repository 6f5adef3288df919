"""The context card: edited in place or on its own page, checked, escaped, and given to the model
with every reply (a change mid-session reaches the next reply)."""

from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

from chatapp.extensions import db
from chatapp.models import ChatSession
from chatapp.services.context import prompt_section
from tests.conftest import csrf_from, login, new_chat, send

HTMX = {"HX-Request": "true"}
CARD = MultiDict([("client_name", "Acme <Corp>"), ("meeting_type", "Architecture review"),
                  ("project", "Move the CRM\nto the cloud"), ("services", "Cloud migration"),
                  ("services", "Security"), ("clouds", "Azure"), ("clouds", "AWS"),
                  ("custom", "Budget: 200k EUR\n\nDeadline: Q3")])


def save(client, chat: str, form: MultiDict, headers=None):
    token = csrf_from(client.get(chat).get_data(as_text=True))
    return client.post(chat + "/context", data=MultiDict([*form.items(multi=True),
                                                          ("csrf_token", token)]),
                       headers=headers or {})


def system_prompt_of(request: dict) -> str:
    return request["messages"][0]["content"]


def test_the_card_is_edited_in_place_and_shown_escaped(client, consultant, app):
    chat = new_chat(client)
    form = client.get(chat + "/context/edit", headers=HTMX).get_data(as_text=True)
    assert form.lstrip().startswith("<form") and 'name="meeting_type"' in form
    card = save(client, chat, CARD, HTMX)
    html = card.get_data(as_text=True)
    assert card.status_code == 200 and 'id="context-card"' in html and "<form" not in html
    assert "Acme &lt;Corp&gt;" in html and "<Corp>" not in html
    assert "Cloud migration, Security" in html and "AWS, Azure" in html  # in the list's order
    assert "<dt>Budget</dt><dd>200k EUR</dd>" in html
    with app.app_context():
        saved = db.session.get(ChatSession, chat.rsplit("/", 1)[1])
        assert saved.client_name == "Acme <Corp>"
        assert saved.context == {"meeting_type": "Architecture review",
                                 "project": "Move the CRM\nto the cloud",
                                 "services": ["Cloud migration", "Security"],
                                 "clouds": ["AWS", "Azure"],
                                 "custom": {"Budget": "200k EUR", "Deadline": "Q3"}}
    page = client.get(chat).get_data(as_text=True)
    assert 'id="context-card"' in page and "Architecture review" in page


def test_without_javascript_the_card_has_its_own_page(client, consultant):
    chat = new_chat(client)
    page = client.get(chat + "/context/edit").get_data(as_text=True)
    assert "<!doctype html>" in page and "Context of" in page
    assert save(client, chat, CARD).status_code == 303
    assert "Architecture review" in client.get(chat).get_data(as_text=True)


@pytest.mark.parametrize("field, value, message", [
    ("clouds", "Mars Cloud", "Unknown cloud provider: Mars Cloud."),
    ("services", "Catering", "Unknown service: Catering."),
    ("custom", "Budget 200k", "Custom field line 1: write it as “Name: value”."),
    ("project", "x" * 2001, "Project is limited to 2,000 characters."),
    ("client_name", "y" * 201, "Client is limited to 200 characters."),
])
def test_mistakes_show_the_form_again_with_what_was_typed(client, consultant, field, value,
                                                         message):
    chat = new_chat(client)
    form = MultiDict([("meeting_type", "Discovery"), (field, value)])
    answer = save(client, chat, form, HTMX)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and message in html and 'value="Discovery"' in html
    assert "Discovery" not in client.get(chat).get_data(as_text=True).split("<form")[0]


def test_another_users_card_is_404(client, consultant, make_user):
    chat = new_chat(client)
    client.post("/logout", data={"csrf_token": csrf_from(client.get(chat).get_data(as_text=True))})
    make_user("other@example.com", "Other")
    login(client, "other@example.com")
    token = csrf_from(client.get("/chats/new").get_data(as_text=True))
    assert client.get(chat + "/context/edit").status_code == 404
    assert client.post(chat + "/context", data={"csrf_token": token,
                                                "meeting_type": "x"}).status_code == 404


def test_every_reply_gets_the_context_and_a_change_reaches_the_next(client, consultant, llm,
                                                                     run_worker):
    chat = new_chat(client)
    save(client, chat, CARD)
    send(client, chat, "Main risks?")
    assert run_worker().wait(60) == 0
    first = system_prompt_of(llm.requests[-1])
    assert "- Client: Acme <Corp>" in first and "- Cloud providers: AWS, Azure" in first
    assert "- Budget: 200k EUR" in first and "- Meeting type: Architecture review" in first
    save(client, chat, MultiDict([*CARD.items(multi=True)][:1] + [("meeting_type", "Steering")]))
    send(client, chat, "And the budget?")
    assert run_worker().wait(60) == 0
    second = system_prompt_of(llm.requests[-1])
    assert "- Meeting type: Steering" in second and "Architecture review" not in second


def test_a_card_without_values_adds_nothing_and_api_keys_are_shown_too():
    assert prompt_section(None, {}) is None
    section = prompt_section("Acme", {"industry_sector": "Retail", "clouds": ["GCP"]})
    assert section.endswith("- Client: Acme\n- Industry sector: Retail\n- Cloud providers: GCP")


def test_the_owner_sees_the_chats_numbers(client, consultant, llm, run_worker, make_user):
    chat = new_chat(client)
    empty = client.get(chat + "/metrics").get_data(as_text=True)
    assert "<dt>Messages</dt><dd>0</dd>" in empty and "no reply yet" in empty
    send(client, chat, "Main risks?")
    assert run_worker().wait(60) == 0
    numbers = client.get(chat + "/metrics").get_data(as_text=True)
    assert "<dt>Messages</dt><dd>2</dd>" in numbers
    assert re.search(r"average \d+\.\d s, longest \d+\.\d s", numbers)
    assert re.search(r"<dt>Tokens</dt><dd>[\d,]+ in, [\d,]+ out</dd>", numbers)
    assert "<dt>Messages</dt><dd>2</dd>" in client.get(chat).get_data(as_text=True)  # on the page
    client.post("/logout", data={"csrf_token": csrf_from(client.get(chat).get_data(as_text=True))})
    make_user("other@example.com", "Other")
    login(client, "other@example.com")
    assert client.get(chat + "/metrics").status_code == 404


def test_a_chat_is_renamed_in_place_or_on_its_own_page(client, consultant, make_user):
    chat = new_chat(client)
    form = client.get(chat + "/name/edit", headers=HTMX).get_data(as_text=True)
    assert 'name="name"' in form and 'value="New chat"' in form
    token = csrf_from(client.get(chat).get_data(as_text=True))
    renamed = client.post(chat + "/name", data={"csrf_token": token,
                                                "name": "  Acme   <kick-off> "}, headers=HTMX)
    assert renamed.status_code == 200
    assert '<h1 id="chat-title">Acme &lt;kick-off&gt;</h1>' in renamed.get_data(as_text=True)
    for bad in ("   ", "x" * 201):
        refused = client.post(chat + "/name", data={"csrf_token": token, "name": bad},
                              headers=HTMX)
        assert refused.status_code == 422
        assert "Give the chat a name of 1 to 200 characters." in refused.get_data(as_text=True)
    assert "<!doctype html>" in client.get(chat + "/name/edit").get_data(as_text=True)
    plain = client.post(chat + "/name", data={"csrf_token": token, "name": "Plain form"})
    assert plain.status_code == 303
    assert '<h1 id="chat-title">Plain form</h1>' in client.get(chat).get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token})
    make_user("other@example.com", "Other")
    login(client, "other@example.com")
    other_token = csrf_from(client.get("/chats/new").get_data(as_text=True))
    assert client.post(chat + "/name", data={"csrf_token": other_token,
                                             "name": "Mine now"}).status_code == 404


def test_saving_the_card_keeps_context_keys_a_script_added(client, consultant, app):
    chat = new_chat(client)
    with app.app_context():
        saved = db.session.get(ChatSession, chat.rsplit("/", 1)[1])
        saved.context = {"industry": "Retail", "meeting_type": "Old"}
        db.session.commit()
    save(client, chat, MultiDict([("meeting_type", "Discovery")]))
    with app.app_context():
        context = db.session.get(ChatSession, chat.rsplit("/", 1)[1]).context
    assert context == {"industry": "Retail", "meeting_type": "Discovery"}
