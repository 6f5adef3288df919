"""The JSON API (/api/v1) with bearer tokens: every response checked against the OpenAPI
document (tests/api_contract.py)."""

from __future__ import annotations

import io

import pytest

from chatapp.extensions import db
from chatapp.models import ApiToken
from tests.api_contract import check
from tests.conftest import PASSWORD, csrf_from


class Api:
    """A script using the API: JSON in, JSON out, a bearer token, every answer checked."""

    def __init__(self, client, token: str | None = None):
        self.client, self.token = client, token

    def call(self, method: str, path: str, body=None, headers=None, **query):
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.client.open(f"/api/v1{path}", method=method, json=body,
                                    query_string=query, headers={**auth, **(headers or {})})
        return check(response, method, f"/api/v1{path}")

    def upload(self, path: str, files: list[tuple[str, bytes]]):
        """POST `files` as multipart `files` (no CSRF token: the bearer token is enough)."""
        response = self.client.post(
            f"/api/v1{path}", data={"files": [(io.BytesIO(data), name) for name, data in files]},
            content_type="multipart/form-data",
            headers={"Authorization": f"Bearer {self.token}"})
        return check(response, "POST", f"/api/v1{path}")


@pytest.fixture
def api(client, make_user):
    make_user("cara@example.com", "Cara Consultant")
    pair = Api(client).call("POST", "/auth/tokens",
                            {"email": "Cara@example.com", "password": PASSWORD}).get_json()
    return Api(client, pair["access_token"])


def test_sign_in_and_refresh_rotate_tokens_and_a_replay_ends_the_sign_in(client, make_user, app):
    make_user("cara@example.com", "Cara Consultant")
    anonymous = Api(client)
    wrong = anonymous.call("POST", "/auth/tokens", {"email": "cara@example.com", "password": "x"})
    assert wrong.status_code == 401
    first = anonymous.call("POST", "/auth/tokens",
                           {"email": "cara@example.com", "password": PASSWORD})
    assert first.status_code == 201 and first.get_json()["expires_in"] == 900
    pair = first.get_json()
    second = anonymous.call("POST", "/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert second.status_code == 201
    assert Api(client, second.get_json()["access_token"]).call("GET", "/sessions").status_code == 200
    replayed = anonymous.call("POST", "/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert replayed.status_code == 401 and "already used" in replayed.get_json()["error"]["message"]
    # a replayed refresh token was stolen: the sign-in it came from is ended, every token of it
    assert Api(client, second.get_json()["access_token"]).call("GET", "/sessions").status_code == 401
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken).where(
            ApiToken.revoked_at.is_(None))) == 0


def test_sessions_are_created_listed_a_page_at_a_time_updated_and_deleted(api):
    created = [api.call("POST", "/sessions", {"name": f"Meeting {i}", "client_name": client})
               for i, client in enumerate(["Acme", "Globex", "Acme Europe"])]
    assert all(r.status_code == 201 for r in created)
    assert created[0].headers["Location"].endswith(created[0].get_json()["id"])
    first = api.call("GET", "/sessions", limit=2).get_json()
    assert [s["name"] for s in first["items"]] == ["Meeting 2", "Meeting 1"]
    rest = api.call("GET", "/sessions", limit=2, cursor=first["next_cursor"]).get_json()
    assert [s["name"] for s in rest["items"]] == ["Meeting 0"] and rest["next_cursor"] is None
    acme = api.call("GET", "/sessions", client="acme").get_json()["items"]
    assert sorted(s["client_name"] for s in acme) == ["Acme", "Acme Europe"]
    session_id = created[0].get_json()["id"]
    updated = api.call("PATCH", f"/sessions/{session_id}",
                       {"context": {"meeting_type": "architecture review"}, "name": "Kick-off"})
    assert updated.get_json()["context"] == {"meeting_type": "architecture review"}
    assert api.call("GET", f"/sessions/{session_id}").get_json()["name"] == "Kick-off"
    assert api.call("DELETE", f"/sessions/{session_id}").status_code == 204
    assert api.call("GET", f"/sessions/{session_id}").status_code == 404


def test_sending_and_reading_the_history_with_etags(api, llm, run_worker):
    session_id = api.call("POST", "/sessions", {}).get_json()["id"]
    sent = api.call("POST", f"/sessions/{session_id}/messages",
                    {"content": "Cost estimate for 3 VMs?", "client_id": "script-0001"})
    assert sent.status_code == 202 and sent.get_json()["reply"]["status"] == "pending"
    again = api.call("POST", f"/sessions/{session_id}/messages",
                     {"content": "Cost estimate for 3 VMs?", "client_id": "script-0001"})
    assert again.get_json() == sent.get_json()  # the same send, not a second one
    busy = api.call("POST", f"/sessions/{session_id}/messages", {"content": "And storage?"})
    assert busy.status_code == 409
    assert run_worker().wait(60) == 0
    history = api.call("GET", f"/sessions/{session_id}/messages")
    items = history.get_json()["items"]
    assert [(m["sender"], m["status"]) for m in items] == [("user", "done"), ("assistant", "done")]
    unchanged = api.call("GET", f"/sessions/{session_id}/messages",
                         headers={"If-None-Match": history.headers["ETag"]})
    assert unchanged.status_code == 304
    older = api.call("GET", f"/sessions/{session_id}/messages", before=2).get_json()
    newer = api.call("GET", f"/sessions/{session_id}/messages", after=1, limit=1).get_json()
    assert [m["seq"] for m in older["items"]] == [1] and [m["seq"] for m in newer["items"]] == [2]
    regenerated = api.call("POST", f"/sessions/{session_id}/messages/{items[1]['id']}/regenerate")
    assert regenerated.status_code == 202
    stopped = api.call("POST", f"/sessions/{session_id}/messages/{items[1]['id']}/stop")
    assert stopped.status_code == 202
    polled = api.call("GET", f"/sessions/{session_id}/events", wait=0)
    assert polled.get_json()["events"][0]["type"] == "snapshot"


@pytest.mark.parametrize("method, path, body, status, code", [
    ("POST", "/sessions", "not json", 400, "bad_request"),
    ("POST", "/sessions", {"name": 42}, 422, "invalid"),
    ("POST", "/sessions", {"context": ["a"]}, 422, "invalid"),
    ("POST", "/sessions", {"context": {"client": "Ac\u0000me"}}, 400, "bad_request"),
    ("GET", "/sessions?limit=0", None, 400, "bad_request"),
    ("GET", "/sessions?cursor=bm9wZQ", None, 400, "bad_request"),
    ("GET", "/sessions?status=happy", None, 400, "bad_request"),
    ("GET", "/sessions/00000000-0000-0000-0000-000000000000", None, 404, "not_found"),
])
def test_mistakes_get_clear_json_errors(api, method, path, body, status, code):
    if body == "not json":
        response = api.client.post("/api/v1/sessions", data="{", content_type="application/json",
                                   headers={"Authorization": f"Bearer {api.token}"})
        check(response, method, "/api/v1/sessions")
    else:
        response = api.call(method, path.split("?")[0], body,
                            **dict(p.split("=") for p in path.split("?")[1:]))
    error = response.get_json()["error"]
    assert response.status_code == status and error["code"] == code and error["message"]
    assert error["correlation_id"] == response.headers["X-Request-ID"]


def test_no_token_or_a_bad_one_is_401_and_another_users_session_404(api, client, make_user):
    for token in (None, "chat_made-up"):
        response = Api(client, token).call("GET", "/sessions")
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    session_id = api.call("POST", "/sessions", {}).get_json()["id"]
    make_user("other@example.com", "Other")
    other = Api(client).call("POST", "/auth/tokens",
                             {"email": "other@example.com", "password": PASSWORD}).get_json()
    for method in ("GET", "PATCH", "DELETE"):
        answer = Api(client, other["access_token"]).call(method, f"/sessions/{session_id}",
                                                         {} if method == "PATCH" else None)
        assert answer.status_code == 404


def test_the_openapi_document_is_served(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0" and "/sessions" in document["paths"]


def test_sign_in_attempts_and_api_calls_are_rate_limited(client, make_user, app):
    make_user("cara@example.com", "Cara Consultant")
    anonymous = Api(client)
    for _ in range(app.config["RATE_LIMIT_SIGN_IN"]):
        assert anonymous.call("POST", "/auth/tokens", {"email": "cara@example.com",
                                                       "password": "guess"}).status_code == 401
    limited = anonymous.call("POST", "/auth/tokens", {"email": "cara@example.com",
                                                      "password": PASSWORD})
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    token = csrf_from(client.get("/login").get_data(as_text=True))
    page = client.post("/login", data={"csrf_token": token, "email": "cara@example.com",
                                       "password": PASSWORD})
    assert page.status_code == 429 and "Too many requests" in page.get_data(as_text=True)


def test_api_calls_over_the_per_user_limit_get_429(api, app):
    app.config["RATE_LIMIT_API"] = 3
    assert [api.call("GET", "/sessions").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert api.call("GET", "/sessions").get_json()["error"]["code"] == "rate_limited"


def test_a_body_over_the_size_limit_is_413(api):
    response = api.call("POST", "/sessions", {"context": {"notes": "x" * 1_100_000}})
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"


def test_files_through_the_api(api, client, make_user, llm, run_worker, local):
    session_id = api.call("POST", "/sessions", {}).get_json()["id"]
    files = f"/sessions/{session_id}/attachments"
    created = api.upload(files, [("fees.csv", b"client,fee\nAcme,1200\n")])
    assert created.status_code == 201
    [attachment] = created.get_json()["attachments"]
    assert attachment["status"] == "pending" and attachment["url"] is None
    busy = api.call("POST", f"/sessions/{session_id}/messages",
                    {"content": "Read it", "attachment_ids": [attachment["id"]]})
    assert busy.status_code == 409 and "still being checked" in busy.get_json()["error"]["message"]
    assert api.upload(files, [("x.exe", b"MZ\x90\x00")]).status_code == 415
    assert run_worker("media", env=local).wait(60) == 0
    one = api.call("GET", f"{files}/{attachment['id']}").get_json()
    assert one["status"] == "clean" and one["url"]
    assert [a["id"] for a in api.call("GET", files).get_json()["attachments"]] == [one["id"]]
    bad = api.call("POST", f"/sessions/{session_id}/messages", {"attachment_ids": ["1"]})
    assert bad.status_code == 422

    sent = api.call("POST", f"/sessions/{session_id}/messages",
                    {"attachment_ids": [attachment["id"]]})
    assert sent.status_code == 202
    assert sent.get_json()["message"]["files"][0]["name"] == "fees.csv"
    assert run_worker(env=local).wait(60) == 0
    assert "Acme,1200" in llm.requests[-1]["messages"][-1]["content"]
    question, reply = api.call("GET", f"/sessions/{session_id}/messages").get_json()["items"]
    assert [f["name"] for f in reply["used_files"]] == ["fees.csv"]
    opened = api.call("GET", f"{files}/{attachment['id']}/file")
    assert opened.status_code == 302
    download = client.get(opened.headers["Location"],
                          headers={"Authorization": f"Bearer {api.token}"})
    assert download.get_data() == b"client,fee\nAcme,1200\n"

    make_user("otto@example.com", "Otto")
    other = Api(client, Api(client).call("POST", "/auth/tokens", {
        "email": "otto@example.com", "password": PASSWORD}).get_json()["access_token"])
    for path in (files, f"{files}/{attachment['id']}", f"{files}/{attachment['id']}/file"):
        assert other.call("GET", path).status_code == 404
