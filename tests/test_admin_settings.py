"""The admin settings page: only admins, a clear error for a wrong value, and chat pages follow
the live-transport choice."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_from, login, new_chat


@pytest.fixture
def admin(make_user, client):
    user = make_user("ada@example.com", "Ada Admin", role="admin")
    login(client, "ada@example.com")
    return user


def test_an_admin_forces_a_transport_and_chat_pages_follow(client, admin, app):
    page = client.get("/admin/settings").get_data(as_text=True)
    assert 'value="auto" checked' in " ".join(page.split())  # the default: CHATAPP_LIVE_TRANSPORT
    response = client.post("/admin/settings", data={"csrf_token": csrf_from(page),
                                                   "live_transport": "poll"})
    assert response.status_code == 303
    saved = client.get("/admin/settings").get_data(as_text=True)
    assert "Settings saved." in saved and 'value="poll" checked' in " ".join(saved.split())
    assert 'data-live-transport="poll"' in client.get(new_chat(client)).get_data(as_text=True)


def test_a_wrong_transport_is_shown_back_with_the_choices(client, admin):
    token = csrf_from(client.get("/admin/settings").get_data(as_text=True))
    response = client.post("/admin/settings", data={"csrf_token": token,
                                                   "live_transport": "pigeon"})
    assert response.status_code == 422
    assert "Choose one of: auto, sse, websocket, poll." in response.get_data(as_text=True)


def test_consultants_get_403_and_no_settings_link(client, consultant):
    assert "/admin/settings" not in client.get("/chats").get_data(as_text=True)
    assert client.get("/admin/settings").status_code == 403
    token = csrf_from(client.get("/chats/new").get_data(as_text=True))
    response = client.post("/admin/settings", data={"csrf_token": token, "live_transport": "poll"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
