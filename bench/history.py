"""`make bench-history`: the first paint of a 5,000-message chat, paged against rendering it all.

For SQLite (a file, as the embedded default) and PostgreSQL (its own database on the server given
by --postgres, created and dropped here), this builds one chat of 5,000 messages (questions and
replies with Markdown: headings, lists, tables, code blocks), then times GETs of the chat page
through the Flask test client (in this process: the app's own time — SQL, Redis, templates,
Markdown — without a network or gunicorn in front): the paged view as shipped
(CHATAPP_HISTORY_PAGE_SIZE, 50) and, as the baseline, the same view showing all 5,000 messages,
which is what the chat view did before paging. Also timed: one page of older messages as the
reader scrolls up. Prints Markdown tables for docs/performance.md.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatapp import create_app  # noqa: E402
from chatapp.extensions import db  # noqa: E402
from chatapp.models import ChatMessage, ChatSession, User  # noqa: E402

MESSAGES = 5000
PASSWORD = "bench password 123"
QUESTION = ("What would moving the {n}th batch of Acme's order processing to managed queues cost, "
            "and which risks should we raise in Thursday's meeting?")
REPLY = """## Option {n}: managed queues

Moving batch {n} is mostly **configuration**, with two pieces of code to change:

1. Replace the cron trigger with a queue subscription.
2. Make the handler *idempotent* (messages can arrive twice).
3. Keep the old path for a week as a fallback.

| Item | Monthly cost | Notes |
|---|---:|---|
| Queue (1 M messages) | 0.40 € | first million free in most regions |
| Worker VMs (2 × small) | 31.00 € | could move to containers later |
| Monitoring | 6.50 € | alarms on age of oldest message |

```python
def handle(message):
    order = Order.get(message.order_id)
    if order.processed:  # already done: a repeated delivery
        return
    process(order)
```

Risks to raise: ordering across partitions, poison messages (use a dead-letter queue after
5 attempts), and the [provider's quotas](https://example.com/quotas/{n}).
"""


def build_chat(app) -> tuple[uuid.UUID, str]:
    """A user and one chat of MESSAGES messages; the chat's id and the user's email."""
    with app.app_context():
        user = User(email="bench@example.com", display_name="Bench Consultant")
        user.set_password(PASSWORD)
        chat = ChatSession(owner=user, name="A long meeting", context={})
        db.session.add_all([user, chat])
        db.session.flush()
        rows = [{"session_id": chat.id, "seq": n, "status": "done", "meta": {},
                 "sender": "user" if n % 2 else "assistant",
                 "author": "Bench Consultant" if n % 2 else "Assistant",
                 "content": QUESTION.format(n=n) if n % 2 else REPLY.format(n=n),
                 "tokens_in": None if n % 2 else 900, "tokens_out": None if n % 2 else 350,
                 "latency_ms": None if n % 2 else 2400} for n in range(1, MESSAGES + 1)]
        for start in range(0, len(rows), 1000):
            db.session.execute(db.insert(ChatMessage), rows[start:start + 1000])
        db.session.commit()
        return chat.id, user.email


def signed_in(app, email: str):
    """A test client signed in through the login form."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf_token": token, "email": email,
                                           "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def timed_gets(client, path: str, runs: int, headers=None) -> tuple[list[float], bytes]:
    """`runs` GETs of `path` after two warm-up ones: their times (ms) and the last body."""
    for _ in range(2):
        client.get(path, headers=headers)
    times, body = [], b""
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        body = response.get_data()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return times, body


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def measure(name: str, database_url: str, redis_url: str, runs: int, baseline_runs: int) -> list:
    """Build the chat on `database_url` and time its views; table rows."""
    from flask_migrate import upgrade

    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
                      "HTMX_SOURCE": "vendored", "SESSION_COOKIE_SECURE": False,
                      "LOG_LEVEL": "WARNING", "RATE_LIMIT_SIGN_IN": 1000})
    with app.app_context():
        upgrade()
    start = time.perf_counter()
    chat_id, email = build_chat(app)
    print(f"{name}: {MESSAGES:,} messages stored in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    client = signed_in(app, email)
    path = f"/chats/{chat_id}"
    paged, page = timed_gets(client, path, runs)
    oldest = re.search(rb'data-before="(\d+)"', page).group(1).decode()
    older, fragment = timed_gets(client, f"{path}/messages?before={oldest}", runs,
                                 headers={"HX-Request": "true"})
    app.config["HISTORY_PAGE_SIZE"] = MESSAGES  # the baseline: every message on the page
    everything, full = timed_gets(client, path, baseline_runs)
    assert full.count(b'<article id="msg-') == MESSAGES and page.count(b'<article id="msg-') == 50
    with app.app_context():
        db.engine.dispose()
    return [(name, "paged (first paint, 50 messages)", paged, page),
            (name, "one older page while scrolling up (htmx, 50)", older, fragment),
            (name, "baseline: all 5,000 messages", everything, full)]


def assets(page: bytes) -> list[tuple[str, int, int]]:
    """The CSS and JS files the page loads: path, bytes, gzipped bytes."""
    found = re.findall(rb'<(?:script src|link rel="stylesheet" href)="/static/([^"]+)"', page)
    files = []
    for path in found:
        data = (ROOT / "static" / path.decode()).read_bytes()
        files.append((path.decode(), len(data), len(gzip.compress(data, 6))))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed GETs of the paged view")
    parser.add_argument("--baseline-runs", type=int, default=10,
                        help="timed GETs of the view with every message (each takes seconds)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server where a database may be created; '' to skip")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0",
                        help="Redis for the app (only read: the chat has no live events)")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="chatapp-bench-history-") as workdir:
        rows += measure("SQLite", f"sqlite:///{workdir}/chatapp.db", args.redis_url, args.runs,
                        args.baseline_runs)
    if args.postgres:
        admin = make_url(args.postgres).set(drivername="postgresql")
        name = f"chatapp_bench_history_{uuid.uuid4().hex[:8]}"
        server = admin.render_as_string(hide_password=False)
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            url = admin.set(drivername="postgresql+psycopg", database=name)
            rows += measure("PostgreSQL", url.render_as_string(hide_password=False),
                            args.redis_url, args.runs, args.baseline_runs)
        finally:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    print(f"Machine: {cpu}, {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
          f"Flask test client in one process.\n")
    print("| database | view | GETs | median | p95 | HTML | HTML gzip |")
    print("|---|---|---|---|---|---|---|")
    for database, view, times, body in rows:
        print(f"| {database} | {view} | {len(times)} | {statistics.median(times):.1f} ms | "
              f"{p95(times):.1f} ms | {len(body) / 1024:.1f} KB | "
              f"{len(gzip.compress(body, 6)) / 1024:.1f} KB |")
    print("\n| database | median: all / paged | HTML: all / paged |")
    print("|---|---|---|")
    for paged, _, everything in (rows[i:i + 3] for i in range(0, len(rows), 3)):
        print(f"| {paged[0]} | {statistics.median(everything[2]) / statistics.median(paged[2]):.0f}"
              f" × | {len(everything[3]) / len(paged[3]):.0f} × |")
    print("\n| CSS and JS loaded by the page | bytes | gzip |")
    print("|---|---|---|")
    files = assets(rows[0][3])
    for path, size, zipped in files:
        print(f"| static/{path} | {size / 1024:.1f} KB | {zipped / 1024:.1f} KB |")
    print(f"| total | {sum(f[1] for f in files) / 1024:.1f} KB | "
          f"{sum(f[2] for f in files) / 1024:.1f} KB |")


if __name__ == "__main__":
    main()
