"""Export (Markdown, JSON, PDF; full record or client notes) and read-only shared links."""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from pypdf import PdfReader

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, SharedLink, User
from tests.conftest import PASSWORD, answered_chat, csrf_from, login
from tests.test_api import Api

HTMX = {"HX-Request": "true"}
AT = datetime(2026, 11, 20, 9, 5, tzinfo=UTC)
ANSWER = "## Plan\n\n- Move the **CRM** first\n- Then the data\n\n```\nterraform apply\n```"


def seeded_chat(app, owner_id: int, name="Acme — review", **fields) -> str:
    """A chat with one message of each kind: a question, an answer, a system note, a failed and a
    stopped reply, and a reply still being written. Returns its URL."""
    with app.app_context():
        chat = ChatSession(owner_id=owner_id, name=name, client_name="Acme Corp",
                           context={"meeting_type": "Architecture review",
                                    "clouds": ["AWS", "Azure"], "custom": {"Budget": "200k EUR"}},
                           created_at=AT, **fields)
        brief = {"id": 1, "name": "brief.pdf", "content_type": "application/pdf", "size": 9,
                 "origin": "upload"}
        rows = [("user", "Cara Consultant", "How do we start?", "done", {"files": [brief]}),
                ("assistant", "Assistant", ANSWER, "done", {}),
                ("system", "chatapp", "Administrator Ada joined the chat", "done", {}),
                ("assistant", "Assistant", "half an ans", "failed", {"error": "Model timed out"}),
                ("assistant", "Assistant", "Stopped here", "cancelled", {}),
                ("assistant", "Assistant", "still writing", "streaming", {})]
        for seq, (sender, author, content, status, meta) in enumerate(rows, start=1):
            chat.messages.append(ChatMessage(seq=seq, sender=sender, author=author,
                                             content=content, status=status, meta=meta,
                                             tokens_in=120, tokens_out=40,
                                             created_at=AT + timedelta(minutes=seq)))
        db.session.add(chat)
        db.session.commit()
        return f"/chats/{chat.id}"


def download(client, chat: str, fmt: str, kind: str = "full"):
    return client.get(f"{chat}/export?format={fmt}&kind={kind}")


def share(client, chat: str, expires="7", headers=None):
    token = csrf_from(client.get(chat).get_data(as_text=True))
    return client.post(chat + "/share", data={"csrf_token": token, "expires": expires},
                       headers=headers or {})


def shared_url(response) -> str:
    match = re.search(r'value="(http://localhost/s/[A-Za-z0-9_-]{43})"',
                      response.get_data(as_text=True))
    assert match, "no shared link on the page"
    return match.group(1).removeprefix("http://localhost")


def test_the_markdown_export_has_the_card_timestamps_and_finished_messages(client, consultant, app):
    chat = seeded_chat(app, consultant.id)
    response = download(client, chat, "md")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert response.headers["Content-Disposition"] == \
        f"attachment; filename=acme-review-{today}.md"
    text = response.get_data(as_text=True)
    assert text.startswith("# Acme — review\n")
    assert f"Chat record exported from chatapp on {today} " in text
    assert "Chat started 2026-11-20 09:05 UTC." in text
    assert "- **Client:** Acme Corp\n- **Meeting type:** Architecture review\n" in text
    assert "- **Cloud providers:** AWS, Azure\n- **Budget:** 200k EUR\n" in text
    assert "### Cara Consultant · 2026-11-20 09:06 UTC\n\nHow do we start?\n\n" \
           "*Files: brief.pdf*" in text
    assert "### Assistant · 2026-11-20 09:07 UTC\n\n" + ANSWER in text
    assert "Administrator Ada joined the chat" in text  # the full record keeps system notes
    assert "*Reply failed: Model timed out*" in text and "*Reply stopped.*" in text
    assert "still writing" not in text  # a reply being written is not finished


def test_client_notes_hold_only_what_a_client_should_read(client, consultant, app):
    chat = seeded_chat(app, consultant.id)
    notes = download(client, chat, "md", "client_notes")
    assert "client-notes" in notes.headers["Content-Disposition"]
    text = notes.get_data(as_text=True)
    assert "Client notes exported from chatapp" in text and "- **Client:** Acme Corp" in text
    assert "How do we start?" in text and "Move the **CRM** first" in text
    assert "Stopped here" in text
    for internal in ("Administrator Ada joined", "half an ans", "Model timed out",
                     "Reply stopped", "still writing"):
        assert internal not in text
    data = download(client, chat, "json", "client_notes").get_json()
    assert data["kind"] == "client_notes"
    assert [m["content"] for m in data["messages"]] == ["How do we start?", ANSWER, "Stopped here"]
    assert set(data["messages"][0]) == {"seq", "sender", "author", "content", "files",
                                        "created_at"}


def test_the_json_export_has_a_documented_structure(client, consultant, app):
    chat = seeded_chat(app, consultant.id)
    response = download(client, chat, "json")
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Disposition"].endswith(".json")
    data = json.loads(response.get_data())
    assert data["format"] == "chatapp.session" and data["version"] == 1
    assert data["kind"] == "full"
    assert datetime.fromisoformat(data["exported_at"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert data["session"] == {
        "id": chat.rsplit("/", 1)[1], "name": "Acme — review",
        "created_at": "2026-11-20T09:05:00+00:00",
        "context_card": [{"label": "Client", "value": "Acme Corp"},
                         {"label": "Meeting type", "value": "Architecture review"},
                         {"label": "Cloud providers", "value": "AWS, Azure"},
                         {"label": "Budget", "value": "200k EUR"}]}
    assert [(m["sender"], m["status"]) for m in data["messages"]] == [
        ("user", "done"), ("assistant", "done"), ("system", "done"), ("assistant", "failed"),
        ("assistant", "cancelled")]
    assert [m["files"] for m in data["messages"][:2]] == [["brief.pdf"], []]
    failed = data["messages"][3]
    assert failed["error"] == "Model timed out" and failed["tokens_out"] == 40
    assert failed["created_at"] == "2026-11-20T09:09:00+00:00"


def test_the_pdf_export_holds_the_text_in_any_language(client, consultant, app):
    chat = seeded_chat(app, consultant.id, name="Привет 😀 日本 review")
    with app.app_context():
        session = db.session.get(ChatSession, uuid.UUID(chat.rsplit("/", 1)[1]))
        session.messages[0].content = "Ünïcödé, Ελληνικά, Русский 🚀 中文 한국어"
        db.session.commit()
    response = download(client, chat, "pdf")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=review-{today}.pdf; "
        f"filename*=UTF-8''{quote(f'привет-日本-review-{today}.pdf')}")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "Привет" in text and "Client: Acme Corp" in text and "Budget: 200k EUR" in text
    assert "Chat started 2026-11-20 09:05 UTC" in text
    assert "Ünïcödé, Ελληνικά, Русский" in text and "中文" in text and "日本" in text
    assert "Plan" in text and "Move the CRM first" in text and "terraform apply" in text
    assert "Reply failed: Model timed out" in text and "still writing" not in text
    notes = download(client, chat, "pdf", "client_notes")
    notes_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(notes.data)).pages)
    assert "Client notes" in notes_text and "Administrator Ada" not in notes_text


def test_a_reply_too_wide_to_lay_out_goes_into_the_pdf_as_text(client, consultant, app):
    chat = seeded_chat(app, consultant.id)
    table = ("|" + "|".join(f"col{i}" for i in range(120)) + "|\n|" + "---|" * 120 + "\n|"
             + "|".join("W" * 40 for _ in range(120)) + "|")
    with app.app_context():
        session = db.session.get(ChatSession, uuid.UUID(chat.rsplit("/", 1)[1]))
        session.messages[1].content = "Many columns:\n\n" + table
        db.session.commit()
    response = download(client, chat, "pdf")
    assert response.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "Many columns:" in text and "|col0|col1|col2|" in text and "How do we start?" in text
    assert "Reply failed: Model timed out" in text  # the messages after it are there too


def test_an_answered_chat_exports_the_real_reply(client, consultant, app, llm, run_worker):
    chat = answered_chat(client, run_worker, "Which risks?")
    text = download(client, chat, "md", "client_notes").get_data(as_text=True)
    reply = [m for m in download(client, chat, "json").get_json()["messages"]
             if m["sender"] == "assistant"][0]
    assert reply["status"] == "done" and reply["content"] and reply["content"] in text
    assert "### Cara Consultant" in text and "Which risks?" in text


def test_bad_export_requests(client, consultant, app, make_user):
    chat = seeded_chat(app, consultant.id)
    for query in ("format=docx", "format=", "format=md&kind=secret"):
        response = client.get(f"{chat}/export?{query}")
        assert response.status_code == 400
        assert "Choose" in response.get_data(as_text=True)
    json_error = client.get(f"{chat}/export?format=xml", headers={"Accept": "application/json"})
    assert json_error.status_code == 400 and json_error.get_json()["error"]["code"] == "bad_request"
    other = make_user("olga@example.com")
    theirs = seeded_chat(app, other.id, name="Olga's secret chat")
    assert download(client, theirs, "md").status_code == 404
    assert download(client, f"/chats/{uuid.uuid4()}", "md").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(client.get(chat).get_data(as_text=True))})
    assert download(client, chat, "md").status_code == 302  # to the sign-in page


def test_the_chat_page_offers_export_and_share(client, consultant, app):
    chat = seeded_chat(app, consultant.id)
    page = client.get(chat).get_data(as_text=True)
    assert '<details class="share-menu">' in page
    assert f'href="{chat}/export?format=pdf&amp;kind=client_notes"' in page
    assert f'href="{chat}/share"' in page


def test_a_shared_link_shows_a_snapshot_to_anyone_and_nothing_of_the_account(
        client, consultant, app, make_user):
    chat = seeded_chat(app, consultant.id)
    seeded_chat(app, consultant.id, name="Another client's chat")
    response = share(client, chat)
    assert response.status_code == 201
    url = shared_url(response)
    token = url.rsplit("/", 1)[1]
    with app.app_context():
        link = db.session.scalar(db.select(SharedLink))
        assert link.prefix == token[:6] and token not in json.dumps(link.snapshot)
        assert token not in (link.token_hash, link.prefix) and len(link.token_hash) == 64
        # a message written after sharing
        session = db.session.get(ChatSession, link.session_id)
        session.messages.append(ChatMessage(seq=7, sender="user", author="Cara Consultant",
                                            content="Our internal margin is 40 %"))
        db.session.commit()
    listed = client.get(chat + "/share").get_data(as_text=True)
    assert f"/s/{token[:6]}…" in listed and token not in listed and "expires 20" in listed

    visitor = app.test_client()
    shown = visitor.get(url)
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert shown.headers["Referrer-Policy"] == "no-referrer"
    assert shown.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in shown.headers
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert "Acme — review" in html and "Acme Corp" in html and "200k EUR" in html
    assert "How do we start?" in html and "<strong>CRM</strong>" in html  # Markdown rendered
    assert "Stopped here" in html
    for hidden in ("Our internal margin", "Administrator Ada", "Model timed out", "still writing",
                   "cara@example.com", "Another client", "Sign out", "csrf", "<form", "<script"):
        assert hidden not in html


def test_the_shared_page_escapes_what_it_shows(client, consultant, app):
    chat = seeded_chat(app, consultant.id, name="<b>Bold</b> plan")
    with app.app_context():
        session = db.session.get(ChatSession, uuid.UUID(chat.rsplit("/", 1)[1]))
        session.client_name = "Acme <img src=x onerror=alert(1)>"
        session.messages[0].content = "<script>alert('q')</script>"
        session.messages[1].content = "[click](javascript:alert(1)) <iframe src=x></iframe>"
        db.session.commit()
    html = app.test_client().get(shared_url(share(client, chat))).get_data(as_text=True)
    assert "&lt;b&gt;Bold&lt;/b&gt; plan" in html and "<b>" not in html
    assert "Acme &lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt;" in html
    assert "<script" not in html and "<iframe" not in html and 'href="javascript' not in html


def test_revoking_a_link_makes_it_404(client, consultant, app):
    chat = seeded_chat(app, consultant.id)
    url = shared_url(share(client, chat))
    other_url = shared_url(share(client, chat, expires="never"))
    with app.app_context():
        link_id = db.session.scalar(db.select(SharedLink.id).order_by(SharedLink.id))
    page = client.get(chat + "/share").get_data(as_text=True)
    revoked = client.post(f"{chat}/share/{link_id}/revoke", data={"csrf_token": csrf_from(page)})
    assert revoked.status_code == 303
    listed = client.get(revoked.headers["Location"]).get_data(as_text=True)
    assert "Link revoked" in listed and "revoked 20" in listed and "never expires" in listed
    gone = app.test_client().get(url)
    assert gone.status_code == 404 and "This link does not work" in gone.get_data(as_text=True)
    assert gone.headers["Referrer-Policy"] == "no-referrer"
    assert app.test_client().get(other_url).status_code == 200  # only that link ended


def test_links_end_when_they_expire_their_chat_is_deleted_or_its_owner_leaves(client, consultant, app):
    chat = seeded_chat(app, consultant.id)
    urls = [shared_url(share(client, chat, expires)) for expires in ("1", "30", "never")]
    visitor = app.test_client()
    assert [visitor.get(url).status_code for url in urls] == [200, 200, 200]
    with app.app_context():
        db.session.get(User, consultant.id).active = False
        db.session.commit()
    assert [visitor.get(url).status_code for url in urls] == [404, 404, 404]
    with app.app_context():
        db.session.get(User, consultant.id).active = True
        db.session.commit()
    with app.app_context():
        first = db.session.scalar(db.select(SharedLink).order_by(SharedLink.id))
        first.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    assert [visitor.get(url).status_code for url in urls] == [404, 200, 200]
    assert "expired 20" in client.get(chat + "/share").get_data(as_text=True)
    session_id = uuid.UUID(chat.rsplit("/", 1)[1])
    with app.app_context():
        db.session.get(ChatSession, session_id).deleted_at = datetime.now(UTC)
        db.session.commit()
    assert [visitor.get(url).status_code for url in urls] == [404, 404, 404]
    with app.app_context():
        db.session.delete(db.session.get(ChatSession, session_id))
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count(SharedLink.id))) == 0
    assert visitor.get(urls[2]).status_code == 404


def test_unknown_tokens_are_404_and_guessing_is_rate_limited(client, app):
    app.config["RATE_LIMIT_SHARED_LINKS"] = 5
    for token in ("abc", "A" * 43, "%00" * 20, "x" * 500):
        response = client.get(f"/s/{token}")
        assert response.status_code in (400, 404)  # NUL characters are refused before lookup
    unknown = client.get("/s/" + "B" * 43)
    assert unknown.status_code == 404 and "This link does not work" in unknown.get_data(True)
    limited = client.get("/s/" + "C" * 43)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


def test_bad_share_requests(client, consultant, app, make_user):
    chat = seeded_chat(app, consultant.id)
    for expires in ("5", "", "forever"):
        response = share(client, chat, expires)
        assert response.status_code == 422
        assert "Choose when the link expires." in response.get_data(as_text=True)
    token = csrf_from(client.get(chat).get_data(as_text=True))
    assert client.post(chat + "/share", data={"expires": "7"}).status_code == 400  # no CSRF
    assert client.post(f"{chat}/share/999/revoke", data={"csrf_token": token}).status_code == 404
    other = make_user("olga@example.com")
    theirs = seeded_chat(app, other.id)
    assert client.get(theirs + "/share").status_code == 404
    assert client.post(theirs + "/share", data={"csrf_token": token, "expires": "7"}
                       ).status_code == 404
    login(other_client := app.test_client(), other.email)
    their_url = shared_url(share(other_client, theirs))
    with app.app_context():
        their_link = db.session.scalar(db.select(SharedLink.id))
    # Cara cannot revoke Olga's link, neither through Olga's chat nor through her own
    assert client.post(f"{theirs}/share/{their_link}/revoke",
                       data={"csrf_token": token}).status_code == 404
    assert client.post(f"{chat}/share/{their_link}/revoke",
                       data={"csrf_token": token}).status_code == 404
    assert app.test_client().get(their_url).status_code == 200
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(SharedLink.id))) == 1


def test_htmx_gets_the_panel_in_place(client, consultant, app):
    chat = seeded_chat(app, consultant.id)
    made = share(client, chat, headers=HTMX)
    html = made.get_data(as_text=True)
    assert made.status_code == 201 and html.lstrip().startswith('<section id="share-panel"')
    assert "<!doctype" not in html and 'data-copy="#share-url"' in html
    refused = share(client, chat, "99", headers=HTMX)
    assert refused.status_code == 422 and 'id="share-error"' in refused.get_data(as_text=True)


def test_the_api_exports_as_its_document_says(client, make_user, app):
    cara = make_user("cara@example.com", "Cara Consultant")
    pair = Api(client).call("POST", "/auth/tokens",
                            {"email": cara.email, "password": PASSWORD}).get_json()
    api = Api(client, pair["access_token"])
    chat = seeded_chat(app, cara.id)
    path = f"/sessions/{chat.rsplit('/', 1)[1]}/export"
    full = api.call("GET", path).get_json()  # checked against the Export schema
    assert full["kind"] == "full" and len(full["messages"]) == 5
    notes = api.call("GET", path, kind="client_notes").get_json()
    assert [m["sender"] for m in notes["messages"]] == ["user", "assistant", "assistant"]
    markdown = api.call("GET", path, format="md", kind="client_notes")
    assert markdown.get_data(as_text=True).startswith("# Acme — review\n")
    pdf = api.call("GET", path, format="pdf")
    assert pdf.data.startswith(b"%PDF-") and "attachment" in pdf.headers["Content-Disposition"]
    bad = api.call("GET", path, format="docx")
    assert bad.status_code == 400 and bad.get_json()["error"]["message"].startswith("Choose")
    assert api.call("GET", path, kind="everything").status_code == 400
    olga = make_user("olga@example.com")
    assert api.call("GET", f"/sessions/{seeded_chat(app, olga.id)[7:]}/export").status_code == 404
    assert Api(app.test_client()).call("GET", path).status_code == 401
