"""Search, on PostgreSQL (full-text search) and on SQLite (FTS5): what matches, the snippets, who
finds what, the filters, paging, the search inside one chat and what bad input gets."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from chatapp import create_app
from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, User, utcnow
from tests.conftest import PASSWORD, login, new_chat
from tests.test_api import Api, api  # noqa: F401  (the API fixture)

HTMX = {"HX-Request": "true"}


@dataclass
class Site:
    """An app on one database, with Cara signed in on `client` and Bob, another consultant."""

    app: Flask
    client: FlaskClient
    bob: int

    def chat(self, name: str = "", client_name: str = "", **fields) -> uuid.UUID:
        """A chat of Cara's (made through the form); `fields` set on the row afterwards."""
        session_id = uuid.UUID(new_chat(self.client, name=name, client_name=client_name)
                               .rsplit("/", 1)[-1])
        if fields:
            self.update(session_id, **fields)
        return session_id

    def update(self, session_id: uuid.UUID, **fields) -> None:
        with self.app.app_context():
            chat = db.session.get(ChatSession, session_id)
            for key, value in fields.items():
                setattr(chat, key, value)
            db.session.commit()

    def say(self, session_id: uuid.UUID, *texts: str, status: str = "done",
            at: datetime | None = None) -> list[int]:
        """Messages stored in the chat (as a reply finishing stores them); their ids."""
        with self.app.app_context():
            last = db.session.scalar(db.select(db.func.max(ChatMessage.seq))
                                     .filter_by(session_id=session_id)) or 0
            rows = [ChatMessage(session_id=session_id, seq=last + i, sender="assistant",
                                author="Assistant", content=text, status=status,
                                **({"created_at": at} if at else {}))
                    for i, text in enumerate(texts, 1)]
            db.session.add_all(rows)
            db.session.commit()
            return [row.id for row in rows]

    def search(self, headers=None, **args) -> tuple[int, str]:
        response = self.client.get("/search", query_string=args, headers=headers or {})
        return response.status_code, response.get_data(as_text=True)

    def hits(self, **args) -> list[str]:
        """The links of the hits found, in order."""
        status, html = self.search(**args)
        assert status == 200, html
        return re.findall(r'<li class="hit">\s*<a href="([^"]+)"', html)


def _users(app: Flask) -> int:
    with app.app_context():
        users = [User(email=email, display_name=name) for email, name in
                 (("cara@example.com", "Cara Consultant"), ("bob@example.com", "Bob"))]
        for user in users:
            user.set_password(PASSWORD)
        db.session.add_all(users)
        db.session.commit()
        return users[1].id


@pytest.fixture(params=["postgresql", "sqlite"])
def site(request, app_config, tmp_path) -> Site:
    """The app on PostgreSQL (the run's database) or on a SQLite file built by the migrations,
    as `make run` builds it."""
    if request.param == "postgresql":
        app = request.getfixturevalue("app")
    else:
        redis.Redis.from_url(app_config["REDIS_URL"]).flushdb()
        app = create_app({**app_config, "TESTING": True,
                          "DATABASE_URL": f"sqlite:///{tmp_path / 'chatapp.db'}"})
        with app.app_context():
            upgrade()
    bob = _users(app)
    client = app.test_client()
    assert login(client, "cara@example.com").status_code == 302
    yield Site(app, client, bob)
    if request.param == "sqlite":
        with app.app_context():
            db.engine.dispose()


def message_link(session_id: uuid.UUID, message_id: int) -> str:
    return f"/chats/{session_id}?around={message_id}#msg-{message_id}"


def test_messages_names_and_clients_match_with_the_words_marked(site):
    acme = site.chat("Kickoff meeting", "Acme Corp")
    [kube, _] = site.say(acme, "We plan the migration to Kubernetes next spring.",
                         "Budget: 10k for example.com hosting.")
    other = site.chat("Retrospective")
    site.say(other, "Nothing about containers here.")

    status, html = site.search(q="kubernetes")
    assert status == 200
    assert site.hits(q="kubernetes") == [message_link(acme, kube)]
    assert "<mark>Kubernetes</mark>" in html and "Kickoff meeting" in html and "Acme Corp" in html
    assert site.hits(q="Kube") == [message_link(acme, kube)]  # the word being typed: a prefix
    assert site.hits(q="kube plan") == []  # only the last word is a prefix
    assert site.hits(q="example.com") != []
    assert site.hits(q='"migration to kubernetes"') == [message_link(acme, kube)]
    assert site.hits(q='"kubernetes to migration"') == []
    assert site.hits(q="kubernetes -spring") == []

    status, html = site.search(q="acme")
    assert site.hits(q="acme") == [f"/chats/{acme}"]
    assert "<mark>Acme</mark> Corp" in html
    assert site.hits(q="retro") == [f"/chats/{other}"]
    assert "<mark>Retrospective</mark>" in site.search(q="retrospective")[1]


def test_snippets_and_names_are_escaped(site):
    chat = site.chat("<img src=x onerror=alert(1)> Acme")
    site.say(chat, 'Kubernetes & <script>alert("x")</script> in one reply')
    status, html = site.search(q="kubernetes")
    assert status == 200
    assert "<script>alert" not in html and "<img src=x" not in html
    snippet = re.search(r'<span class="snippet">(.*?)</span>', html, re.S).group(1)
    assert "<mark>Kubernetes</mark> &amp; &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; in" in snippet
    assert "&lt;img src=x onerror=alert(1)&gt; Acme" in html
    # the text inside markup is found too (PostgreSQL's parser would skip it as an HTML tag)
    assert "&lt;<mark>script</mark>&gt;" in site.search(q="script")[1]


def test_only_the_users_own_finished_messages_of_chats_not_deleted_are_found(site):
    mine = site.chat("Mine")
    [found] = site.say(mine, "zebra crossing")
    site.say(mine, "zebra stripes being written", status="streaming")
    deleted = site.chat("Deleted zebra")
    site.say(deleted, "zebra in a deleted chat")
    site.update(deleted, deleted_at=datetime.now(UTC))
    with site.app.app_context():
        theirs = ChatSession(owner_id=site.bob, name="Zebra project", context={})
        db.session.add(theirs)
        db.session.commit()
    site.say(theirs.id, "zebra of Bob's")
    assert site.hits(q="zebra") == [message_link(mine, found)]
    # a reply written since: updated in place, as a worker finishes it
    [reply] = site.say(mine, "", status="pending")
    with site.app.app_context():
        row = db.session.get(ChatMessage, reply)
        row.content, row.status = "zebra summary at last", "done"
        db.session.commit()
    assert message_link(mine, reply) in site.hits(q="summary")
    with site.app.app_context():
        db.session.delete(db.session.get(ChatMessage, reply))
        db.session.commit()
    assert site.hits(q="summary") == []


def test_each_filter_narrows_the_hits(site):
    now = datetime.now(UTC)
    acme = site.chat("Acme workshop", "Acme")
    globex = site.chat("Globex review", "Globex", status="ended")
    idle = site.chat("Idle one", "Acme", status="idle")
    archived = site.chat("Old one", "Globex", archived_at=now, status="idle")
    site.update(acme, status="active")  # (each new chat made the others idle)
    [in_acme] = site.say(acme, "invoice", at=datetime(2026, 3, 10, 12, tzinfo=UTC))
    [in_globex] = site.say(globex, "invoice", at=datetime(2026, 3, 20, 23, 59, tzinfo=UTC))
    [in_idle] = site.say(idle, "invoice", at=datetime(2026, 4, 1, 0, 0, tzinfo=UTC))
    [in_archived] = site.say(archived, "invoice", at=datetime(2026, 5, 1, tzinfo=UTC))

    def found(**filters):
        return {int(link.rsplit("-", 1)[1]) for link in site.hits(q="invoice", **filters)}

    assert found() == {in_acme, in_globex, in_idle, in_archived}
    assert found(client="Acme") == {in_acme, in_idle}
    assert found(status="active") == {in_acme}
    assert found(status="ended") == {in_globex}
    assert found(status="idle") == {in_idle}
    assert found(status="archived") == {in_archived}
    assert found(**{"from": "2026-03-20", "to": "2026-04-01"}) == {in_globex, in_idle}
    assert found(**{"from": "2026-04-02"}) == {in_archived}
    assert found(to="2026-03-19") == {in_acme}
    assert found(client="Globex", status="ended", to="2026-03-31") == {in_globex}
    assert found(client="Nobody") == set()
    assert found(**{"from": "0001-01-01", "to": "9999-12-31"}) == found()
    page = site.search()[1]
    assert '<option >Acme</option>' in page.replace("selected", "") and "Globex</option>" in page


def test_hits_rank_by_relevance_then_recency_and_come_in_pages(site):
    chat = site.chat("Paging")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [site.say(chat, "roadmap item", at=start + timedelta(hours=i))[0] for i in range(25)]
    [best] = site.say(chat, "roadmap roadmap roadmap", at=start - timedelta(days=1))
    status, html = site.search(q="roadmap")
    links = site.hits(q="roadmap")
    assert len(links) == 20
    assert links[0] == message_link(chat, best)  # the most relevant, although the oldest
    assert links[1:] == [message_link(chat, i) for i in reversed(ids)][:19]  # then the newest
    more = re.search(r'<li class="more">\s*<a class="button" href="([^"]+)"', html).group(1)
    assert "page=2" in more and "q=roadmap" in more
    rest = site.client.get(more.replace("&amp;", "&"), headers=HTMX).get_data(as_text=True)
    assert "<html" not in rest and "More results" not in rest
    assert re.findall(r'<li class="hit">\s*<a href="([^"]+)"', rest) == [
        message_link(chat, i) for i in reversed(ids[:6])]
    assert len(site.hits(q="roadmap", page="2")) == 6  # without JavaScript: page 2 on its own


def test_htmx_gets_the_results_alone(site):
    chat = site.chat("Typing")
    site.say(chat, "quarterly forecast")
    response = site.client.get("/search?q=forec", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<section id="search-results"' in html and "<html" not in html
    assert "<mark>forecast</mark>" in html
    assert "Type a few words" in site.search(q="")[1]
    assert "Nothing matches “nonexistent”" in site.search(q="nonexistent")[1]


@pytest.mark.parametrize("args, message", [
    ({"from": "2026-13-01"}, "The “from” date must be a date like 2026-11-24."),
    ({"to": "yesterday"}, "The “to” date must be a date like 2026-11-24."),
    ({"from": "2026-1-1"}, "The “from” date must be a date like 2026-11-24."),
    ({"from": "2026-05-02", "to": "2026-05-01"}, "The “from” date must not be after the “to” date."),
    ({"q": "x" * 201}, "Search for at most 200 characters."),
    ({"status": "deleted"}, "Status must be one of: active, idle, ended, archived."),
    ({"page": "0"}, "Page must be a number from 1 to 1000."),
    ({"page": "two"}, "Page must be a number from 1 to 1000."),
])
def test_bad_input_gets_a_clear_message_in_the_form(site, args, message):
    status, html = site.search(**{"q": "anything", **args})
    assert status == 422
    assert message in html
    assert 'id="search-form"' in html and 'role="alert"' in html
    status, fragment = site.search(headers=HTMX, **{"q": "anything", **args})
    assert status == 422 and message in fragment and "<html" not in fragment


@pytest.mark.parametrize("text", [
    '"', '"unbalanced', "a*", "*", "-", "--x", "NEAR(a b)", "a NEAR b", "content:secret",
    "(a OR b)", "AND", "a AND NOT b", "^start", "x:*", "'quote", "!", "a & b | c", "<->",
    "\\", "a:b:c", "{a b}", "😀", "-\"only excluded\"",
])
def test_query_syntax_characters_are_just_text(site, text):
    chat = site.chat("Syntax")
    site.say(chat, "secret content with a AND b, NEAR(a b) and x:y")
    status, html = site.search(q=text)
    assert status == 200
    status, _ = site.search(q=text, headers=HTMX)
    assert status == 200
    assert site.client.get(f"/chats/{chat}/search", query_string={"q": text}).status_code == 200


def test_a_nul_character_is_refused(site):
    assert site.search(q="a\x00b")[0] == 400


def test_search_inside_one_chat_lists_its_hits_in_order_with_links_to_them(site):
    chat = site.chat("Design review")
    first, _, last = site.say(chat, "the cache layer", "unrelated", "cache invalidation again")
    elsewhere = site.chat("Elsewhere")
    site.say(elsewhere, "cache everywhere")
    page = site.client.get(f"/chats/{chat}").get_data(as_text=True)
    assert f'hx-get="/chats/{chat}/search"' in page and "Search this chat" in page

    response = site.client.get(f"/chats/{chat}/search?q=cache", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert re.findall(r'<a href="([^"]+)"', html) == [message_link(chat, first).replace("&", "&amp;"),
                                                     message_link(chat, last).replace("&", "&amp;")]
    assert "<mark>cache</mark>" in html
    plain = site.client.get(f"/chats/{chat}/search?q=cach").get_data(as_text=True)
    assert "<html" in plain and "Back to the chat" in plain and "<mark>cache</mark>" in plain
    assert "No message of this chat matches" in site.client.get(
        f"/chats/{chat}/search?q=everywhere").get_data(as_text=True)
    assert site.client.get(f"/chats/{chat}/search?q={'x' * 201}").status_code == 422
    assert site.client.get(f"/chats/{chat}/search?q=a%00").status_code == 400


def test_others_chats_cannot_be_searched_inside_and_search_needs_a_sign_in(site):
    with site.app.app_context():
        theirs = ChatSession(owner_id=site.bob, name="Bob's", context={})
        db.session.add(theirs)
        db.session.commit()
    assert site.client.get(f"/chats/{theirs.id}/search?q=x").status_code == 404
    anonymous = site.app.test_client()
    assert anonymous.get("/search?q=x").status_code == 302
    assert 'action="/search"' in site.client.get("/chats").get_data(as_text=True)  # the top bar


def test_sqlite_migration_indexes_the_messages_already_there(app_config, tmp_path):
    redis.Redis.from_url(app_config["REDIS_URL"]).flushdb()
    app = create_app({**app_config, "TESTING": True,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'chatapp.db'}"})
    with app.app_context():
        upgrade(revision="0005")
        # the users table as it was then (the model has columns of later revisions)
        owner_id = db.session.execute(sa.text(
            "INSERT INTO users (email, display_name, password_hash, role, active, created_at,"
            " updated_at) VALUES ('cara@example.com', 'Cara', :hash, 'consultant', 1, :now, :now)"
            " RETURNING id"), {"hash": generate_password_hash(PASSWORD), "now": utcnow()}
        ).scalar_one()
        chat = ChatSession(owner_id=owner_id, name="Before search", client_name="Initech",
                           context={})
        db.session.add(chat)
        db.session.flush()
        db.session.add(ChatMessage(session_id=chat.id, seq=1, sender="user", author="Cara",
                                   content="written before the upgrade"))
        db.session.commit()
        upgrade()
    client = app.test_client()
    login(client, "cara@example.com")
    html = client.get("/search?q=upgrade").get_data(as_text=True)
    assert "<mark>upgrade</mark>" in html
    assert "<mark>Initech</mark>" in client.get("/search?q=initech").get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


def test_the_api_searches_as_the_page_does(api, app):  # noqa: F811
    chat = api.call("POST", "/sessions", {"name": "Acme <kickoff>", "client_name": "Acme"})
    session_id = chat.get_json()["id"]
    with app.app_context():
        rows = [ChatMessage(session_id=uuid.UUID(session_id), seq=i, sender="user", author="Cara",
                            content=f"roadmap <b>step</b> {i}") for i in range(1, 24)]
        db.session.add_all(rows)
        db.session.commit()
    first = api.call("GET", "/search", q="roadm").get_json()
    assert len(first["items"]) == 20 and first["next_page"] == 2
    hit = first["items"][0]
    assert hit["session_id"] == session_id and hit["session_name"] == "Acme <kickoff>"
    assert hit["client_name"] == "Acme" and hit["status"] == "active"
    assert hit["message_id"] == rows[-1].id  # equally relevant: the newest first
    assert hit["snippet"] == "<mark>roadmap</mark> &lt;b&gt;step&lt;/b&gt; 23"
    rest = api.call("GET", "/search", q="roadm", page=2).get_json()
    assert len(rest["items"]) == 3 and rest["next_page"] is None
    named = api.call("GET", "/search", q="kickoff").get_json()["items"]
    assert [(h["message_id"], h["snippet"]) for h in named] == [
        (None, "Acme &lt;<mark>kickoff</mark>&gt;")]
    for bad in ({}, {"q": " "}, {"q": "x" * 201}, {"q": "a", "from": "2026-02-30"},
                {"q": "a", "from": "2026-05-02", "to": "2026-05-01"}, {"q": "a", "page": "0"},
                {"q": "a", "status": "deleted"}):
        error = api.call("GET", "/search", **bad)
        assert error.status_code == 400 and error.get_json()["error"]["message"]
    assert Api(api.client).call("GET", "/search", q="roadmap").status_code == 401
