"""Voice notes in Chromium with its fake microphone: record, see the timer, stop, and the
recording is attached like a file, with a player; cancel throws it away."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from chatapp.extensions import db
from chatapp.models import User
from tests.e2e.conftest import CHROMIUM_ARGS, sign_in
from tests.e2e.test_chat_browser import start_chat

FAKE_MICROPHONE = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def browser_with_microphone(browser):
    """A second Chromium (from the run's Playwright) whose microphone is a fake device, allowed
    without asking."""
    with_microphone = browser.browser_type.launch(executable_path=shutil.which("chromium"),
                                                  args=CHROMIUM_ARGS + FAKE_MICROPHONE)
    yield with_microphone
    with_microphone.close()


@pytest.fixture
def page(browser_with_microphone, live_server, make_user, run_worker, llm):
    """Cara on a new chat, with a worker scanning uploads and transcribing them (the fake
    server's transcription endpoint); no JavaScript error allowed."""
    context = browser_with_microphone.new_context(base_url=live_server)
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    make_user("cara@example.com", "Cara Consultant")
    run_worker(burst=False, env={"CHATAPP_TRANSCRIBE_URL": llm.base_url.removesuffix("/v1"),
                                 "CHATAPP_TRANSCRIBE_API_KEY": "k-1"})
    sign_in(page, "cara@example.com")
    start_chat(page)
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_a_recorded_voice_note_is_attached_with_a_player(page):
    send = page.locator("#composer button[type=submit]")
    page.get_by_role("button", name="Record").click()
    recorder = page.get_by_role("group", name="Voice note")
    expect(recorder).to_be_visible()
    expect(recorder.locator("time")).to_have_text("0:01", timeout=5000)  # the timer runs
    expect(send).to_be_disabled()  # no sending half a recording
    expect(page.get_by_role("button", name="Stop and attach the voice note")).to_be_focused()
    page.get_by_role("button", name="Stop and attach the voice note").click()

    expect(recorder).to_be_hidden()
    note = page.locator(".file-chip")
    expect(note.locator(".file-name")).to_have_text(
        re.compile(r"^voice-note-[\d-]+\.webm$"))
    expect(note.locator("audio")).to_be_visible()
    expect(note).to_have_attribute("data-status", "clean", timeout=30000)
    [attachment] = page.request.get(page.url + "/attachments",
                                    headers={"Accept": "application/json"}).json()["attachments"]
    assert attachment["content_type"] == "audio/webm" and attachment["size"] > 0
    assert page.evaluate("document.querySelector('.file-chip audio').duration") > 0.5
    expect(send).to_be_enabled()


def test_a_cancelled_recording_is_thrown_away(page):
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_role("group", name="Voice note")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("group", name="Voice note")).to_be_hidden()
    expect(page.get_by_role("button", name="Record")).to_be_focused()
    expect(page.locator(".composer-files-status")).to_have_text("Recording cancelled.")
    expect(page.locator(".file-chip")).to_have_count(0)
    expect(page.locator("#composer button[type=submit]")).to_be_enabled()


def test_a_refused_microphone_is_explained(browser, live_server, make_user):
    """The shared browser has no fake microphone permission: access is refused."""
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    make_user("cara@example.com", "Cara Consultant")
    sign_in(page, "cara@example.com")
    start_chat(page)
    page.get_by_role("button", name="Record").click()
    expect(page.locator(".composer-files-status")).to_contain_text(re.compile("microphone", re.I))
    expect(page.get_by_role("group", name="Voice note")).to_be_hidden()
    context.close()


def record_a_note(page) -> None:
    """Record a second or so and attach it."""
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_role("group", name="Voice note").locator("time")).to_have_text("0:01")
    page.get_by_role("button", name="Stop and attach the voice note").click()


def test_the_transcript_goes_into_the_message_box(page, llm):
    llm.reset(transcript="The budget is 200k.")
    page.get_by_label("Message").fill("Notes:")
    record_a_note(page)
    expect(page.get_by_label("Message")).to_have_value("Notes: The budget is 200k.",
                                                       timeout=30000)
    expect(page.get_by_label("Message")).to_be_focused()
    expect(page.locator(".composer-files-status")).to_have_text(
        "Voice note transcribed into the message box: edit it, then send.")
    expect(page.locator(".msg")).to_have_count(0)  # nothing sent by itself


def test_a_failed_transcript_is_said_and_the_audio_stays(page, llm):
    llm.reset(audio_fail_status=500)
    record_a_note(page)
    note = page.locator(".file-chip")
    expect(note.locator(".file-state")).to_have_text(
        "The transcription failed; the recording stays attached.", timeout=30000)
    expect(note.locator("audio")).to_be_visible()
    expect(note.locator("input[name=attachment_ids]")).to_be_enabled()
    expect(page.get_by_label("Message")).to_have_value("")


def test_with_voice_autosend_the_transcript_is_sent_at_once(page, app, llm):
    llm.reset(transcript="Which risks should we raise?")
    with app.app_context():  # the user's choice under Voice
        db.session.execute(db.update(User).values(voice_autosend=True))
        db.session.commit()
    page.reload()
    record_a_note(page)
    sent = page.locator(".msg-user")
    expect(sent.locator(".body")).to_have_text("Which risks should we raise?", timeout=30000)
    expect(sent.locator(".msg-file audio")).to_have_count(1)
    expect(page.locator("#composer .file-chip")).to_have_count(0)  # a fresh composer
    expect(page.get_by_role("button", name="Record")).to_be_visible()
