"""Uploads: files stored in a local directory and in S3 (moto's server), checked by content,
scanned and read by a real media worker, served by short-lived signed links to their owner only;
unsafe files quarantined with the reason and an alert; bad uploads refused with clear errors."""

from __future__ import annotations

import io
import socketserver
import struct
import threading
import wave
import zipfile
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import boto3
import httpx
import pytest
import redis
from botocore.exceptions import ClientError
from fpdf import FPDF
from PIL import ExifTags, Image
from rq import Queue

from chatapp.extensions import db
from chatapp.models import Alert, Attachment, ChatSession, utcnow
from chatapp.services import lifecycle
from chatapp.services.storage import get_storage
from tests.conftest import PASSWORD, csrf_from, login, messages_of, new_chat, send, sqlite_app
from tests.services import free_port

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
BUCKET = "chatapp-uploads"


@pytest.fixture(params=["local", "s3"])
def backend(request, app, tmp_path, monkeypatch) -> dict[str, str]:
    """Storage of this test, local or S3 (moto), for the app and its workers: the workers'
    settings."""
    if request.param == "local":
        app.config.update(UPLOAD_DIR=str(tmp_path / "uploads"))
        return {"CHATAPP_UPLOAD_DIR": str(tmp_path / "uploads")}
    moto_url = request.getfixturevalue("moto_url")
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1"}
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    httpx.post(moto_url + "/moto-api/reset").raise_for_status()
    boto3.client("s3", region_name="us-east-1", endpoint_url=moto_url).create_bucket(
        Bucket=BUCKET)
    app.config.update(STORAGE_BACKEND="s3", S3_BUCKET=BUCKET, AWS_ENDPOINT_URL=moto_url)
    return {**credentials, "CHATAPP_STORAGE_BACKEND": "s3", "CHATAPP_S3_BUCKET": BUCKET,
            "CHATAPP_AWS_ENDPOINT_URL": moto_url}


def upload(client, chat: str, files: list[tuple[str, bytes]], csrf: bool = True):
    """POST files to a chat's attachments as a script would (multipart, JSON answer)."""
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    if csrf:
        data["csrf_token"] = csrf_from(client.get(chat).get_data(as_text=True))
    return client.post(chat + "/attachments", data=data, content_type="multipart/form-data",
                       headers={"Accept": "application/json"})


def listed(client, chat: str) -> list[dict]:
    response = client.get(chat + "/attachments", headers={"Accept": "application/json"})
    assert response.status_code == 200
    return response.get_json()["attachments"]


def fetch(client, url: str) -> tuple[int, bytes]:
    """Follow a download URL: S3's (absolute) over HTTP, chatapp's own with the user's client."""
    if url.startswith("http"):
        response = httpx.get(url)
        return response.status_code, response.content
    response = client.get(url)
    return response.status_code, response.get_data()


def process(run_worker, env) -> None:
    assert run_worker("media", env=env).wait(60) == 0


def pdf_bytes(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text=text)
    return bytes(pdf.output())


def docx_bytes(text: str, extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", (
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"))
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), "teal")
    exif = image.getexif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def gps_of(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))


def test_files_are_stored_scanned_read_and_served(app, client, consultant, run_worker,
                                                  backend):
    chat = new_chat(client)
    files = [("report.pdf", pdf_bytes("Quarterly revenue grew 12 percent")),
             ("notes.docx", docx_bytes("Acme wants a pricing review")),
             ("fees.csv", b"client,fee\nAcme,1200\n")]
    response = upload(client, chat, files)
    assert response.status_code == 201
    created = response.get_json()["attachments"]
    assert [(a["name"], a["content_type"], a["status"], a["url"]) for a in created] == [
        ("report.pdf", "application/pdf", "pending", None),
        ("notes.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "pending", None),
        ("fees.csv", "text/csv", "pending", None)]

    process(run_worker, backend)
    shown = listed(client, chat)
    assert [(a["status"], a["reason"], a["has_text"]) for a in shown] == [("clean", None, True)] * 3
    for attachment, (_, content) in zip(shown, files, strict=True):
        assert fetch(client, attachment["url"]) == (200, content)
        if attachment["url"].startswith("http"):  # S3: presigned for SIGNED_URL_SECONDS
            assert parse_qs(urlparse(attachment["url"]).query)["X-Amz-Expires"] == ["300"]
    with app.app_context():
        texts = db.session.scalars(db.select(Attachment.extracted_text)
                                   .order_by(Attachment.id)).all()
    assert "Quarterly revenue grew 12 percent" in texts[0]
    assert texts[1:] == ["Acme wants a pricing review", "client,fee\nAcme,1200"]


def test_an_image_loses_its_gps_exif_and_gets_a_thumbnail(client, consultant, run_worker,
                                                          backend):
    original = jpeg_with_gps()
    assert gps_of(original)  # the test image does carry a position
    chat = new_chat(client)
    assert upload(client, chat, [("holiday.JPG", original)]).status_code == 201
    process(run_worker, backend)
    [photo] = listed(client, chat)
    status, stored = fetch(client, photo["url"])
    assert status == 200 and stored[:3] == b"\xff\xd8\xff"
    assert gps_of(stored) == {}
    status, thumb = fetch(client, photo["thumbnail_url"])
    assert status == 200 and thumb.startswith(b"\x89PNG")


def test_a_local_link_expires(app, client, consultant, run_worker, local):
    chat = new_chat(client)
    upload(client, chat, [("fees.csv", b"a,b\n1,2\n")])
    process(run_worker, local)
    app.config["SIGNED_URL_SECONDS"] = 0
    [attachment] = listed(client, chat)
    response = client.get(attachment["url"], headers={"Accept": "application/json"})
    assert response.status_code == 410
    assert "expired" in response.get_json()["error"]["message"]
    assert client.get(attachment["url"][:-3] + "abc").status_code == 404  # altered: not ours


def test_another_consultant_gets_404_everywhere(client, app, consultant, make_user, run_worker,
                                               local):
    chat = new_chat(client)
    upload(client, chat, [("fees.csv", b"a,b\n1,2\n")])
    process(run_worker, local)
    [attachment] = listed(client, chat)
    other = app.test_client()
    make_user("otto@example.com")
    login(other, "otto@example.com")
    token = csrf_from(other.get("/chats/new").get_data(as_text=True))
    assert other.get(chat + "/attachments").status_code == 404
    assert other.get(f"{chat}/attachments/{attachment['id']}").status_code == 404
    own = client.get(f"{chat}/attachments/{attachment['id']}").get_json()
    assert (own["id"], own["status"], own["origin"]) == (attachment["id"], "clean", "upload")
    assert other.post(chat + "/attachments", data={
        "csrf_token": token, "files": [(io.BytesIO(b"x,y\n"), "a.csv")]},
        content_type="multipart/form-data").status_code == 404
    assert other.get(attachment["url"]).status_code == 404
    assert client.get(attachment["url"]).status_code == 200


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("eicar.txt", EICAR, "EICAR"),
    ("bomb.docx", docx_bytes("x", {"word/media/zeros.bin": b"\0" * (30 * 1024 * 1024)}),
     "Archive bomb"),
    ("polyglot.pdf", pdf_bytes("hello") + docx_bytes("inside"), "both PDF and a ZIP archive"),
    ("page.pdf", b"%PDF-1.4\n<html><script>alert(1)</script></html>", "both PDF and HTML"),
])
def test_unsafe_files_are_quarantined_with_the_reason_and_an_alert(
        app, client, consultant, run_worker, backend, name, content, reason):
    chat = new_chat(client)
    assert upload(client, chat, [(name, content)]).status_code == 201
    with app.app_context():
        key = db.session.scalar(db.select(Attachment.storage_key))
    process(run_worker, backend)
    [attachment] = listed(client, chat)
    assert attachment["status"] == "quarantined"
    assert reason in attachment["reason"]
    assert attachment["url"] is None
    with app.app_context():
        [alert] = db.session.scalars(db.select(Alert)).all()
        moved = db.session.scalar(db.select(Attachment.storage_key))
        assert alert.kind == "system" and name in alert.summary
        assert alert.user_id == consultant.id
        assert moved == "quarantine/" + key
        assert get_storage().get(moved) == content
        with pytest.raises((FileNotFoundError, ClientError)):  # no longer where it was
            get_storage().get(key)


def exe() -> bytes:
    return b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode."


@pytest.mark.parametrize(("config", "files", "status", "message"), [
    ({"UPLOAD_MAX_BYTES": 1000}, [("big.csv", b"a" * 1001)], 413, "limit of 1000 bytes"),
    ({"UPLOAD_MAX_BYTES": 1000, "UPLOAD_MAX_FILES": 1}, [("huge.csv", b"a" * 2_000_000)], 413,
     "limit of 1 files of 1000 bytes"),
    ({}, [("invoice.pdf", exe())], 415, "Allowed: PDF, PNG, JPEG"),
    ({}, [("data.zip", b"PK\x03\x04rest")], 415, "not of an allowed type"),
    ({}, [("photo.png", b"\x89PNG\r\n\x1a\nbroken")], 415, "could not be read"),
    ({"UPLOAD_MAX_FILES": 2}, [("a.txt", b"a"), ("b.txt", b"b"), ("c.txt", b"c")], 422,
     "at most 2 files"),
    ({}, [], 422, "at least one file"),
    ({}, [("empty.txt", b"")], 422, "empty"),
])
def test_bad_uploads_are_refused_and_nothing_is_stored(app, client, consultant, local, config,
                                                       files, status, message):
    app.config.update(config)
    chat = new_chat(client)
    response = upload(client, chat, files)
    assert response.status_code == status
    assert message in response.get_json()["error"]["message"]
    assert listed(client, chat) == []


def test_files_of_several_megabytes_are_taken(client, consultant, local):
    chat = new_chat(client)
    response = upload(client, chat, [("a.txt", b"a" * 3_000_000), ("b.txt", b"b" * 3_000_000)])
    assert response.status_code == 201
    assert [a["size"] for a in response.get_json()["attachments"]] == [3_000_000] * 2


def test_an_upload_without_csrf_token_is_refused(client, consultant, local):
    chat = new_chat(client)
    assert upload(client, chat, [("a.txt", b"a")], csrf=False).status_code == 400
    assert listed(client, chat) == []


def test_names_are_sanitized_and_type_comes_from_content(client, consultant, local):
    chat = new_chat(client)
    response = upload(client, chat, [("../../etc/pa\x07ss\x00wd.md", b"# Title\n"),
                                     ("image.pdf", jpeg_with_gps()),
                                     ("x" * 300 + ".txt", b"hello")])
    assert response.status_code == 201
    assert [(a["name"], a["content_type"]) for a in response.get_json()["attachments"]] == [
        ("passwd.md", "text/markdown"), ("image.pdf", "image/jpeg"),
        ("x" * 116 + ".txt", "text/plain")]


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\0\0" * 800)
    return out.getvalue()


def test_voice_note_audio_types_are_taken_by_their_content(client, consultant, local):
    chat = new_chat(client)
    response = upload(client, chat, [
        ("note.bin", wav()), ("note.wav", b"OggS\0\2" + b"\0" * 40),
        ("note", b"\x1a\x45\xdf\xa3" + b"\x9f" * 40), ("a.mp3", b"ID3\4\0" + b"\0" * 40),
        ("b.m4a", b"\0\0\0\x20ftypM4A " + b"\0" * 40)])
    assert response.status_code == 201
    assert [a["content_type"] for a in response.get_json()["attachments"]] == [
        "audio/wav", "audio/ogg", "audio/webm", "audio/mpeg", "audio/mp4"]


def test_signed_out_visitors_are_sent_to_sign_in(client, app, consultant, run_worker, local):
    chat = new_chat(client)
    upload(client, chat, [("fees.csv", b"a,b\n1,2\n")])
    process(run_worker, local)
    [attachment] = listed(client, chat)
    anonymous = app.test_client()
    token = csrf_from(anonymous.get("/login").get_data(as_text=True))
    for response in (anonymous.get(chat + "/attachments"), anonymous.get(attachment["url"]),
                     anonymous.post(chat + "/attachments", data={
                         "csrf_token": token, "files": [(io.BytesIO(b"x,y\n"), "a.csv")]},
                         content_type="multipart/form-data")):
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert len(listed(client, chat)) == 1


def test_the_media_job_does_its_work_once(app, client, consultant, run_worker, local):
    chat = new_chat(client)
    upload(client, chat, [("photo.png", png())])
    process(run_worker, local)
    [before] = listed(client, chat)
    with app.app_context():
        thumbnail = db.session.scalar(db.select(Attachment.thumbnail_key))
        queue = Queue("media", connection=redis.Redis.from_url(app.config["REDIS_URL"]))
        job = queue.enqueue("worker.media.process_attachment", before["id"])
    process(run_worker, local)
    assert job.get_status(refresh=True) == "finished" and job.return_value() == "clean"
    [after] = listed(client, chat)
    assert after["status"] == "clean"
    with app.app_context():  # no second thumbnail
        assert db.session.scalar(db.select(Attachment.thumbnail_key)) == thumbnail


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), "orange").save(out, "PNG")
    return out.getvalue()


class FakeClamd(socketserver.BaseRequestHandler):
    """clamd's INSTREAM command: FOUND for data holding b"MALWARE-MARKER", else OK."""

    def handle(self):
        assert self.request.recv(10) == b"zINSTREAM\0"
        data = b""
        while True:
            header = b""
            while len(header) < 4:
                header += self.request.recv(4 - len(header))
            (size,) = struct.unpack("!L", header)
            if size == 0:
                break
            while size:
                chunk = self.request.recv(size)
                data += chunk
                size -= len(chunk)
        found = b"MALWARE-MARKER" in data
        self.request.sendall(b"stream: Fake.Test.Sig FOUND\0" if found else b"stream: OK\0")


@pytest.fixture
def clamd_url():
    """A stand-in for ClamAV's clamd on a loopback port."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", free_port()), FakeClamd)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_clamd_verdicts_decide_when_configured(client, consultant, run_worker, local, clamd_url):
    chat = new_chat(client)
    upload(client, chat, [("a.txt", b"plain notes"), ("b.txt", b"notes MALWARE-MARKER")])
    process(run_worker, {**local, "CHATAPP_CLAMD_URL": clamd_url})
    assert [(a["status"], a["reason"]) for a in listed(client, chat)] == [
        ("clean", None), ("quarantined", "Malware found: Fake.Test.Sig.")]


def test_clamd_unreachable_means_failed_never_clean(client, consultant, run_worker, local):
    chat = new_chat(client)
    upload(client, chat, [("a.txt", b"plain notes")])
    process(run_worker, {**local, "CHATAPP_CLAMD_URL": f"tcp://127.0.0.1:{free_port()}"})
    [attachment] = listed(client, chat)
    assert attachment["status"] == "failed" and attachment["url"] is None
    assert "could not be read" in attachment["reason"]


def broken_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document><w:body>")
    return out.getvalue()


@pytest.mark.parametrize(("name", "content"), [
    ("broken.docx", broken_docx()),
    ("broken.pdf", b"%PDF-1.7\nnot really a PDF"),
])
def test_files_that_cannot_be_read_are_failed_with_the_reason(app, client, consultant,
                                                             run_worker, local, name, content):
    chat = new_chat(client)
    assert upload(client, chat, [(name, content)]).status_code == 201
    process(run_worker, local)
    [attachment] = listed(client, chat)
    assert attachment["status"] == "failed" and attachment["url"] is None
    assert "could not be read" in attachment["reason"]
    with app.app_context():
        assert db.session.scalar(db.select(Alert.summary)).startswith(f"Upload failed: {name}")


@pytest.mark.parametrize("how", ["purged after the undo window", "deleted through the API"])
def test_the_files_of_a_deleted_chat_are_deleted_from_storage(app, client, consultant, run_worker,
                                                             backend, how):
    chat = new_chat(client)
    upload(client, chat, [("photo.png", png()), ("fees.csv", b"a,b\n1,2\n")])
    process(run_worker, backend)
    with app.app_context():
        keys = [key for row in db.session.execute(
            db.select(Attachment.storage_key, Attachment.thumbnail_key)) for key in row if key]
        assert len(keys) == 3 and all(get_storage().get(key) for key in keys)
    if how == "deleted through the API":
        script = app.test_client()  # a script: no cookies, a bearer token
        token = script.post("/api/v1/auth/tokens", json={
            "email": "cara@example.com", "password": PASSWORD}).get_json()["access_token"]
        assert script.delete("/api/v1/sessions/" + chat.rsplit("/", 1)[1],
                             headers={"Authorization": f"Bearer {token}"}).status_code == 204
    with app.app_context():
        if how == "purged after the undo window":
            db.session.execute(db.update(ChatSession).values(
                deleted_at=utcnow() - timedelta(minutes=1)))
            db.session.commit()
            assert lifecycle.upkeep().purged == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(Attachment)) == 0
        for key in keys:
            with pytest.raises((FileNotFoundError, ClientError)):
                get_storage().get(key)


def test_on_the_embedded_sqlite_database(app_config, tmp_path, run_worker):
    """The embedded default: SQLite and the local directory, the media job included."""
    database = tmp_path / "chatapp.db"
    app = sqlite_app(app_config, database, UPLOAD_DIR=str(tmp_path / "uploads"))
    web = app.test_client()
    assert login(web, "cara@example.com").status_code == 302
    chat = new_chat(web)
    assert upload(web, chat, [("fees.csv", b"a,b\n1,2\n"), ("eicar.txt", EICAR)]).status_code == 201
    process(run_worker, {"CHATAPP_DATABASE_URL": f"sqlite:///{database}",
                         "CHATAPP_UPLOAD_DIR": str(tmp_path / "uploads")})
    shown = listed(web, chat)
    assert [a["status"] for a in shown] == ["clean", "quarantined"]
    assert fetch(web, shown[0]["url"]) == (200, b"a,b\n1,2\n")
    assert shown[0]["created_at"].endswith("+00:00")  # SQLite keeps no zone: it is added back


def remove(client, chat: str, attachment_id: int, csrf: str | None = None):
    """DELETE one attachment as the composer does (CSRF token in the header, JSON answer)."""
    token = csrf or csrf_from(client.get(chat).get_data(as_text=True))
    return client.delete(f"{chat}/attachments/{attachment_id}",
                         headers={"Accept": "application/json", "X-CSRFToken": token})


def test_a_file_not_yet_sent_can_be_removed_with_its_stored_copies(app, client, consultant,
                                                                   run_worker, backend):
    chat = new_chat(client)
    upload(client, chat, [("photo.png", png()), ("fees.csv", b"a,b\n1,2\n")])
    process(run_worker, backend)
    photo, fees = listed(client, chat)
    with app.app_context():
        stored = db.session.get(Attachment, photo["id"])
        keys = [stored.storage_key, stored.thumbnail_key]
    assert all(keys)

    response = remove(client, chat, photo["id"])
    assert response.status_code == 204
    assert [a["id"] for a in listed(client, chat)] == [fees["id"]]
    with app.app_context():
        for key in keys:
            with pytest.raises((FileNotFoundError, ClientError)):
                get_storage().get(key)
    assert remove(client, chat, photo["id"]).status_code == 404  # gone already


def test_removing_needs_the_csrf_token(client, consultant, local):
    chat = new_chat(client)
    [attachment] = upload(client, chat, [("fees.csv", b"a,b\n")]).get_json()["attachments"]
    response = client.delete(f"{chat}/attachments/{attachment['id']}",
                             headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert len(listed(client, chat)) == 1


def test_another_consultant_cannot_remove_a_file(app, client, consultant, make_user, local):
    chat = new_chat(client)
    [attachment] = upload(client, chat, [("fees.csv", b"a,b\n")]).get_json()["attachments"]
    other = app.test_client()
    make_user("otto@example.com")
    login(other, "otto@example.com")
    token = csrf_from(other.get("/chats/new").get_data(as_text=True))
    response = remove(other, chat, attachment["id"], csrf=token)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    otto_chat = new_chat(other)  # nor through a chat of their own
    assert remove(other, otto_chat, attachment["id"], csrf=token).status_code == 404
    assert len(listed(client, chat)) == 1


def test_a_sent_file_stays_with_its_message(app, client, consultant, run_worker, local):
    chat = new_chat(client)
    [attachment] = upload(client, chat, [("fees.csv", b"a,b\n")]).get_json()["attachments"]
    process(run_worker, local)
    assert send(client, chat, "Here are the fees",
                attachment_ids=[str(attachment["id"])]).status_code == 303
    [question, _] = messages_of(app, chat)
    assert listed(client, chat)[0]["message_id"] == question.id
    response = remove(client, chat, attachment["id"])
    assert response.status_code == 409
    assert response.get_json()["error"]["message"] == (
        "fees.csv was sent in a message: it stays with it.")
    assert len(listed(client, chat)) == 1
