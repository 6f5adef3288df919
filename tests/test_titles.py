"""Automatic titles: the first message names a new chat at once, the model's title replaces it in
the background (live on the page), and nothing overrides a name the owner chose."""

from __future__ import annotations

import pytest
from rq import Queue

from chatapp.extensions import db
from chatapp.live import to_frame
from chatapp.models import ChatSession
from chatapp.services import events
from chatapp.services.redis_client import get_redis
from chatapp.services.titles import cleaned, fallback
from tests.conftest import csrf_from, new_chat, send


def name_of(app) -> str:
    with app.app_context():
        return db.session.scalar(db.select(ChatSession.name))


def title_jobs(app) -> list:
    with app.app_context():
        return [job for job in Queue("llm", connection=get_redis()).jobs
                if job.func_name == "worker.titles.name_session"]


@pytest.mark.parametrize("answer, title", [
    ("AWS migration cost estimate", "AWS migration cost estimate"),
    ('"ERP move to Azure: risks."\n', "ERP move to Azure: risks"),
    ("Title: **Data platform review**", "Data platform review"),
    ("# Follow-up email for Acme\nMore text the model added", "Follow-up email for Acme"),
    ("\n\n  «Plan de migration»  ", "Plan de migration"),
    ("x" * 200, "x" * 79 + "…"),
    ("", None),
    ('"."', None),
])
def test_the_model_s_answer_is_cleaned_into_a_title(answer, title):
    assert cleaned(answer) == title


def test_the_fallback_is_the_first_words_of_the_message():
    assert fallback("Estimate   the cost\nof the move") == "Estimate the cost of the move"
    assert len(fallback("word " * 40)) == 60 and fallback("word " * 40).endswith("…")


def test_the_model_names_the_chat_and_the_page_hears_of_it(client, consultant, app, llm,
                                                           run_worker):
    llm.reset(title="Cost of moving the ERP to AWS")
    chat = new_chat(client)
    send(client, chat, "How much would moving our ERP to AWS cost?")
    assert name_of(app) == "How much would moving our ERP to AWS cost?"  # at once
    assert run_worker().wait(60) == 0
    assert name_of(app) == "Cost of moving the ERP to AWS"
    assert llm.title_requests[0]["messages"][1]["content"] == (
        "How much would moving our ERP to AWS cost?")
    assert llm.title_requests[0]["max_tokens"] == 24
    with app.app_context():
        log = events.read(get_redis(), db.session.scalar(db.select(ChatSession.id)), "0-0", None)
    assert [e.data for e in log if e.type == "session.updated"] == [
        {"name": "Cost of moving the ERP to AWS"}]
    assert ">Cost of moving the ERP to AWS</h1>" in client.get(chat).text


def test_a_title_is_escaped_on_the_live_page(app):
    event = events.Event("1-0", "session.updated", {"name": "<img src=x onerror=alert(1)>"})
    with app.test_request_context():
        html = to_frame(event, "html").data
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_when_the_model_cannot_answer_the_first_message_stays_the_name(client, consultant, app,
                                                                      llm, run_worker):
    chat = new_chat(client)  # the fake model answers title requests with a 503 by default
    send(client, chat, "Risks of a lift and shift")
    assert run_worker().wait(60) == 0
    assert len(llm.title_requests) == 1
    assert name_of(app) == "Risks of a lift and shift"


def test_a_rename_before_the_title_arrives_is_kept(client, consultant, app, llm, run_worker):
    llm.reset(title="Model's idea")
    chat = new_chat(client)
    send(client, chat, "Hello there")
    token = csrf_from(client.get(chat).get_data(as_text=True))
    client.post(chat + "/name", data={"csrf_token": token, "name": "Acme kickoff"})
    assert run_worker().wait(60) == 0
    assert name_of(app) == "Acme kickoff"
    assert llm.title_requests == []  # the job saw the owner's name and asked nothing


def test_a_chat_named_at_its_start_is_not_renamed(client, consultant, app, llm):
    chat = new_chat(client, name="Weekly sync")
    send(client, chat, "Hello")
    assert name_of(app) == "Weekly sync"
    assert title_jobs(app) == []


def test_automatic_titles_can_be_turned_off(client, consultant, app):
    app.config["AUTO_TITLES"] = False
    chat = new_chat(client)
    send(client, chat, "Hello")
    assert name_of(app) == "Hello"
    assert title_jobs(app) == []
