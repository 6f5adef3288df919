"""Alerts to admins: what arrives by the file outbox, SMTP, SES and SNS (moto's server), merging,
rate limits, quiet hours, retries and failures, the checks for critical errors, and the admin
pages (alerts, outbox, alert settings)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import boto3
import httpx
import pytest
import redis
from aiosmtpd.controller import Controller
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends
from rq import Queue

from chatapp.extensions import db
from chatapp.models import Alert, AlertDelivery, ChatMessage, ChatSession, User
from chatapp.services import alert_checks
from chatapp.services.alerts import raise_alert
from tests.conftest import PASSWORD, csrf_from, login, sqlite_app
from tests.services import free_port, wait_for

PUBLIC_URL = "https://chat.example.com"
SENDER = "alerts@example.com"
PHONE = "+14155550123"


@pytest.fixture
def outbox(app, tmp_path):
    """The file outbox of this test (the default transport), for the app and its workers."""
    app.config.update(PUBLIC_URL=PUBLIC_URL, ALERT_OUTBOX_DIR=str(tmp_path / "outbox"))
    return tmp_path / "outbox"


@pytest.fixture
def worker_env(outbox) -> dict[str, str]:
    """CHATAPP_* settings of the workers that send this test's alerts."""
    return {"CHATAPP_PUBLIC_URL": PUBLIC_URL, "CHATAPP_ALERT_OUTBOX_DIR": str(outbox)}


@pytest.fixture
def admin(make_user, client, outbox):
    """A signed-in admin (on `client`), with the default alert settings."""
    user = make_user("ada@example.com", "Ada Admin", role="admin")
    assert login(client, user.email).status_code == 302
    return user


@pytest.fixture
def aws(moto_url, monkeypatch) -> dict[str, str]:
    """moto reset, the sender verified in SES; the workers' settings to reach it."""
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1"}
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    httpx.post(moto_url + "/moto-api/reset").raise_for_status()
    return {**credentials, "CHATAPP_AWS_ENDPOINT_URL": moto_url, "CHATAPP_SMTP_FROM": SENDER}


class Inbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


class Refusing(Inbox):
    """An SMTP server's handler that knows no recipient."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.1.1 No such user here"


def smtp_server(port: int, inbox: Inbox | None = None) -> tuple[Controller, Inbox]:
    """A local SMTP server on `port`, started."""
    inbox = inbox or Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox


def help_request(app, make_user, summary: str = "Cara asks for help with pricing"):
    """A consultant with a chat raises a help request; the chat's id and the consultant."""
    cara = make_user("cara@example.com", "Cara Consultant")
    with app.app_context():
        chat = ChatSession(owner_id=cara.id, name="Acme kickoff")
        db.session.add(chat)
        db.session.commit()
        raise_alert("help_request", summary=summary, session_id=chat.id, user_id=cara.id,
                    details={"reason": "pricing question"})
        return chat.id, cara


def deliveries(app) -> list[AlertDelivery]:
    """Every delivery, oldest first."""
    with app.app_context():
        rows = db.session.scalars(db.select(AlertDelivery).order_by(AlertDelivery.id)).all()
        db.session.expunge_all()
        return rows


def outbox_messages(outbox) -> list:
    """The messages in the file outbox, parsed."""
    return [message_from_bytes(path.read_bytes(), policy=policy.default)
            for path in sorted(outbox.glob("*.eml"))] if outbox.is_dir() else []


def alerts_page(client) -> str:
    """The alerts page as a reader sees its text (tags left out, whitespace collapsed)."""
    response = client.get("/admin/alerts")
    assert response.status_code == 200
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+([:)])", r"\1", " ".join(html.unescape(text).split()))


def test_a_help_request_reaches_the_admin_by_the_file_outbox(app, client, admin, make_user,
                                                             run_worker, worker_env, outbox):
    session_id, _ = help_request(app, make_user)
    assert run_worker(env=worker_env).wait(60) == 0  # the default queues include notify
    [message] = outbox_messages(outbox)
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "[chatapp] Help requested: Cara asks for help with pricing"
    body = message.get_content()
    assert "User: Cara Consultant <cara@example.com>" in body and "reason: pricing question" in body
    assert f"Open: {PUBLIC_URL}/admin/console?session={session_id}" in body
    page = alerts_page(client)
    assert "Help requested: Cara asks for help with pricing" in page
    assert "email to Ada Admin (ada@example.com): sent after 1 attempt" in page

    listing = client.get("/admin/outbox").get_data(as_text=True)
    assert "Help requested: Cara asks for help with pricing" in html.unescape(listing)
    name = next(path.name for path in outbox.glob("*.eml"))
    shown = html.unescape(client.get(f"/admin/outbox/{name}").get_data(as_text=True))
    assert f"{PUBLIC_URL}/admin/console?session={session_id}" in shown


def test_outbox_messages_are_shown_escaped_and_only_by_their_names(app, client, admin, make_user,
                                                                   run_worker, worker_env,
                                                                   outbox):
    help_request(app, make_user, summary="<script>alert('x')</script> needs help")
    assert run_worker("notify", env=worker_env).wait(60) == 0
    name = next(path.name for path in outbox.glob("*.eml"))
    page = client.get(f"/admin/outbox/{name}").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in page and "<script>alert(" not in page
    (outbox / "notes.txt").write_text("not a message")
    for wrong in ("notes.txt", "..%2F..%2Fsecret_key", "20260101T000000-1-helprequest.eml"):
        assert client.get(f"/admin/outbox/{wrong}").status_code == 404


def test_identical_alerts_within_the_window_are_merged_and_sent_once(app, client, admin,
                                                                     run_worker, worker_env,
                                                                     outbox):
    with app.app_context():
        for _ in range(3):
            raise_alert("system", summary="Disk 91% full on db-1")
        raise_alert("system", summary="Disk 95% full on db-1")  # another summary: another alert
    assert run_worker("notify", env=worker_env).wait(60) == 0
    subjects = sorted(message["Subject"] for message in outbox_messages(outbox))
    assert subjects == ["[chatapp] System alert: Disk 91% full on db-1",
                        "[chatapp] System alert: Disk 95% full on db-1"]
    page = alerts_page(client)
    assert "System alert: Disk 91% full on db-1 ×3" in page
    assert "Disk 95% full on db-1 ×" not in page


def test_an_identical_alert_after_the_window_is_sent_again(app, admin, run_worker, worker_env,
                                                           outbox):
    with app.app_context():
        raise_alert("system", summary="Disk full")
        db.session.execute(db.update(Alert).values(
            created_at=datetime.now(UTC) - timedelta(minutes=11)))  # the window is 10 minutes
        db.session.commit()
        raise_alert("system", summary="Disk full")
        assert db.session.scalar(db.select(db.func.count(Alert.id))) == 2
    assert run_worker("notify", env=worker_env).wait(60) == 0
    assert len(outbox_messages(outbox)) == 2


def test_beyond_the_rate_limit_deliveries_are_suppressed(app, client, admin, run_worker,
                                                         worker_env, outbox):
    app.config["ALERT_RATE_LIMIT_PER_HOUR"] = 2
    with app.app_context():
        for number in range(1, 4):
            raise_alert("system", summary=f"Backup {number} failed")
        raise_alert("help_request", summary="Help with Acme")  # another kind: its own limit
    assert run_worker("notify", env=worker_env).wait(60) == 0
    assert [d.status for d in deliveries(app)] == ["sent", "sent", "suppressed", "sent"]
    assert len(outbox_messages(outbox)) == 3
    page = alerts_page(client)
    assert "Backup 3 failed" in page
    assert "suppressed — rate limit: 2 system alerts per hour" in page


def save_alert_settings(client, **fields):
    """Post the alert settings form; the response."""
    token = csrf_from(client.get("/settings/alerts").get_data(as_text=True))
    form = {"csrf_token": token, "email_enabled": "on", "phone": "", "quiet_start": "",
            "quiet_end": "", "timezone": "UTC", **fields}
    return client.post("/settings/alerts", data={k: v for k, v in form.items() if v is not None})


def test_in_quiet_hours_only_critical_alerts_are_sent(app, client, admin, run_worker,
                                                      worker_env, outbox):
    zone = "Asia/Kolkata"  # UTC+05:30, no daylight saving: quiet hours around its local now
    now = datetime.now(UTC).astimezone(ZoneInfo(zone))
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=1)).strftime(
        "%H:%M")
    response = save_alert_settings(client, quiet_start=start, quiet_end=end, timezone=zone)
    assert response.status_code == 303
    with app.app_context():
        raise_alert("help_request", summary="Help with Acme")
        raise_alert("provider_down", summary="Replies have failed for 5 minutes")
    assert run_worker("notify", env=worker_env).wait(60) == 0
    assert [m["Subject"] for m in outbox_messages(outbox)] == [
        "[chatapp] Model provider down: Replies have failed for 5 minutes"]
    assert "email to Ada Admin (ada@example.com): suppressed — quiet hours" in alerts_page(client)


def test_email_through_an_smtp_server(app, admin, make_user, run_worker, worker_env):
    port = free_port()
    controller, inbox = smtp_server(port)
    try:
        session_id, _ = help_request(app, make_user)
        env = {**worker_env, "CHATAPP_ALERT_EMAIL_TRANSPORT": "smtp",
               "CHATAPP_SMTP_HOST": "127.0.0.1", "CHATAPP_SMTP_PORT": str(port),
               "CHATAPP_SMTP_FROM": SENDER}
        assert run_worker("notify", env=env).wait(60) == 0
    finally:
        controller.stop()
    [message] = inbox.messages
    assert message["To"] == "ada@example.com" and message["From"] == SENDER
    assert message["Subject"] == "[chatapp] Help requested: Cara asks for help with pricing"
    assert f"{PUBLIC_URL}/admin/console?session={session_id}" in message.get_content()


def test_smtp_down_then_up_is_sent_on_a_retry(app, client, admin, run_worker, worker_env):
    port = free_port()  # nothing listens there yet
    env = {**worker_env, "CHATAPP_ALERT_EMAIL_TRANSPORT": "smtp", "CHATAPP_SMTP_HOST": "127.0.0.1",
           "CHATAPP_SMTP_PORT": str(port), "CHATAPP_SMTP_FROM": SENDER}
    app.config["ALERT_RETRY_DELAYS"] = [1, 1]
    with app.app_context():
        raise_alert("system", summary="Nightly export failed")
    assert run_worker("notify", env=env).wait(60) == 0
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.attempts) == ("queued", 1)
    assert f"SMTP server 127.0.0.1:{port} unreachable" in delivery.last_error
    assert "queued after 1 attempt — SMTP server" in alerts_page(client)

    controller, inbox = smtp_server(port)
    try:
        run_worker("notify", burst=False, env=env)  # its scheduler queues the retry when due
        wait_for(lambda: deliveries(app)[0].status == "sent", 30, "the retry to be sent")
    finally:
        controller.stop()
    assert [m["Subject"] for m in inbox.messages] == [
        "[chatapp] System alert: Nightly export failed"]
    assert "sent after 2 attempts" in alerts_page(client)


def test_a_recipient_refused_by_smtp_is_a_permanent_failure(app, client, admin, run_worker,
                                                             worker_env):
    port = free_port()
    controller, inbox = smtp_server(port, Refusing())
    try:
        with app.app_context():
            raise_alert("system", summary="Nightly export failed")
        env = {**worker_env, "CHATAPP_ALERT_EMAIL_TRANSPORT": "smtp",
               "CHATAPP_SMTP_HOST": "127.0.0.1", "CHATAPP_SMTP_PORT": str(port)}
        assert run_worker("notify", env=env).wait(60) == 0
    finally:
        controller.stop()
    assert inbox.messages == []
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.attempts) == ("failed", 1)  # no retry
    assert "failed after 1 attempt — SMTP refused the recipient: 550 5.1.1 No such user here" \
        in alerts_page(client)


def test_a_delivery_sent_is_not_sent_again(app, admin, run_worker, worker_env, outbox,
                                           redis_url):
    with app.app_context():
        raise_alert("system", summary="Nightly export failed")
    assert run_worker("notify", env=worker_env).wait(60) == 0
    [delivery] = deliveries(app)
    Queue("notify", connection=redis.Redis.from_url(redis_url)).enqueue(
        "worker.notify.deliver_alert", delivery.id)  # again, as a duplicate job would
    assert run_worker("notify", env=worker_env).wait(60) == 0
    assert len(outbox_messages(outbox)) == 1
    assert deliveries(app)[0].attempts == 1


def test_a_transient_failure_is_recorded_as_failed_once_the_retries_are_spent(
        app, client, admin, run_worker, worker_env):
    env = {**worker_env, "CHATAPP_ALERT_EMAIL_TRANSPORT": "smtp", "CHATAPP_SMTP_HOST": "127.0.0.1",
           "CHATAPP_SMTP_PORT": str(free_port())}
    app.config["ALERT_RETRY_DELAYS"] = [0]  # one retry, at once
    with app.app_context():
        raise_alert("system", summary="Nightly export failed")
    assert run_worker("notify", env=env).wait(60) == 0
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert "failed after 2 attempts — SMTP server" in alerts_page(client)


def test_email_through_ses(app, admin, make_user, run_worker, worker_env, aws, moto_url):
    boto3.client("ses", region_name="us-east-1", endpoint_url=moto_url).verify_email_identity(
        EmailAddress=SENDER)
    session_id, _ = help_request(app, make_user)
    env = {**worker_env, **aws, "CHATAPP_ALERT_EMAIL_TRANSPORT": "ses"}
    assert run_worker("notify", env=env).wait(60) == 0
    [sent] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert sent.source == SENDER and sent.destinations["ToAddresses"] == ["ada@example.com"]
    assert sent.subject == "[chatapp] Help requested: Cara asks for help with pricing"
    assert f"{PUBLIC_URL}/admin/console?session={session_id}" in sent.body
    assert [d.status for d in deliveries(app)] == ["sent"]


def test_ses_refusing_the_sender_is_a_permanent_failure(app, client, admin, run_worker,
                                                        worker_env, aws):
    with app.app_context():
        raise_alert("system", summary="Nightly export failed")
    env = {**worker_env, **aws, "CHATAPP_ALERT_EMAIL_TRANSPORT": "ses"}  # sender not verified
    assert run_worker("notify", env=env).wait(60) == 0
    [delivery] = deliveries(app)
    assert (delivery.status, delivery.attempts) == ("failed", 1)  # no retry
    assert "SES error MessageRejected" in delivery.last_error
    assert "failed after 1 attempt — SES error MessageRejected" in alerts_page(client)
    assert ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages == []


def test_sms_through_sns(app, client, admin, make_user, run_worker, worker_env, aws):
    app.config["ALERT_SMS_TRANSPORT"] = "sns"
    assert save_alert_settings(client, email_enabled=None, sms_enabled="on",
                               phone="+1 415 555 0123").status_code == 303
    session_id, _ = help_request(app, make_user)
    env = {**worker_env, **aws, "CHATAPP_ALERT_SMS_TRANSPORT": "sns"}
    assert run_worker("notify", env=env).wait(60) == 0
    [(phone, text)] = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()
    assert phone == PHONE
    assert text == ("chatapp Help requested (Cara Consultant): Cara asks for help with pricing "
                    f"{PUBLIC_URL}/admin/console?session={session_id}")
    assert [(d.channel, d.status) for d in deliveries(app)] == [("sms", "sent")]
    assert "sms to Ada Admin (+14155550123): sent" in alerts_page(client)


def test_sms_settings_without_an_sms_transport_send_email_only(app, client, admin, run_worker,
                                                                worker_env, outbox):
    assert save_alert_settings(client, sms_enabled="on", phone=PHONE).status_code == 303
    page = client.get("/settings/alerts").get_data(as_text=True)
    assert "This server sends no SMS" in page
    with app.app_context():
        raise_alert("system", summary="Nightly export failed")
    assert [d.channel for d in deliveries(app)] == ["email"]


def test_the_settings_are_saved_and_shown_back(client, admin):
    response = save_alert_settings(client, email_enabled=None, sms_enabled="on", phone=PHONE,
                                   quiet_start="22:00", quiet_end="07:00",
                                   timezone="Europe/Berlin")
    assert response.status_code == 303 and response.headers["Location"] == "/settings/alerts"
    page = " ".join(client.get("/settings/alerts").get_data(as_text=True).split())
    assert "Alert settings saved." in page
    assert '<input type="checkbox" name="email_enabled" >' in page
    assert '<input type="checkbox" name="sms_enabled" checked>' in page
    for value in (PHONE, "22:00", "07:00", "Europe/Berlin"):
        assert f'value="{value}"' in page


@pytest.mark.parametrize("fields, message", [
    ({"phone": "0151 2345678"}, "Write the phone number in international form"),
    ({"phone": "+1 415 CALL ME"}, "Write the phone number in international form"),
    ({"sms_enabled": "on"}, "Give a phone number to receive alerts by SMS."),
    ({"quiet_start": "22:00"}, "Give both the start and the end of quiet hours, or neither."),
    ({"quiet_start": "25:00", "quiet_end": "07:00"}, "Write the start of quiet hours as HH:MM"),
    ({"quiet_start": "22:00", "quiet_end": "7pm"}, "Write the end of quiet hours as HH:MM"),
    ({"timezone": "Mars/Olympus_Mons"}, "Choose a time zone by its name"),
    ({"timezone": "../../etc/passwd"}, "Choose a time zone by its name"),
    ({"timezone": ""}, "Choose a time zone by its name"),
])
def test_wrong_settings_are_shown_back_and_nothing_saved(app, client, admin, fields, message):
    response = save_alert_settings(client, email_enabled=None, **fields)
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert message in page
    for value in fields.values():
        assert f'value="{value}"' in page or value == "on"  # what was typed is kept
    saved = " ".join(client.get("/settings/alerts").get_data(as_text=True).split())
    assert '<input type="checkbox" name="email_enabled" checked>' in saved  # still the default
    assert 'value="UTC"' in saved


def test_a_settings_form_without_csrf_token_is_refused(client, admin):
    response = client.post("/settings/alerts", data={"timezone": "UTC"})
    assert response.status_code == 400
    assert "checked>" in client.get("/settings/alerts").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/admin/alerts", "/admin/outbox",
                                  "/admin/outbox/20260101T000000-1-system.eml",
                                  "/settings/alerts"])
def test_consultants_get_403_on_every_alert_page(client, consultant, path):
    assert client.get(path).status_code == 403
    assert "/admin/alerts" not in client.get("/chats").get_data(as_text=True)


def test_consultants_cannot_save_alert_settings(client, consultant):
    token = csrf_from(client.get("/chats/new").get_data(as_text=True))
    response = client.post("/settings/alerts", data={"csrf_token": token, "timezone": "UTC"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/admin/alerts").status_code == 302


def test_admins_see_the_alert_pages_in_their_nav(client, admin):
    page = client.get("/chats").get_data(as_text=True)
    assert 'href="/admin/alerts">Alerts</a>' in page


def test_an_unknown_kind_is_refused(app):
    with app.app_context(), pytest.raises(ValueError, match="unknown alert kind 'fire'"):
        raise_alert("fire", summary="Something burns")


def failed_reply(app, minutes_ago: float, status: str = "failed") -> None:
    """Store a reply of `status` made `minutes_ago` in a chat of Cara's."""
    with app.app_context():
        chat = db.session.scalar(db.select(ChatSession).limit(1))
        if chat is None:
            owner = db.session.scalar(db.select(User).filter_by(role="consultant"))
            chat = ChatSession(owner_id=owner.id, model="fake-model")
            db.session.add(chat)
            db.session.flush()
        seq = db.session.scalar(db.select(db.func.count(ChatMessage.id))) + 1
        db.session.add(ChatMessage(session_id=chat.id, seq=seq, sender="assistant",
                                   author="Assistant", status=status,
                                   meta={"error": "The model provider is unavailable (502)."},
                                   created_at=datetime.now(UTC) - timedelta(minutes=minutes_ago)))
        db.session.commit()


def run_checks(app) -> list[str]:
    """Run the critical-error checks as the periodic job does."""
    with app.app_context():
        return alert_checks.run_checks()


def test_replies_failing_for_minutes_raise_provider_down(app, client, admin, make_user):
    make_user("cara@example.com", "Cara Consultant")
    failed_reply(app, 3)
    assert run_checks(app) == []  # failing for 3 minutes only (the threshold is 5)
    failed_reply(app, 7)
    assert run_checks(app) == ["provider_down"]
    assert run_checks(app) == ["provider_down"]  # still down: merged into the same alert
    page = alerts_page(client)
    assert "Model provider down: Replies have failed for 5 minutes or more, none succeeded ×2" \
        in page
    assert "last error: The model provider is unavailable (502)." in page
    assert "failed replies: 2" in page


def test_a_successful_reply_since_the_failures_means_no_provider_down(app, admin, make_user):
    make_user("cara@example.com", "Cara Consultant")
    failed_reply(app, 9)
    failed_reply(app, 8)
    failed_reply(app, 2, status="done")
    failed_reply(app, 1)
    assert run_checks(app) == []


def test_a_long_queue_raises_queue_backlog(app, client, admin, redis_url):
    app.config["ALERT_QUEUE_BACKLOG"] = 2
    queue = Queue("default", connection=redis.Redis.from_url(redis_url))
    for number in range(3):
        queue.enqueue("builtins.print", number)
    assert run_checks(app) == ["queue_backlog"]
    assert "Job queue backlog: Queue default has more than 2 jobs waiting" in alerts_page(client)


def test_jobs_failing_raise_job_failures(app, client, admin, redis_url, run_worker):
    app.config["ALERT_JOB_FAILURES"] = 1
    assert run_checks(app) == []  # notes how many jobs had failed
    queue = Queue("default", connection=redis.Redis.from_url(redis_url))
    for word in ("one", "two"):
        queue.enqueue("builtins.int", word)  # ValueError: a real failed job
    assert run_worker("default").wait(60) == 0
    assert run_checks(app) == ["job_failures"]
    assert "Jobs failing: More than 1 jobs of queue default failed within 10 minutes" \
        in alerts_page(client)


def test_on_the_embedded_sqlite_database(app_config, tmp_path):
    """Quiet hours (times stored by SQLite as text) and the provider check (SQLite's naive
    datetimes) work on the embedded default's database too."""
    app = sqlite_app(app_config, tmp_path / "chatapp.db", ALERT_OUTBOX_DIR=str(tmp_path))
    web = app.test_client()
    with app.app_context():
        ada = User(email="ada@example.com", display_name="Ada Admin", role="admin")
        ada.set_password(PASSWORD)
        db.session.add(ada)
        db.session.commit()
    assert login(web, "ada@example.com").status_code == 302
    assert save_alert_settings(web, quiet_start="00:00", quiet_end="23:59").status_code == 303
    failed_reply(app, 7)
    failed_reply(app, 1)
    with app.app_context():
        raise_alert("help_request", summary="Help with Acme")
        assert alert_checks.run_checks() == ["provider_down"]
    assert [(d.status, d.last_error) for d in deliveries(app)] == [
        ("suppressed", "quiet hours"), ("queued", None)]
