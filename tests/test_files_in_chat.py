"""Files in the conversation: sent with a message (only the sender's own, scanned clean ones),
shown in it, read by the reply within a budget (text; images for a vision model) and named
under it; files a reply writes stored and offered as downloads."""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from pathlib import Path

from PIL import Image

from chatapp.extensions import db
from chatapp.models import Attachment, utcnow
from chatapp.services import lifecycle
from tests.conftest import login, messages_of, new_chat, send
from tests.test_uploads import (
    EICAR,
    fetch,
    jpeg_with_gps,
    listed,
    pdf_bytes,
    process,
    upload,
)

JSON = {"Accept": "application/json"}


def uploaded(client, run_worker, local, chat: str, files) -> list[int]:
    """Upload `files` to `chat` and let the media worker scan them: their ids."""
    assert upload(client, chat, files).status_code == 201
    process(run_worker, local)
    return [a["id"] for a in listed(client, chat)[-len(files):]]


def user_prompt(llm) -> str | list:
    """The content of the last user message the fake model was sent."""
    return llm.requests[-1]["messages"][-1]["content"]


def test_a_message_carries_its_files_and_the_reply_reads_them(app, client, consultant, llm,
                                                              run_worker, local):
    chat = new_chat(client)
    ids = uploaded(client, run_worker, local, chat, [
        ("report.pdf", pdf_bytes("Acme revenue grew 12 percent")),
        ("fees.csv", b"client,fee\nAcme,1200\n")])
    assert send(client, chat, "Summarise these", headers=JSON,
                attachment_ids=[str(i) for i in ids]).status_code == 202
    assert run_worker().wait(60) == 0

    question, reply = messages_of(app, chat)
    assert [f["name"] for f in question.to_view()["files"]] == ["report.pdf", "fees.csv"]
    prompt = user_prompt(llm)
    assert prompt.startswith("Summarise these\n\nFile \"report.pdf\":\n")
    assert "Acme revenue grew 12 percent" in prompt
    assert prompt.endswith('File "fees.csv":\nclient,fee\nAcme,1200')
    assert [(f["name"], f["note"]) for f in reply.to_view()["used_files"]] == [
        ("report.pdf", None), ("fees.csv", None)]

    page = client.get(chat).get_data(as_text=True)
    assert "Read:" in page and page.count('class="used-file"') == 2
    link = f"{chat}/attachments/{ids[0]}/file"
    assert f'href="{link}"' in page
    opened = client.get(link)
    assert opened.status_code == 302
    assert fetch(client, opened.headers["Location"])[0] == 200
    with app.app_context():
        assert db.session.get(Attachment, ids[1]).message_id == question.id


def test_files_only_message_is_named_after_its_first_file(app, client, consultant, llm,
                                                          run_worker, local):
    chat = new_chat(client)
    ids = uploaded(client, run_worker, local, chat, [("whiteboard.jpg", jpeg_with_gps())])
    assert send(client, chat, "  ", headers=JSON, attachment_ids=ids).status_code == 202
    question = messages_of(app, chat)[0]
    assert question.content == "" and question.to_view()["files"][0]["name"] == "whiteboard.jpg"
    page = client.get(chat).get_data(as_text=True)
    assert "whiteboard.jpg" in page and f"{chat}/attachments/{ids[0]}/file?thumbnail=1" in page
    thumbnail = client.get(f"{chat}/attachments/{ids[0]}/file?thumbnail=1")
    assert fetch(client, thumbnail.headers["Location"])[1].startswith(b"\x89PNG")


def test_files_that_may_not_be_sent_are_refused_and_nothing_is_lost(
        app, client, consultant, make_user, llm, run_worker, local):
    chat = new_chat(client)
    [clean] = uploaded(client, run_worker, local, chat, [("a.csv", b"x,y\n")])
    [infected] = uploaded(client, run_worker, local, chat, [("eicar.txt", EICAR)])
    other_chat = new_chat(client)
    [elsewhere] = uploaded(client, run_worker, local, other_chat, [("b.csv", b"x,y\n")])
    assert upload(client, chat, [("late.csv", b"p,q\n")]).status_code == 201
    pending = listed(client, chat)[-1]["id"]  # no media worker has run since

    def refused(ids, status, words):
        response = send(client, chat, "Look", headers=JSON, attachment_ids=ids)
        assert response.status_code == status, response.get_json()
        assert words in response.get_json()["error"]["message"]

    refused([pending], 409, "late.csv is still being checked")
    refused([infected], 422, "eicar.txt cannot be sent: Malware found")
    refused([elsewhere], 422, "not in this chat")
    refused(["x"], 422, "attachment ids")
    refused([clean] * 1 + list(range(10**6, 10**6 + 10)), 422, "at most 10 files")
    assert messages_of(app, chat) == []  # nothing was stored by a refused send

    htmx = send(client, chat, "Keep this text", headers={"HX-Request": "true"},
                attachment_ids=[clean, pending])
    assert htmx.status_code == 409
    assert "Keep this text" in htmx.get_data(as_text=True)

    assert send(client, chat, "Now", headers=JSON, attachment_ids=[clean]).status_code == 202
    assert run_worker().wait(60) == 0
    refused([clean], 409, "a.csv was already sent")

    make_user("otto@example.com")
    other = app.test_client()
    login(other, "otto@example.com")
    assert other.get(f"{chat}/attachments/{clean}/file").status_code == 404


def test_an_admin_may_open_the_files_of_a_chat_they_watch(app, client, consultant, make_user,
                                                          llm, run_worker, local):
    chat = new_chat(client)
    [sent] = uploaded(client, run_worker, local, chat, [("brief.csv", b"k,v\n")])
    send(client, chat, "See", headers=JSON, attachment_ids=[sent])
    make_user("ada@example.com", role="admin")
    admin = app.test_client()
    login(admin, "ada@example.com")
    opened = admin.get(f"{chat}/attachments/{sent}/file")
    assert opened.status_code == 302
    assert fetch(admin, opened.headers["Location"]) == (200, b"k,v\n")


def test_long_files_are_cut_to_the_budget_and_the_reply_says_so(app, client, consultant, llm,
                                                                run_worker, local):
    app.config["PROMPT_FILES_TOKEN_BUDGET"] = 1000
    env = {**local, "CHATAPP_PROMPT_FILES_TOKEN_BUDGET": "1000"}
    chat = new_chat(client)
    ids = uploaded(client, run_worker, local, chat, [
        ("long.txt", ("word " * 2000).encode()), ("later.txt", b"never read")])
    send(client, chat, "Read", headers=JSON, attachment_ids=ids)
    assert run_worker(env=env).wait(60) == 0
    prompt = user_prompt(llm)
    assert "[… the rest of this file was left out]" in prompt and "never read" not in prompt
    assert len(prompt) < 1000 * 4 + 100
    [used] = messages_of(app, chat)[1].to_view()["used_files"]
    assert used["name"] == "long.txt" and used["note"].startswith("first 3,")

    # an earlier message's files still reach a later reply, with the history's budget spent
    llm.reset(tokens=["Ok"])
    assert send(client, chat, "And again " + "x" * 2000, headers=JSON).status_code == 202
    assert run_worker(env={**env, "CHATAPP_HISTORY_TOKEN_BUDGET": "100"}).wait(60) == 0
    contents = [m["content"] for m in llm.requests[-1]["messages"]]
    assert any("long.txt" in c for c in contents[1:-1])


def test_images_reach_a_vision_model_only(app, client, consultant, llm, run_worker, local):
    chat = new_chat(client)
    picture = io.BytesIO()
    Image.new("RGB", (3000, 1500), "orange").save(picture, "PNG")
    ids = uploaded(client, run_worker, local, chat, [("board.png", picture.getvalue())])
    send(client, chat, "What is on the board?", headers=JSON, attachment_ids=ids)
    assert run_worker().wait(60) == 0
    assert user_prompt(llm) == "What is on the board?"  # not a vision model: text only
    assert messages_of(app, chat)[1].to_view()["used_files"] == []

    llm.reset()
    send(client, chat, "Look again", headers=JSON)  # the same image, from an earlier message
    assert run_worker(env={**local, "CHATAPP_LLM_VISION": "true"}).wait(60) == 0
    question = next(m for m in llm.requests[-1]["messages"] if isinstance(m["content"], list))
    text, image = question["content"]
    assert text == {"type": "text", "text": "What is on the board?"}
    header, encoded = image["image_url"]["url"].split(",", 1)
    assert header == "data:image/jpeg;base64"
    with Image.open(io.BytesIO(base64.b64decode(encoded))) as sent:
        assert sent.size == (1024, 512)
    assert [f["name"] for f in messages_of(app, chat)[3].to_view()["used_files"]] == ["board.png"]


def test_files_a_reply_writes_are_offered_as_downloads(app, client, consultant, llm, run_worker,
                                                       local):
    llm.reset(tokens=["Here it is:\n\n```csv estimate.csv\nitem,cost\nVMs,1200\n```\n",
                      "\n```text eicar.txt\n", EICAR.decode(), "\n```\n"])
    chat = new_chat(client)
    send(client, chat, "Give me a CSV of the costs")
    assert run_worker(env=local).wait(60) == 0
    reply = messages_of(app, chat)[1]
    [produced] = reply.to_view()["files"]  # the EICAR block was scanned and left out
    assert (produced["name"], produced["content_type"], produced["origin"]) == (
        "estimate.csv", "text/csv", "assistant")
    page = client.get(chat).get_data(as_text=True)
    assert "Download estimate.csv" in page
    opened = client.get(f"{chat}/attachments/{produced['id']}/file")
    assert fetch(client, opened.headers["Location"]) == (200, b"item,cost\nVMs,1200\n")
    listed_files = {a["name"]: a["origin"] for a in listed(client, chat)}
    assert listed_files == {"estimate.csv": "assistant"}


def test_files_never_sent_are_dropped_by_the_upkeep_after_a_day(app, client, consultant, llm,
                                                                run_worker, local):
    chat = new_chat(client)
    old, sent, recent = uploaded(client, run_worker, local, chat, [
        ("left.csv", b"a\n"), ("sent.csv", b"b\n"), ("new.csv", b"c\n")])
    response = send(client, chat, "With one file", headers=JSON, attachment_ids=[sent])
    assert response.status_code == 202, response.get_json()
    with app.app_context():
        for attachment_id in (old, sent):
            db.session.get(Attachment, attachment_id).created_at = utcnow() - timedelta(hours=25)
        db.session.commit()
        left_file = Path(local["CHATAPP_UPLOAD_DIR"]) / db.session.get(Attachment, old).storage_key
        assert left_file.exists()
        assert lifecycle.upkeep().unsent_files == 1
    assert not left_file.exists()
    assert [a["name"] for a in listed(client, chat)] == ["sent.csv", "new.csv"]
