"""Signing in and out, CSRF, cookies and the login page."""

from chatapp import create_app
from tests.conftest import PASSWORD, csrf_from, login


def test_login_page_renders_a_form_with_csrf(client, app):
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html
    assert csrf_from(html)


def test_login_then_chat_list(client, make_user):
    make_user("cara@example.com", "Cara Consultant")
    response = login(client, "cara@example.com")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Your chats" in client.get("/chats").get_data(as_text=True)


def test_unknown_email_and_wrong_password_get_the_same_answer(client, make_user):
    make_user("cara@example.com")
    wrong_password = login(client, "cara@example.com", "not the password")
    unknown_email = login(client, "nobody@example.com", PASSWORD)
    assert wrong_password.status_code == unknown_email.status_code == 401
    for response in (wrong_password, unknown_email):
        assert "Email or password is incorrect." in response.get_data(as_text=True)
    assert client.get("/chats").status_code == 302  # still signed out


def test_inactive_user_cannot_sign_in(client, make_user, app):
    from chatapp.extensions import db
    from chatapp.models import User

    make_user("gone@example.com")
    with app.app_context():
        db.session.execute(db.update(User).values(active=False))
        db.session.commit()
    assert login(client, "gone@example.com").status_code == 401


def test_login_without_csrf_token_is_rejected(client, make_user):
    make_user("cara@example.com")
    client.get("/login")
    response = client.post("/login", data={"email": "cara@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert client.get("/chats").status_code == 302


def test_login_next_parameter_only_follows_local_paths(client, make_user):
    make_user("cara@example.com")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=//evil.example/x", data={
        "csrf_token": token, "email": "cara@example.com", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_pages_need_a_signed_in_user(client):
    response = client.get("/chats")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    htmx = client.get("/chats", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/login"
    api = client.get("/chats", headers={"Accept": "application/json"})
    assert api.status_code == 401
    assert api.get_json()["error"]["code"] == "unauthorized"


def test_logout_needs_post_with_csrf(client, consultant):
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    token = csrf_from(client.get("/chats").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/chats").status_code == 302


def test_session_cookie_flags(app_config):
    production = create_app({**app_config, "SESSION_COOKIE_SECURE": None})
    client = production.test_client()
    cookie = client.get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    debug = create_app({**app_config, "SESSION_COOKIE_SECURE": None, "DEBUG": True})
    assert "Secure" not in debug.test_client().get("/login").headers["Set-Cookie"]


def test_refuses_to_start_without_secret_key(app_config):
    import pytest

    with pytest.raises(RuntimeError, match="CHATAPP_SECRET_KEY"):
        create_app({**app_config, "SECRET_KEY": None})
