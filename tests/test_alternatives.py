"""Regenerate the last reply, edit the last question, and move between their versions."""

from tests.conftest import answered_chat, csrf_from, messages_of, send

HTMX = {"HX-Request": "true"}


def post(client, chat, path, **form):
    token = csrf_from(client.get(chat).get_data(as_text=True))
    return client.post(f"{chat}/messages/{path}", data={"csrf_token": token, **form}, headers=HTMX)


def test_regenerate_keeps_the_previous_reply_as_a_version(client, consultant, app, llm, run_worker):
    chat = answered_chat(client, run_worker, "First question")
    reply = messages_of(app, chat)[1]
    llm.reset(tokens=["A", " second", " answer."])
    assert post(client, chat, f"{reply.id}/regenerate").status_code == 204
    assert messages_of(app, chat)[1].status == "pending"
    assert run_worker().wait(60) == 0
    reply = messages_of(app, chat)[1]
    assert reply.content == "A second answer." and reply.status == "done"
    assert [v["content"] for v in reply.meta["versions"]] == ["Hello from the fake model.",
                                                              "A second answer."]
    assert reply.to_view()["version"] == 2 and reply.to_view()["versions"] == 2
    assert llm.requests[-1]["messages"][-1] == {"role": "user", "content": "First question"}
    page = client.get(chat).get_data(as_text=True)
    assert "2 / 2" in page

    assert post(client, chat, f"{reply.id}/versions/1").status_code == 204
    reply = messages_of(app, chat)[1]
    assert reply.content == "Hello from the fake model." and reply.meta["shown"] == 0
    assert "1 / 2" in client.get(chat).get_data(as_text=True)
    # the next question builds on the version on show
    llm.reset()
    send(client, chat, "And then?")
    assert run_worker().wait(60) == 0
    history = [m["content"] for m in llm.requests[-1]["messages"][1:]]
    assert history == ["First question", "Hello from the fake model.", "And then?"]
    assert len(messages_of(app, chat)) == 4


def test_edit_the_last_question_and_regenerate(client, consultant, app, llm, run_worker):
    chat = answered_chat(client, run_worker, "Cost of 3 VMs?")
    question, reply = messages_of(app, chat)
    llm.reset(tokens=["About", " 300 USD."])
    assert post(client, chat, f"{question.id}/edit", content="Cost of 3 VMs per month?").status_code == 204
    assert run_worker().wait(60) == 0
    question, reply = messages_of(app, chat)
    assert question.content == "Cost of 3 VMs per month?"
    assert [v["content"] for v in question.meta["versions"]] == ["Cost of 3 VMs?",
                                                                 "Cost of 3 VMs per month?"]
    assert reply.content == "About 300 USD." and len(reply.meta["versions"]) == 2
    assert llm.requests[-1]["messages"][-1]["content"] == "Cost of 3 VMs per month?"
    assert post(client, chat, f"{question.id}/versions/1").status_code == 204
    assert messages_of(app, chat)[0].content == "Cost of 3 VMs?"


def test_only_the_latest_finished_exchange_can_change(client, consultant, app, llm, run_worker):
    chat = answered_chat(client, run_worker, "First question")
    send(client, chat, "Second question")
    first_reply = messages_of(app, chat)[1]
    refused = post(client, chat, f"{first_reply.id}/regenerate")
    assert refused.status_code == 409 and "Only the latest reply" in refused.get_data(as_text=True)
    in_progress = messages_of(app, chat)[3]
    assert post(client, chat, f"{in_progress.id}/regenerate").status_code == 409
    question = messages_of(app, chat)[2]
    assert post(client, chat, f"{question.id}/edit", content="Reworded").status_code == 409
    assert post(client, chat, f"{first_reply.id}/versions/5").status_code == 404
    empty = post(client, chat, f"{messages_of(app, chat)[0].id}/edit", content="  ")
    assert empty.status_code == 422
    assert [m.content for m in messages_of(app, chat)] == [
        "First question", "Hello from the fake model.", "Second question", ""]
