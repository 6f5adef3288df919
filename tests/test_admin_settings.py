"""The admin settings page: only admins, a clear error for a wrong value, and chat pages follow
the live-transport choice."""

from __future__ import annotations

import html
import re

import pytest

from tests.conftest import csrf_from, login, new_chat


def actions_in(page: str) -> str:
    """The quick actions' textarea of the settings page, as the browser would send it back."""
    return html.unescape(re.search(r'name="quick_actions"[^>]*>(.*?)</textarea>', page,
                                   re.S).group(1))


@pytest.fixture
def admin(make_user, client):
    user = make_user("ada@example.com", "Ada Admin", role="admin")
    login(client, "ada@example.com")
    return user


def test_an_admin_forces_a_transport_and_chat_pages_follow(client, admin, app):
    page = client.get("/admin/settings").get_data(as_text=True)
    assert 'value="auto" checked' in " ".join(page.split())  # the default: CHATAPP_LIVE_TRANSPORT
    response = client.post("/admin/settings", data={"csrf_token": csrf_from(page),
                                                   "live_transport": "poll",
                                                   "quick_actions": actions_in(page)})
    assert response.status_code == 303
    saved = client.get("/admin/settings").get_data(as_text=True)
    assert "Settings saved." in saved and 'value="poll" checked' in " ".join(saved.split())
    assert 'data-live-transport="poll"' in client.get(new_chat(client)).get_data(as_text=True)


def test_a_wrong_transport_is_shown_back_with_the_choices(client, admin):
    page = client.get("/admin/settings").get_data(as_text=True)
    response = client.post("/admin/settings", data={"csrf_token": csrf_from(page),
                                                   "live_transport": "pigeon",
                                                   "quick_actions": actions_in(page)})
    assert response.status_code == 422
    assert "Choose one of: auto, sse, websocket, poll." in response.get_data(as_text=True)


def test_consultants_get_403_and_no_settings_link(client, consultant):
    assert "/admin/settings" not in client.get("/chats").get_data(as_text=True)
    assert client.get("/admin/settings").status_code == 403
    token = csrf_from(client.get("/chats/new").get_data(as_text=True))
    response = client.post("/admin/settings", data={"csrf_token": token, "live_transport": "poll"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def test_an_admin_edits_the_quick_actions_and_chat_pages_show_them(client, admin):
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "Cost estimate: Give a rough cost estimate" in html.unescape(page)
    mine = "Cloud bill: Estimate {client}'s monthly cloud bill.\n\nRoadmap: Draft a roadmap."
    saved = client.post("/admin/settings", data={"csrf_token": csrf_from(page),
                                                "live_transport": "auto", "quick_actions": mine})
    assert saved.status_code == 303
    chat_page = client.get(new_chat(client, client_name="Acme")).get_data(as_text=True)
    assert ">Cloud bill</button>" in chat_page and ">Roadmap</button>" in chat_page
    assert "Cost estimate" not in chat_page and "Estimate Acme&#39;s monthly" in chat_page


@pytest.mark.parametrize("actions, message", [
    ("", "Keep 1 to 12 quick actions."),
    ("No colon here", "Quick action line 1: write it as “Label: prompt”."),
    ("x" * 41 + ": prompt", "labels up to 40 characters"),
])
def test_a_wrong_quick_action_list_is_shown_back_and_nothing_saved(client, admin, actions,
                                                                   message):
    page = client.get("/admin/settings").get_data(as_text=True)
    response = client.post("/admin/settings", data={"csrf_token": csrf_from(page),
                                                    "live_transport": "poll",
                                                    "quick_actions": actions})
    assert response.status_code == 422 and message in html.unescape(response.get_data(as_text=True))
    again = client.get("/admin/settings").get_data(as_text=True)
    assert 'value="auto" checked' in " ".join(again.split())  # the transport was not saved
