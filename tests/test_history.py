"""A long chat opens with its latest page; older and newer pages load on request (htmx, or a
plain link without JavaScript); ?around= opens the page around one message."""

import re

import pytest

from chatapp import create_app
from tests.conftest import add_history, login, messages_of, new_chat, send

HTMX = {"HX-Request": "true"}


def shown(html: str) -> list[int]:
    """The seq of every message in a page or fragment, in order."""
    return [int(seq) for seq in re.findall(r'<article id="msg-\d+" [^>]*data-seq="(\d+)"', html)]


def link(html: str, direction: str) -> str | None:
    """The seq of the page's link to older ("before") or newer ("after") messages."""
    match = re.search(rf'hx-get="/chats/[0-9a-f-]+/messages\?{direction}=(\d+)"', html)
    return match and match.group(1)


@pytest.fixture
def long_chat(client, consultant, app):
    """A chat of 120 stored messages."""
    chat = new_chat(client)
    add_history(app, chat, 120)
    return chat


def test_a_long_chat_opens_with_its_latest_page(client, long_chat):
    html = client.get(long_chat).get_data(as_text=True)
    assert shown(html) == list(range(71, 121))
    assert link(html, "before") == "71" and link(html, "after") is None
    assert "Show older messages" in html and "Jump to latest" not in html


def test_older_pages_load_until_the_start_of_the_history(client, long_chat):
    first = client.get(long_chat + "/messages?before=71", headers=HTMX)
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and "<html" not in html
    assert '<hx-upsert hx-target="#messages" key="data-seq" sort>' in html
    assert shown(html) == list(range(21, 71))
    assert link(html, "before") == "21"
    assert "HX-Request" in first.headers["Vary"]
    last = client.get(long_chat + "/messages?before=21", headers=HTMX).get_data(as_text=True)
    assert shown(last) == list(range(1, 21))
    assert link(last, "before") is None and "Show older" not in last  # the start: no more link
    small = client.get(long_chat + "/messages?before=71&limit=5", headers=HTMX)
    assert shown(small.get_data(as_text=True)) == list(range(66, 71))


def test_newer_pages_load_until_the_latest(client, long_chat):
    html = client.get(long_chat + "/messages?after=10&limit=5", headers=HTMX).get_data(as_text=True)
    assert shown(html) == list(range(11, 16)) and link(html, "after") == "15"
    assert link(html, "before") is None  # the page already shows the older ones
    end = client.get(long_chat + "/messages?after=100", headers=HTMX).get_data(as_text=True)
    assert shown(end) == list(range(101, 121)) and link(end, "after") is None


def test_without_javascript_the_links_open_pages_of_the_history(client, long_chat):
    response = client.get(long_chat + "/messages?before=71")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html and 'id="composer"' in html
    assert "HX-Request" in response.headers["Vary"]
    assert shown(html) == list(range(21, 71))
    assert link(html, "before") == "21" and link(html, "after") == "70"
    assert f'href="{long_chat.split("localhost")[-1]}#composer">Jump to latest' in html
    newer = client.get(long_chat + "/messages?after=70").get_data(as_text=True)
    assert shown(newer) == list(range(71, 121)) and link(newer, "after") is None


def test_around_opens_the_page_around_a_message(client, long_chat, app):
    ids = {m.seq: m.id for m in messages_of(app, long_chat)}
    html = client.get(f"{long_chat}?around={ids[30]}").get_data(as_text=True)
    assert shown(html) == list(range(6, 56))  # it and 24 before, 25 after
    assert link(html, "before") == "6" and link(html, "after") == "55"
    assert "Jump to latest" in html
    latest = client.get(f"{long_chat}?around={ids[120]}").get_data(as_text=True)
    assert shown(latest) == list(range(96, 121)) and link(latest, "after") is None
    first = client.get(f"{long_chat}?around={ids[1]}").get_data(as_text=True)
    assert shown(first) == list(range(1, 27)) and link(first, "before") is None


def test_a_short_chat_has_no_links(client, consultant, app):
    chat = new_chat(client)
    add_history(app, chat, 50)
    html = client.get(chat).get_data(as_text=True)
    assert shown(html) == list(range(1, 51))
    assert "history-more" not in html


@pytest.mark.parametrize("query, message", [
    ("", "Give either before or after"),
    ("?before=1&after=2", "Give either before or after"),
    ("?before=x", "before must be a whole number"),
    ("?before=-1", "before must be a whole number"),
    ("?after=99999999999999999999", "after must be a whole number"),
    ("?after=1&limit=0", "limit must be a whole number from 1 to 200"),
    ("?after=1&limit=201", "limit must be a whole number from 1 to 200"),
    ("?after=1&limit=ten", "limit must be a whole number from 1 to 200"),
])
def test_bad_paging_arguments_are_400_with_a_clear_message(client, long_chat, query, message):
    for headers in ({}, HTMX):
        response = client.get(long_chat + "/messages" + query, headers=headers)
        assert response.status_code == 400, query
        assert message in response.get_data(as_text=True)
    as_json = client.get(long_chat + "/messages" + query, headers={"Accept": "application/json"})
    assert as_json.status_code == 400 and message in as_json.get_json()["error"]["message"]


def test_bad_around_is_400_and_a_message_of_another_chat_404(client, long_chat, app):
    for bad in ("x", "-3", "1.5", "9" * 19):
        response = client.get(f"{long_chat}?around={bad}")
        assert response.status_code == 400, bad
        assert "around must be the id of a message" in response.get_data(as_text=True)
    other = new_chat(client)
    [foreign] = add_history(app, other, 1)
    assert client.get(f"{long_chat}?around={foreign}").status_code == 404
    assert client.get(f"{long_chat}?around=999999").status_code == 404


def test_another_consultants_history_is_404(client, long_chat, app, make_user):
    some_id = messages_of(app, long_chat)[0].id
    make_user("mallory@example.com")
    other = app.test_client()
    assert login(other, "mallory@example.com").status_code == 302
    for path in (f"{long_chat}/messages?before=71", f"{long_chat}/messages?after=1",
                 f"{long_chat}?around={some_id}"):
        for headers in ({}, HTMX):
            response = other.get(path, headers=headers)
            assert response.status_code == 404, path
            assert "Question" not in response.get_data(as_text=True)


def test_a_message_sent_in_a_long_chat_comes_live_and_stays_on_the_latest_page(client, long_chat,
                                                                               app):
    response = send(client, long_chat, "One more question", headers=HTMX)
    assert response.status_code == 200
    assert shown(response.get_data(as_text=True)) == [121, 122]  # the upsert the page applies
    html = client.get(long_chat).get_data(as_text=True)
    assert shown(html) == list(range(73, 123)) and link(html, "before") == "73"
    assert "One more question" in html


def test_the_page_size_comes_from_the_configuration(client, long_chat, app):
    app.config["HISTORY_PAGE_SIZE"] = 7
    html = client.get(long_chat).get_data(as_text=True)
    assert shown(html) == list(range(114, 121)) and link(html, "before") == "114"
    older = client.get(long_chat + "/messages?before=114", headers=HTMX).get_data(as_text=True)
    assert shown(older) == list(range(107, 114))


@pytest.mark.parametrize("size", [0, 201, "fifty"])
def test_a_bad_page_size_stops_chatapp_from_starting(app_config, size):
    with pytest.raises(RuntimeError, match="CHATAPP_HISTORY_PAGE_SIZE must be a whole number"):
        create_app({**app_config, "HISTORY_PAGE_SIZE": size})
