"""The admin console, the metrics page and rq-dashboard: who may see them, what they list on a
known data set (on PostgreSQL and SQLite), filters, sorting, bad input, and queue depths."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, User
from chatapp.services.jobs import DEFAULT_QUEUE, MEDIA_QUEUE, NOTIFY_QUEUE, queue
from tests.conftest import PASSWORD, login, sqlite_app


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026 (UTC)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def seed(app) -> dict[str, str]:
    """The known data set: Cara's and Dan's sessions (one deleted), Ada the admin, Otto from ops;
    the session ids by name."""
    with app.app_context():
        users = {}
        for email, name, role in (("cara@example.com", "Cara", "consultant"),
                                  ("dan@example.com", "Dan", "consultant"),
                                  ("ada@example.com", "Ada", "admin"),
                                  ("otto@example.com", "Otto", "ops")):
            user = db.session.scalar(db.select(User).filter_by(email=email))
            if user is None:
                user = User(email=email, display_name=name, role=role)
                user.set_password(PASSWORD)
                db.session.add(user)
            users[name] = user
        db.session.flush()
        sessions = {
            "acme": ChatSession(owner=users["Cara"], name="Acme kickoff", client_name="Acme",
                                status="active", created_at=at(2, 9), last_activity_at=at(2, 10),
                                help_requested_at=at(2, 9, 30), admin_assisted=True),
            "globex": ChatSession(owner=users["Dan"], name="Globex review", client_name="Globex",
                                  status="ended", created_at=at(3, 8), last_activity_at=at(3, 11),
                                  ended_at=at(3, 11), model="big-model"),
            "gone": ChatSession(owner=users["Cara"], name="Deleted chat", status="ended",
                                created_at=at(3, 9), last_activity_at=at(3, 9),
                                deleted_at=at(3, 10)),
            "idle": ChatSession(owner=users["Dan"], name="Idle chat", status="idle",
                                created_at=at(2, 12), last_activity_at=at(3, 12)),
        }
        db.session.add_all(sessions.values())
        db.session.flush()
        rows = [("acme", "user", at(2, 9), None, None, None),
                ("acme", "assistant", at(2, 9, 1), 1000, 100, 50),
                ("acme", "user", at(2, 9, 10), None, None, None),
                ("acme", "assistant", at(2, 9, 11), 3000, 200, 100),
                ("globex", "user", at(3, 8), None, None, None),
                ("globex", "assistant", at(3, 8, 1), 2000, 10, 20),
                ("gone", "assistant", at(3, 9), 9000, 1000, 1000)]
        for seq, (name, sender, created, latency, tokens_in, tokens_out) in enumerate(rows, 1):
            db.session.add(ChatMessage(session_id=sessions[name].id, seq=seq, sender=sender,
                                       author=sender, content="text", created_at=created,
                                       latency_ms=latency, tokens_in=tokens_in,
                                       tokens_out=tokens_out))
        db.session.commit()
        return {name: str(chat.id) for name, chat in sessions.items()}


@pytest.fixture(params=["postgresql", "sqlite"])
def seeded(request, app_config, tmp_path):
    """The known data set on PostgreSQL (the `app` fixture) or on a SQLite file; yields the
    app, a client signed in as Ada (admin) and the session ids."""
    if request.param == "postgresql":
        app = request.getfixturevalue("app")
    else:
        app = sqlite_app(app_config, tmp_path / "console.db")
    ids = seed(app)
    client = app.test_client()
    assert login(client, "ada@example.com").status_code == 302
    yield app, client, ids
    if request.param == "sqlite":
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def admin_client(app, client, make_user):
    make_user("ada@example.com", "Ada", role="admin")
    assert login(client, "ada@example.com").status_code == 302
    return client


def listed(client, query: str = "") -> list[str]:
    """The session ids the console lists, in order."""
    response = client.get("/admin/console" + query)
    assert response.status_code == 200
    return re.findall(r'id="console-session-([0-9a-f-]+)"', response.get_data(as_text=True))


def row_of(page: str, session_id: str) -> str:
    """The text of a session's row, tags removed and spaces collapsed."""
    row = re.search(rf'<tr id="console-session-{session_id}"[^>]*>(.*?)</tr>', page, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())


def test_the_console_lists_every_live_session_with_its_numbers(seeded):
    app, client, ids = seeded
    page = client.get("/admin/console?sort=started&order=asc").get_data(as_text=True)
    assert re.findall(r'id="console-session-([0-9a-f-]+)"', page) == [
        ids["acme"], ids["idle"], ids["globex"]]  # deleted sessions never show
    assert "Deleted chat" not in page
    acme = row_of(page, ids["acme"])
    assert acme.startswith("Acme kickoff Active Cara Acme 2026-03-02 09:00 2026-03-02 10:00 1:00")
    assert "Help 2026-03-02 09:30 Yes 2,000 ms / 3,000 ms 300 / 150" in acme
    assert row_of(page, ids["globex"]) == ("Globex review Ended Dan Globex 2026-03-03 08:00 "
                                           "2026-03-03 11:00 3:00 – No 2,000 ms / 2,000 ms 10 / 20")
    assert row_of(page, ids["idle"]).endswith("24:00 – No – / – 0 / 0")
    assert f'href="/admin/sessions/{ids["acme"]}"' in page  # the admin's session page


FILTERS = [
    ("?user=dan", ["idle", "globex"]),
    ("?user=CARA%40example", ["acme"]),
    ("?user=%25", []),  # a literal %, not a wildcard
    ("?status=ended", ["globex"]),
    ("?help=yes", ["acme"]),
    ("?help=no", ["idle", "globex"]),
    ("?assisted=yes", ["acme"]),
    ("?assisted=no", ["idle", "globex"]),
    ("?from=2026-03-03", ["globex"]),
    ("?to=2026-03-02", ["idle", "acme"]),
    ("?from=2026-03-02&to=2026-03-02&status=active", ["acme"]),
    ("?sort=activity&order=asc", ["acme", "globex", "idle"]),
    ("?sort=started", ["globex", "idle", "acme"]),
    ("?sort=duration", ["idle", "globex", "acme"]),
    ("?sort=duration&order=asc", ["acme", "globex", "idle"]),
    ("?sort=user&order=asc&user=cara", ["acme"]),
]


def test_each_filter_and_sort(seeded):
    _, client, ids = seeded
    for query, expected in FILTERS:
        assert listed(client, query) == [ids[name] for name in expected], query
    owners = re.findall(r'data-label="Owner">(\w+)<', client.get(
        "/admin/console?sort=user&order=desc").get_data(as_text=True))
    assert owners == ["Dan", "Dan", "Cara"]


def test_sort_links_keep_the_filters_and_turn_the_order(seeded):
    _, client, _ = seeded
    page = client.get("/admin/console?status=ended&sort=duration").get_data(as_text=True)
    assert ('href="/admin/console?status=ended&amp;sort=duration&amp;order=asc"\n'
            '   aria-sort="descending"') in page
    assert 'href="/admin/console?status=ended&amp;sort=started"' in page


def test_one_session_is_highlighted(seeded):
    _, client, ids = seeded
    page = client.get(f"/admin/console?session={ids['globex']}").get_data(as_text=True)
    assert re.findall(r'<tr id="console-session-([0-9a-f-]+)" class="[^"]*highlight"'
                      r' aria-current="true"', page) == [ids["globex"]]


def test_the_metrics_of_a_period(seeded):
    _, client, _ = seeded
    page = client.get("/admin/metrics?from=2026-03-01&to=2026-03-03").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert ("Active sessions 2 Messages 6 Tokens in / out 310 / 170 Reply time p50 2,000 ms "
            "Reply time p90 2,800 ms Reply time p99 2,980 ms Replies timed 3") in text
    assert ("By day Day Active sessions Messages Tokens in Tokens out "
            "2026-03-02 1 4 300 150 2026-03-03 1 2 10 20 By user") in text
    assert ("By user User Sessions Messages Tokens in Tokens out "
            "cara@example.com 1 4 300 150 dan@example.com 1 2 10 20 By model") in text
    assert ("By model Model Sessions Messages Tokens in Tokens out "
            "fake-model 1 4 300 150 big-model 1 2 10 20") in text
    one_day = client.get("/admin/metrics?from=2026-03-03&to=2026-03-03").get_data(as_text=True)
    one_day = " ".join(re.sub(r"<[^>]+>", " ", one_day).split())
    assert "Active sessions 1 Messages 2 Tokens in / out 10 / 20 Reply time p50 2,000 ms" in one_day


def test_the_metrics_default_to_the_last_7_days(admin_client):
    page = admin_client.get("/admin/metrics").get_data(as_text=True)
    today = datetime.now(UTC).date()
    assert f'name="from" value="{today - timedelta(days=6)}"' in page
    assert f'name="to" value="{today}"' in page
    assert "Active sessions</dt><dd>0</dd>" in page and "No messages in this period." in page


@pytest.mark.parametrize("path, message", [
    ("/admin/console?status=asleep", "status: choose one of active, idle, ended."),
    ("/admin/console?help=maybe", "help: choose one of yes, no."),
    ("/admin/console?assisted=1", "assisted: choose one of yes, no."),
    ("/admin/console?sort=tokens", "sort: choose one of started, duration, user, activity."),
    ("/admin/console?order=up", "order: choose one of asc, desc."),
    ("/admin/console?from=2026-13-01", "from: a date as YYYY-MM-DD."),
    ("/admin/console?to=yesterday", "to: a date as YYYY-MM-DD."),
    ("/admin/console?from=2026-03-03&to=2026-03-02", "from: on or before to."),
    ("/admin/console?page=0", "page: from 1 to 200"),
    ("/admin/console?page=201", "page: from 1 to 200"),
    ("/admin/console?page=two", "page: a whole number."),
    ("/admin/console?session=42", "session: not a session id."),
    ("/admin/console?user=" + "x" * 201, "user: at most 200 characters."),
    ("/admin/console/live?status=asleep", "status: choose one of"),
    ("/admin/metrics?from=March", "from: a date as YYYY-MM-DD."),
    ("/admin/metrics?from=2026-03-05&to=2026-03-01", "from: on or before to."),
    ("/admin/metrics?from=2024-01-01&to=2026-01-01", "at most 366 days."),
    ("/admin/metrics?from=2026-02-30", "from: a date as YYYY-MM-DD."),
])
def test_bad_filters_get_422_with_what_to_fix(admin_client, path, message):
    page = admin_client.get(path)
    assert page.status_code == 422 and message in page.get_data(as_text=True)
    body = admin_client.get(path, headers={"Accept": "application/json"})
    assert body.status_code == 422
    assert body.get_json()["error"]["code"] == "invalid"
    assert message in body.get_json()["error"]["message"]


@pytest.mark.parametrize("role", ["consultant", "ops"])
def test_only_admins_see_the_console_and_metrics(client, make_user, role):
    make_user("someone@example.com", role=role)
    login(client, "someone@example.com")
    for path in ("/admin/console", "/admin/console/live", "/admin/metrics"):
        assert client.get(path).status_code == 403, path
    assert "/admin/console" not in client.get("/chats").get_data(as_text=True)


def test_signed_out_the_console_asks_to_sign_in(client):
    response = client.get("/admin/console")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_live_part_answers_304_until_something_changes(app, admin_client):
    first = admin_client.get("/admin/console/live")
    assert first.status_code == 200 and first.headers["ETag"]
    assert 'hx-trigger="every 5s [!document.hidden]"' in first.get_data(as_text=True)
    again = admin_client.get("/admin/console/live", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    ids = seed(app)
    changed = admin_client.get("/admin/console/live",
                               headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and ids["acme"] in changed.get_data(as_text=True)


def test_the_console_shows_queue_depths_and_failed_jobs(app, admin_client, run_worker):
    with app.app_context():
        queue(DEFAULT_QUEUE).enqueue("tests.jobs.fail")
    assert run_worker(DEFAULT_QUEUE).wait(60) == 0
    with app.app_context():
        for _ in range(3):
            queue(MEDIA_QUEUE).enqueue("tests.jobs.hold", "never")
        queue(NOTIFY_QUEUE).enqueue("tests.jobs.hold", "never")
    page = admin_client.get("/admin/console").get_data(as_text=True)
    depths = re.findall(r'<tr id="queue-(\w+)"><th scope="row">\w+</th><td>(\d+)</td>'
                        r'<td>(\d+)</td></tr>', page)
    assert depths == [("llm", "0", "0"), ("notify", "1", "0"), ("default", "0", "1"),
                      ("media", "3", "0")]  # in the order workers take them


DASHBOARD = ("/admin/rq/", "/admin/rq/0/view/workers", "/admin/rq/0/data/queues.json",
             "/admin/rq/0/data/workers.json")


@pytest.mark.parametrize("role, status", [("consultant", 403), ("admin", 200), ("ops", 200)])
def test_rq_dashboard_is_for_admins_and_ops(app, client, make_user, role, status):
    make_user("someone@example.com", role=role)
    login(client, "someone@example.com")
    for path in DASHBOARD:
        assert client.get(path).status_code == status, path
    nav = client.get("/chats").get_data(as_text=True)
    assert ('href="/admin/rq/"' in nav) == (status == 200)
    if status == 200:
        with app.app_context():
            queue(MEDIA_QUEUE).enqueue("tests.jobs.hold", "never")
        names = {q["name"]: q["count"] for q in
                 client.get("/admin/rq/0/data/queues.json").get_json()["queues"]}
        assert names["media"] == 1  # the app's Redis
    else:
        body = client.get("/admin/rq/0/data/queues.json", headers={"Accept": "application/json"})
        assert body.get_json()["error"]["code"] == "forbidden"


def test_rq_dashboard_signed_out(client):
    page = client.get("/admin/rq/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    data = client.get("/admin/rq/0/data/queues.json", headers={"Accept": "application/json"})
    assert data.status_code == 401


def test_rq_dashboard_actions_only_from_its_own_pages(app, client, make_user, run_worker):
    make_user("otto@example.com", role="ops")
    login(client, "otto@example.com")
    with app.app_context():
        queue(DEFAULT_QUEUE).enqueue("tests.jobs.fail")
    assert run_worker(DEFAULT_QUEUE).wait(60) == 0
    elsewhere = client.post("/admin/rq/requeue/default",
                            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert elsewhere.status_code == 403
    with app.app_context():
        assert queue(DEFAULT_QUEUE).count == 0
    own = client.post("/admin/rq/requeue/default", headers={"Origin": "http://localhost",
                                                            "Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 200
    with app.app_context():
        assert queue(DEFAULT_QUEUE).count == 1  # the failed job is queued again


def test_console_dates_are_utc_days(seeded):
    """A session started late on 2 March (UTC) belongs to that day's filter on both databases."""
    app, client, _ = seeded
    with app.app_context():
        cara = db.session.scalar(db.select(User).filter_by(email="cara@example.com"))
        late = ChatSession(owner=cara, name="Late", created_at=at(2, 23, 59),
                           last_activity_at=at(2, 23, 59))
        db.session.add(late)
        db.session.commit()
        late_id = str(late.id)
    assert late_id in listed(client, "?to=2026-03-02")
    assert late_id not in listed(client, f"?from={date(2026, 3, 3)}")
