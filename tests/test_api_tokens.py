"""Personal API tokens: made on the settings page and shown once, stored hashed, sent as a bearer
token (no CSRF token needed, no cookie used), refused once revoked or expired."""

from __future__ import annotations

import re
from datetime import timedelta

from chatapp.extensions import db
from chatapp.models import ApiToken, utcnow
from tests.conftest import csrf_from, login, new_chat

ACCEPT_JSON = {"Accept": "application/json"}


def make_token(client, name="CRM sync", expires="90") -> str:
    page = client.get("/settings/tokens").get_data(as_text=True)
    response = client.post("/settings/tokens", data={"csrf_token": csrf_from(page), "name": name,
                                                     "expires": expires})
    assert response.status_code == 201
    return re.search(r'id="new-token"[^>]*value="(chat_[A-Za-z0-9_-]+)"',
                     response.get_data(as_text=True)).group(1)


def test_a_token_is_shown_once_and_stored_only_as_a_hash(client, consultant, app):
    token = make_token(client)
    listing = client.get("/settings/tokens").get_data(as_text=True)
    assert token not in listing and token[:12] + "…" in listing and "CRM sync" in listing
    with app.app_context():
        stored = db.session.scalar(db.select(ApiToken))
        assert token not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64
        assert timedelta(days=89) < stored.expires_at - utcnow() <= timedelta(days=90)


def test_a_bearer_token_acts_as_its_user_without_csrf(client, consultant, app):
    chat = new_chat(client)
    token = make_token(client)
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/chats").get_data(as_text=True))})
    sent = client.post(chat + "/messages", data={"content": "From a script"},
                       headers={**ACCEPT_JSON, "Authorization": f"Bearer {token}"})
    assert sent.status_code == 202 and sent.get_json()["message"]["author"] == consultant.display_name


def test_a_cookie_request_without_csrf_token_is_refused(client, consultant):
    chat = new_chat(client)
    response = client.post(chat + "/messages", data={"content": "Forged"}, headers=ACCEPT_JSON)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf_failed"


def test_a_request_with_a_token_ignores_the_session_cookie(client, consultant, make_user):
    chat = new_chat(client)
    assert client.get(chat, headers={"Authorization": "Bearer chat_not-a-real-token"},
                      ).status_code == 302  # to the sign-in page: the cookie did not count


def test_revoked_and_expired_tokens_are_refused(client, consultant, app):
    chat = new_chat(client)
    revoked, expired = make_token(client, "old"), make_token(client, "short", "30")
    listing = client.get("/settings/tokens").get_data(as_text=True)
    token_id = re.search(r'/settings/tokens/(\d+)/revoke', listing).group(1)  # newest first
    with app.app_context():
        short = db.session.get(ApiToken, int(token_id))
        assert short.name == "short"
        short.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        old_id = db.session.scalar(db.select(ApiToken.id).filter_by(name="old"))
    response = client.post(f"/settings/tokens/{old_id}/revoke",
                           data={"csrf_token": csrf_from(listing)})
    assert response.status_code == 303
    for token in (revoked, expired):
        answer = client.get(chat + "/events", query_string={"wait": 0},
                            headers={**ACCEPT_JSON, "Authorization": f"Bearer {token}"})
        assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized"


def test_tokens_of_another_user_cannot_be_revoked(client, consultant, make_user, app):
    make_token(client)
    with app.app_context():
        token_id = db.session.scalar(db.select(ApiToken.id))
    make_user("other@example.com", "Other")
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/chats").get_data(as_text=True))})
    login(client, "other@example.com")
    token = csrf_from(client.get("/settings/tokens").get_data(as_text=True))
    assert client.post(f"/settings/tokens/{token_id}/revoke", data={"csrf_token": token}
                       ).status_code == 404


def test_a_token_needs_a_name_and_an_expiry_choice(client, consultant):
    token = csrf_from(client.get("/settings/tokens").get_data(as_text=True))
    nameless = client.post("/settings/tokens", data={"csrf_token": token, "name": " ",
                                                     "expires": "90"})
    assert nameless.status_code == 422 and "Give the token a name" in nameless.get_data(as_text=True)
    odd = client.post("/settings/tokens", data={"csrf_token": token, "name": "x", "expires": "7"})
    assert odd.status_code == 422 and "Choose when the token expires" in odd.get_data(as_text=True)
