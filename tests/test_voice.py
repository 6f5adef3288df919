"""Voice: audio uploads transcribed by a real media worker (offline Whisper, or an
OpenAI-compatible server: the fake one), replies read aloud into speech attachments (espeak-ng,
or the server), the Listen route's refusals and authorization, and the voice settings page."""

from __future__ import annotations

import io
import json
import re
import subprocess
import tempfile
import uuid
import wave
from pathlib import Path

import pytest

from chatapp.extensions import db
from chatapp.models import Attachment, User
from chatapp.services import jobs, transcription
from tests.conftest import answered_chat, csrf_from, login, messages_of, new_chat, send
from tests.test_uploads import EICAR, fetch, upload

SPOKEN = "Please estimate the cost of moving our servers to the cloud."
REPLY = ["**Moving** the servers", " to the cloud costs", " about four hundred dollars a month.",
         "\n\n```python\nprint('no code is read aloud')\n```\n"]


@pytest.fixture
def endpoint(llm, local) -> dict[str, str]:
    """Worker settings sending transcription and speech to the fake OpenAI-compatible server."""
    server = llm.base_url.removesuffix("/v1")
    return {**local, "CHATAPP_TRANSCRIBE_URL": server, "CHATAPP_TRANSCRIBE_API_KEY": "k-1",
            "CHATAPP_TTS_URL": server, "CHATAPP_TTS_API_KEY": "k-2", "CHATAPP_TTS_VOICE": "nova"}


def spoken_wav(text: str) -> bytes:
    """`text` spoken by espeak-ng, as WAV (written to a file: on stdout its sizes are unset)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "spoken.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-w", str(path), text], check=True)
        return path.read_bytes()


def words(text: str) -> set[str]:
    """The words of `text`, lower case, without punctuation."""
    return set(re.findall(r"[a-z']+", text.lower()))


def work_media(run_worker, env) -> None:
    assert run_worker("media", env=env).wait(120) == 0


def attachment_of(client, chat: str, attachment_id: int) -> dict:
    response = client.get(f"{chat}/attachments/{attachment_id}")
    assert response.status_code == 200
    return response.get_json()


def ask_speech(client, chat: str, message_id: int, csrf: bool = True):
    """POST the Listen route as the page's script does (CSRF header, JSON answer)."""
    token = csrf_from(client.get(chat).get_data(as_text=True)) if csrf else ""
    return client.post(f"{chat}/messages/{message_id}/speech",
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def test_a_voice_note_is_transcribed_offline(client, consultant, run_worker, local):
    chat = new_chat(client)
    [created] = upload(client, chat, [("note.wav", spoken_wav(SPOKEN))]).get_json()["attachments"]
    assert created["transcript_status"] is None and created["origin"] == "upload"

    work_media(run_worker, local)
    shown = attachment_of(client, chat, created["id"])
    assert shown["status"] == "clean" and shown["transcript_status"] == "done"
    assert {"estimate", "cost", "moving", "servers", "cloud"} <= words(shown["transcript"])
    assert fetch(client, shown["url"])[0] == 200  # the audio stays attached and playable


def test_only_clean_audio_is_transcribed(app, client, consultant, run_worker, local):
    chat = new_chat(client)
    upload(client, chat, [("fees.csv", b"a,b\n1,2\n"), ("empty.wav", b"RIFF\0\0\0\0WAVEjunk"),
                          ("infected.wav", spoken_wav(SPOKEN) + EICAR)])
    work_media(run_worker, local)
    with app.app_context():
        rows = db.session.execute(db.select(Attachment.name, Attachment.status,
                                            Attachment.transcript_status, Attachment.transcript)
                                  .order_by(Attachment.id)).all()
    assert rows[0] == ("fees.csv", "clean", None, None)  # not audio
    assert rows[1] == ("empty.wav", "clean", "failed", None)  # cannot be decoded: still attached
    assert rows[2] == ("infected.wav", "quarantined", None, None)  # never heard


def test_the_transcription_endpoint_when_configured(app, client, consultant, run_worker, llm,
                                                    endpoint):
    llm.reset(transcript="Estimate the cloud move.")
    chat = new_chat(client)
    audio = spoken_wav(SPOKEN)
    [created] = upload(client, chat, [("note.wav", audio)]).get_json()["attachments"]
    work_media(run_worker, endpoint)

    shown = attachment_of(client, chat, created["id"])
    assert (shown["transcript_status"], shown["transcript"]) == ("done",
                                                                 "Estimate the cloud move.")
    [request] = llm.audio_requests
    assert request["path"] == "/v1/audio/transcriptions"
    assert request["headers"]["Authorization"] == "Bearer k-1"
    assert b'name="model"\r\n\r\nwhisper-1' in request["body"] and audio in request["body"]

    with app.app_context():  # queued again: the job does its work once
        jobs.enqueue_transcription(created["id"])
    work_media(run_worker, endpoint)
    assert len(llm.audio_requests) == 1


def test_a_failing_transcription_endpoint_leaves_the_audio(client, consultant, run_worker, llm,
                                                          endpoint):
    llm.reset(audio_fail_status=503)
    chat = new_chat(client)
    [created] = upload(client, chat, [("note.wav", spoken_wav(SPOKEN))]).get_json()["attachments"]
    work_media(run_worker, endpoint)
    shown = attachment_of(client, chat, created["id"])
    assert (shown["status"], shown["transcript_status"], shown["transcript"]) == (
        "clean", "failed", None)
    assert fetch(client, shown["url"])[0] == 200


@pytest.mark.parametrize("engine", ["piper", "espeak"])
def test_a_reply_is_read_aloud_offline(app, client, consultant, run_worker, llm, local, engine):
    llm.reset(tokens=REPLY)
    chat = answered_chat(client, run_worker, "What would the cloud cost?")
    reply = messages_of(app, chat)[-1]
    response = ask_speech(client, chat, reply.id)
    assert response.status_code == 202
    created = response.get_json()
    assert (created["origin"], created["status"], created["message_id"], created["url"]) == (
        "speech", "pending", reply.id, None)
    assert ask_speech(client, chat, reply.id).get_json()["id"] == created["id"]  # one per reply

    work_media(run_worker, {**local, "CHATAPP_TTS_ENGINE": engine})
    shown = attachment_of(client, chat, created["id"])
    assert (shown["status"], shown["content_type"]) == ("clean", "audio/wav")
    status, audio = fetch(client, shown["url"])
    assert status == 200 and shown["size"] == len(audio)
    with wave.open(io.BytesIO(audio)) as sound:
        assert sound.getnframes() / sound.getframerate() > 0.5
    with app.app_context():
        heard = words(transcription.transcribe(audio, "reply.wav", "audio/wav"))
        owner = db.session.get(Attachment, created["id"]).uploader_id
    assert {"servers", "cloud", "month"} <= heard
    assert not {"asterisk", "print"} & heard
    assert owner == consultant.id


def test_the_speech_endpoint_when_configured(app, client, consultant, run_worker, llm, endpoint):
    llm.reset(tokens=REPLY)
    chat = answered_chat(client, run_worker, "What would the cloud cost?")
    created = ask_speech(client, chat, messages_of(app, chat)[-1].id).get_json()
    work_media(run_worker, endpoint)

    shown = attachment_of(client, chat, created["id"])
    assert (shown["status"], shown["content_type"]) == ("clean", "audio/wav")
    [request] = llm.audio_requests
    assert request["path"] == "/v1/audio/speech"
    assert request["headers"]["Authorization"] == "Bearer k-2"
    sent = json.loads(request["body"])
    assert (sent["model"], sent["voice"], sent["response_format"]) == ("tts-1", "nova", "wav")
    assert sent["input"].startswith("Moving the servers to the cloud costs about four hundred")
    assert "*" not in sent["input"] and "print" not in sent["input"]
    with wave.open(io.BytesIO(fetch(client, shown["url"])[1])) as sound:
        assert sound.getnframes() / sound.getframerate() > 0.5
    with app.app_context():  # queued again: the job does its work once
        jobs.enqueue_speech(created["id"])
    work_media(run_worker, endpoint)
    assert len(llm.audio_requests) == 1


def test_a_regenerated_reply_gets_new_audio(app, client, consultant, run_worker, llm,
                                            local):
    chat = answered_chat(client, run_worker)
    reply_id = messages_of(app, chat)[-1].id
    first = ask_speech(client, chat, reply_id).get_json()
    llm.reset(tokens=REPLY)
    token = csrf_from(client.get(chat).get_data(as_text=True))
    assert client.post(f"{chat}/messages/{reply_id}/regenerate",
                       data={"csrf_token": token}).status_code == 303
    assert run_worker("llm").wait(60) == 0
    second = ask_speech(client, chat, reply_id).get_json()
    assert second["id"] != first["id"]
    assert second["transcript"].startswith("Moving the servers to the cloud")


def test_a_failing_speech_endpoint_fails_the_attachment_with_the_reason(
        app, client, consultant, run_worker, llm, endpoint):
    chat = answered_chat(client, run_worker)
    reply_id = messages_of(app, chat)[-1].id
    llm.reset(audio_fail_status=500)
    created = ask_speech(client, chat, reply_id).get_json()
    work_media(run_worker, endpoint)
    shown = attachment_of(client, chat, created["id"])
    assert shown["status"] == "failed" and shown["url"] is None
    assert "500" in shown["reason"]
    # asking again makes a new attempt
    llm.reset()
    again = ask_speech(client, chat, reply_id)
    assert again.status_code == 202 and again.get_json()["id"] != created["id"]


def test_only_finished_replies_can_be_read_aloud(app, client, consultant, run_worker):
    chat = new_chat(client)
    send(client, chat, "Hello")
    question, reply = messages_of(app, chat)[-2:]
    for message_id, status, words_in_message in (
            (reply.id, 409, "not finished"), (question.id, 422, "Only replies"),
            (reply.id + 1000, 404, "not in this chat")):
        response = ask_speech(client, chat, message_id)
        assert response.status_code == status
        assert words_in_message in response.get_json()["error"]["message"]
    assert run_worker("llm").wait(60) == 0
    assert ask_speech(client, chat, reply.id).status_code == 202


def test_the_listen_route_is_the_owners_only(app, client, consultant, make_user, run_worker):
    chat = answered_chat(client, run_worker)
    reply_id = messages_of(app, chat)[-1].id
    assert ask_speech(client, chat, reply_id, csrf=False).status_code == 400  # no CSRF token

    other = app.test_client()
    make_user("olga@example.com")
    login(other, "olga@example.com")
    token = csrf_from(other.get("/chats/new").get_data(as_text=True))
    response = other.post(f"{chat}/messages/{reply_id}/speech",
                          headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert response.status_code == 404
    missing = other.post(f"/chats/{uuid.uuid4()}/messages/{reply_id}/speech",
                         headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert missing.status_code == 404

    anonymous = app.test_client()
    token = csrf_from(anonymous.get("/login").get_data(as_text=True))
    response = anonymous.post(f"{chat}/messages/{reply_id}/speech",
                              headers={"X-CSRFToken": token})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 0


def test_voice_settings_are_saved_and_reach_the_chat_page(app, client, consultant):
    page = client.get("/settings/voice").get_data(as_text=True)
    assert "Read replies aloud automatically" in page and "checked" not in page
    response = client.post("/settings/voice", data={"csrf_token": csrf_from(page),
                                                     "read_aloud": "on"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Voice settings saved." in page
    assert 'id="read-aloud" name="read_aloud"\n      checked' in page
    with app.app_context():
        user = db.session.get(User, consultant.id)
        assert (user.read_aloud, user.voice_autosend) == (True, False)
    chat = new_chat(client)
    assert 'data-read-aloud="true"' in client.get(chat).get_data(as_text=True)
    assert client.post("/settings/voice", data={"read_aloud": "on"}).status_code == 400


def test_a_voice_note_sent_alone_is_heard_by_the_reply(app, client, consultant, llm, run_worker,
                                                       local):
    chat = new_chat(client)
    [note] = upload(client, chat, [("note.wav", spoken_wav(SPOKEN))]).get_json()["attachments"]
    work_media(run_worker, local)
    assert send(client, chat, "", headers={"Accept": "application/json"},
                attachment_ids=[note["id"]]).status_code == 202
    assert run_worker(env=local).wait(60) == 0
    prompt = llm.requests[-1]["messages"][-1]["content"]
    assert prompt.startswith('Voice note "note.wav":\n')
    assert {"estimate", "cost", "servers", "cloud"} <= words(prompt)
    assert [f["name"] for f in messages_of(app, chat)[1].to_view()["used_files"]] == ["note.wav"]
