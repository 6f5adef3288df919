"""Organising chats: pin, archive, delete with an undo window, the list's pages, and the API's
side of it; with and without htmx, and what bad input and other users get."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chatapp.extensions import db
from chatapp.models import ChatSession
from chatapp.services import events
from chatapp.services.redis_client import get_redis
from tests.api_contract import check
from tests.conftest import PASSWORD, csrf_from, login, messages_of, new_chat, send, sqlite_app

HTMX = {"HX-Request": "true"}


def names_listed(client, path: str = "/chats") -> list[str]:
    """The chat names of a list page, top to bottom."""
    html = client.get(path).get_data(as_text=True)
    return re.findall(r'<span class="name">(?:<span class="badge[^"]*">\w+</span> )*([^<]+)</span>',
                      html)


def post(client, chat: str, action: str, headers=None, **form):
    token = csrf_from(client.get("/chats/new").get_data(as_text=True))
    return client.post(f"{chat}/{action}", data={"csrf_token": token, **form},
                       headers=headers or {})


def session_of(app, chat: str) -> ChatSession:
    with app.app_context():
        chat_session = db.session.get(ChatSession, uuid.UUID(chat.rsplit("/", 1)[-1]))
        db.session.expunge(chat_session)
        return chat_session


def active_at(app, chat: str, minutes_ago: int) -> None:
    """Set a chat's last activity (the list's order) to `minutes_ago`."""
    with app.app_context():
        chat_session = db.session.get(ChatSession, uuid.UUID(chat.rsplit("/", 1)[-1]))
        chat_session.last_activity_at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        db.session.commit()


@pytest.fixture
def three_chats(client, consultant, app):
    """Three chats, Alpha the most recently active."""
    chats = {name: new_chat(client, name=name) for name in ("Alpha", "Beta", "Gamma")}
    for minutes, chat in enumerate(chats.values()):
        active_at(app, chat, minutes)
    return chats


def test_pin_puts_a_chat_on_top_and_unpin_puts_it_back(client, three_chats, app):
    assert names_listed(client) == ["Alpha", "Beta", "Gamma"]
    pinned = post(client, three_chats["Gamma"], "pin")
    assert pinned.status_code == 303 and pinned.headers["Location"] == "/chats"
    post(client, three_chats["Beta"], "pin")
    assert names_listed(client) == ["Beta", "Gamma", "Alpha"]  # latest pinned first
    html = client.get("/chats").get_data(as_text=True)
    assert html.count('<span class="badge">Pinned</span>') == 2
    post(client, three_chats["Beta"], "unpin")
    assert names_listed(client) == ["Gamma", "Alpha", "Beta"]
    # htmx: a pinned row is moved to the top of the list, an unpinned one changes in place
    moved = post(client, three_chats["Alpha"], "pin", headers=HTMX).get_data(as_text=True)
    assert '<hx-partial hx-target="#session-list" hx-swap="afterbegin">' in moved
    assert "Unpin" in moved and "<html" not in moved
    stays = post(client, three_chats["Alpha"], "unpin", headers=HTMX).get_data(as_text=True)
    assert stays.strip().startswith(f'<li id="session-{session_of(app, three_chats["Alpha"]).id}"')
    assert ">Pin</button>" in stays


def test_archive_moves_a_chat_to_the_archived_list_and_unarchive_brings_it_back(client,
                                                                                three_chats):
    post(client, three_chats["Beta"], "pin")
    archived = post(client, three_chats["Beta"], "archive")
    assert archived.headers["Location"] == "/chats"
    assert names_listed(client) == ["Alpha", "Gamma"]
    assert names_listed(client, "/chats?view=archived") == ["Beta"]
    page = client.get("/chats?view=archived").get_data(as_text=True)
    assert ">Unarchive</button>" in page and ">Pin</button>" not in page
    back = post(client, three_chats["Beta"], "unarchive", back="archived")
    assert back.headers["Location"] == "/chats?view=archived"
    assert names_listed(client) == ["Alpha", "Beta", "Gamma"]  # no longer pinned
    assert "No archived chats" in client.get("/chats?view=archived").get_data(as_text=True)
    gone = post(client, three_chats["Alpha"], "archive", headers=HTMX).get_data(as_text=True)
    assert "<li" not in gone and "“Alpha” archived." in gone  # the row leaves, a note says why
    # from the chat's header: its buttons are answered, a plain form returns to the chat
    header = post(client, three_chats["Gamma"], "archive", headers=HTMX, back="chat")
    assert '<div id="chat-organise"' in header.get_data(as_text=True)
    assert ">Unarchive</button>" in header.get_data(as_text=True)
    plain = post(client, three_chats["Gamma"], "unarchive", back="chat")
    assert plain.headers["Location"] == three_chats["Gamma"].split("localhost")[-1]
    assert ">Archive</button>" in client.get(three_chats["Gamma"]).get_data(as_text=True)


def test_delete_asks_first_hides_the_chat_at_once_and_undo_brings_it_back(client, three_chats,
                                                                          app):
    chat = three_chats["Beta"]
    confirm = client.get(chat + "/delete")
    assert confirm.status_code == 200 and "Delete “Beta”?" in confirm.get_data(as_text=True)
    assert session_of(app, chat).deleted_at is None  # asking deletes nothing
    deleted = post(client, chat, "delete")
    assert deleted.status_code == 303
    listed = client.get(deleted.headers["Location"]).get_data(as_text=True)
    assert "Deleted “Beta”." in listed and ">Undo</button>" in listed
    assert names_listed(client) == ["Alpha", "Gamma"]
    assert client.get(chat).status_code == 404
    undone = post(client, chat, "restore")
    assert undone.status_code == 303 and names_listed(client) == ["Alpha", "Beta", "Gamma"]
    # htmx: the row becomes the Undo (with its time), and Undo gives the row back
    row = post(client, chat, "delete", headers=HTMX).get_data(as_text=True)
    assert 'data-undo-seconds="10"' in row and "Deleted “Beta”." in row
    restored = post(client, chat, "restore", headers=HTMX).get_data(as_text=True)
    assert '<span class="name">Beta</span>' in restored
    assert session_of(app, chat).deleted_at is None


def test_undo_after_the_window_is_404(client, three_chats, app):
    chat = three_chats["Alpha"]
    post(client, chat, "delete")
    with app.app_context():
        row = db.session.get(ChatSession, uuid.UUID(chat.rsplit("/", 1)[-1]))
        row.deleted_at = datetime.now(UTC) - timedelta(seconds=11)
        db.session.commit()
    assert "Undo" not in client.get(f"/chats?deleted={row.id}").get_data(as_text=True)
    assert post(client, chat, "restore").status_code == 404
    assert names_listed(client) == ["Beta", "Gamma"]


def test_a_deleted_chat_is_404_everywhere(client, consultant, app, make_user):
    chat = new_chat(client, name="Secret")
    send(client, chat, "notes")
    reply_id = messages_of(app, chat)[1].id
    post(client, chat, "delete")
    token = csrf_from(client.get("/chats/new").get_data(as_text=True))
    for path in ("", "/events", "/events?wait=0", "/context", "/context/edit", "/metrics",
                 "/name/edit", "/delete"):
        assert client.get(chat + path).status_code == 404, path
    for path in ("/messages", "/actions/0", "/pin", "/archive", "/delete", "/signals",
                 f"/messages/{reply_id}/stop", "/name"):
        response = client.post(chat + path, data={"csrf_token": token, "content": "x",
                                                  "type": "typing", "on": "true"})
        assert response.status_code == 404, path
    assert "Secret" not in client.get("/chats").get_data(as_text=True)
    assert "Secret" not in client.get("/chats?view=archived").get_data(as_text=True)
    api_path = "/api/v1/sessions/" + chat.rsplit("/", 1)[-1]
    for path in (api_path, api_path + "/messages", api_path + "/events?wait=0"):
        assert client.get(path).status_code == 404, path
    assert client.get("/api/v1/sessions").get_json()["items"] == []
    make_user("ada@example.com", role="admin")  # admins watch sessions live: not a deleted one
    admin = app.test_client()
    login(admin, "ada@example.com")
    assert admin.get(chat + "/events?wait=0").status_code == 404


def test_deleting_while_a_reply_is_written_stops_it_first(client, consultant, app):
    chat = new_chat(client)
    send(client, chat, "Hello")
    assert messages_of(app, chat)[1].status == "pending"
    post(client, chat, "delete")
    reply = messages_of(app, chat)[1]
    assert reply.status == "cancelled"
    with app.app_context():
        log = events.read(get_redis(), reply.session_id, "0-0", None)
    assert [e.type for e in log[-2:]] == ["reply.cancelled", "session.updated"]
    assert log[-1].data == {"id": str(reply.session_id), "deleted": True}


def test_another_users_chat_is_404_for_every_action(client, three_chats, app, make_user):
    make_user("mallory@example.com")
    other = app.test_client()
    assert login(other, "mallory@example.com").status_code == 302
    chat = three_chats["Alpha"]
    for action in ("pin", "unpin", "archive", "unarchive", "delete", "restore"):
        assert post(other, chat, action).status_code == 404, action
        assert post(other, chat, action, headers=HTMX).status_code == 404, action
    assert other.get(chat + "/delete").status_code == 404
    post(client, chat, "delete")
    assert post(other, chat, "restore").status_code == 404  # nor can they undo the owner's delete
    assert "Alpha" not in other.get(f"/chats?deleted={chat.rsplit('/', 1)[-1]}").get_data(
        as_text=True)
    assert session_of(app, chat).deleted_at is not None


def test_bad_input_gets_clear_answers(client, three_chats):
    chat = three_chats["Alpha"]
    for cursor in ("nonsense", "bm9wZQ", "WyJ4IiwgInkiXQ"):  # not base64 JSON / not a pair / bad
        for headers in ({}, HTMX):
            response = client.get(f"/chats?cursor={cursor}", headers=headers)
            assert response.status_code == 400
            assert "not one chatapp gave" in response.get_data(as_text=True)
    assert client.get("/chats?view=trash").status_code == 400
    assert "view must be" in client.get("/chats?view=trash").get_data(as_text=True)
    assert post(client, chat, "frobnicate").status_code == 404  # no such action
    for action in ("pin", "unpin", "archive", "unarchive", "restore"):
        assert client.get(f"{chat}/{action}").status_code == 405, action
    for action in ("pin", "archive", "delete", "restore"):
        refused = client.post(f"{chat}/{action}")  # no CSRF token
        assert refused.status_code == 400 and "form expired" in refused.get_data(as_text=True)
    assert names_listed(client) == ["Alpha", "Beta", "Gamma"]
    assert client.get("/chats?deleted=not-a-uuid").status_code == 200
    assert post(client, chat, "restore").status_code == 404  # not deleted: nothing to undo
    assert post(client, chat, "pin", back="https://evil.example").headers["Location"] == "/chats"


def test_the_list_comes_a_page_at_a_time_pinned_chats_first(client, consultant, app):
    app.config["SESSIONS_PER_PAGE"] = 3
    chats = [new_chat(client, name=f"Chat {i}") for i in range(8)]
    for minutes, chat in enumerate(chats):
        active_at(app, chat, minutes)
    post(client, chats[7], "pin")
    post(client, chats[5], "pin")
    first = client.get("/chats").get_data(as_text=True)
    assert names_listed(client) == ["Chat 5", "Chat 7", "Chat 0", "Chat 1", "Chat 2"]
    more = re.search(r'<a href="(/chats\?cursor=[^"]+)" hx-get="\1" hx-trigger="revealed"', first)
    assert more, "no link to the next page"
    seen = []
    url = more.group(1).replace("&amp;", "&")
    while url:
        rows = client.get(url, headers=HTMX).get_data(as_text=True)
        assert "<html" not in rows
        seen += re.findall(r'<span class="name">([^<]+)</span>', rows)
        following = re.search(r'hx-get="(/chats\?cursor=[^"]+)"', rows)
        url = following.group(1).replace("&amp;", "&") if following else None
    assert seen == ["Chat 3", "Chat 4", "Chat 6"]
    # without JavaScript the link opens the next page on its own
    plain = names_listed(client, more.group(1).replace("&amp;", "&"))
    assert plain == ["Chat 3", "Chat 4", "Chat 6"]


@pytest.fixture
def bearer(client, make_user):
    """An API client's token and a call helper checked against the OpenAPI document."""
    make_user("cara@example.com", "Cara Consultant")
    pair = client.post("/api/v1/auth/tokens",
                       json={"email": "cara@example.com", "password": PASSWORD}).get_json()

    def call(method: str, path: str, body=None, **query):
        response = client.open(f"/api/v1{path}", method=method, json=body, query_string=query,
                               headers={"Authorization": f"Bearer {pair['access_token']}"})
        return check(response, method, f"/api/v1{path}")

    return call


def test_the_api_pins_archives_and_never_lists_deleted_sessions(bearer, client, app):
    ids = [bearer("POST", "/sessions", {"name": name}).get_json()["id"]
           for name in ("One", "Two", "Three")]
    assert bearer("GET", f"/sessions/{ids[0]}").get_json()["pinned"] is False
    view = bearer("PATCH", f"/sessions/{ids[0]}", {"pinned": True}).get_json()
    assert (view["pinned"], view["archived"]) == (True, False)
    view = bearer("PATCH", f"/sessions/{ids[0]}", {"archived": True}).get_json()
    assert (view["pinned"], view["archived"]) == (False, True)  # archiving unpins
    listed = [s["name"] for s in bearer("GET", "/sessions").get_json()["items"]]
    assert listed == ["Three", "Two"]
    archived = bearer("GET", "/sessions", archived="true").get_json()["items"]
    assert [s["name"] for s in archived] == ["One"]
    with app.app_context():
        db.session.get(ChatSession, uuid.UUID(ids[1])).deleted_at = datetime.now(UTC)
        db.session.commit()
    assert [s["name"] for s in bearer("GET", "/sessions").get_json()["items"]] == ["Three"]
    assert bearer("GET", f"/sessions/{ids[1]}").status_code == 404
    assert bearer("PATCH", f"/sessions/{ids[1]}", {"pinned": False}).status_code == 404
    assert bearer("DELETE", f"/sessions/{ids[1]}").status_code == 404
    bad = bearer("GET", "/sessions", archived="yes")
    assert bad.status_code == 400 and bad.get_json()["error"]["details"] == {"field": "archived"}
    bad = bearer("PATCH", f"/sessions/{ids[2]}", {"pinned": "yes"})
    assert bad.status_code == 422 and "pinned must be true or false" in bad.get_json()[
        "error"]["message"]
    assert bearer("GET", "/sessions", cursor="nonsense").status_code == 400


def test_organising_and_paging_on_sqlite(app_config, tmp_path):
    """The embedded default stores datetimes without their zone: the cursor, pins and the undo
    window must work there too."""
    app = sqlite_app(app_config, tmp_path / "chatapp.db", SESSIONS_PER_PAGE=2)
    client = app.test_client()
    login(client, "cara@example.com")
    chats = [new_chat(client, name=f"Chat {i}") for i in range(5)]
    for minutes, chat in enumerate(chats):
        active_at(app, chat, minutes)
    post(client, chats[4], "pin")
    assert names_listed(client) == ["Chat 4", "Chat 0", "Chat 1"]
    cursor = re.search(r'hx-get="/chats\?cursor=([^"]+)"', client.get("/chats").get_data(
        as_text=True)).group(1)
    assert names_listed(client, f"/chats?cursor={cursor}") == ["Chat 2", "Chat 3"]
    post(client, chats[0], "delete")
    assert post(client, chats[0], "restore").status_code == 303
    assert names_listed(client) == ["Chat 4", "Chat 0", "Chat 1"]
