"""The composer's files in Chromium: attach by picker, drop and paste, a progress bar per file,
"Checking…" until the media worker's scan, refusals in the server's words, cancel and remove."""

from __future__ import annotations

import io
import random
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import ask, sign_in
from tests.e2e.test_chat_browser import start_chat
from tests.test_uploads import pdf_bytes

UPLOAD_BYTES_PER_SECOND = 256 * 1024  # slow enough to see progress and to cancel


def noise_png(width: int = 500, height: int = 400) -> bytes:
    """A PNG of random pixels (about 600 KB: it does not compress), the same on every run."""
    pixels = random.Random(8).randbytes(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), pixels).save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    """A small photo, as a phone's camera gives one."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, "JPEG")
    return out.getvalue()


def long_pdf() -> bytes:
    """A PDF of some hundred kilobytes."""
    return pdf_bytes(" ".join(f"{random.Random(i).random():.12f}" for i in range(9000)))


def slow_uploads(page) -> None:
    """Throttle the page's uploads (Chromium's network emulation)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1,
        "uploadThroughput": UPLOAD_BYTES_PER_SECOND})


def chip(page, name: str):
    return page.locator(".file-chip", has=page.locator(".file-name", has_text=name))


def listed(page) -> list[dict]:
    """The chat's attachments as the list route gives them (the page's cookies)."""
    response = page.request.get(page.url + "/attachments", headers={"Accept": "application/json"})
    assert response.ok
    return response.json()["attachments"]


def file(name: str, data: bytes, mime: str) -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


@pytest.fixture
def chat_page(page, make_user, run_worker, llm):
    """Cara on a new chat, with a worker scanning uploads and writing replies (the fake model's
    quick default answer: a reply still streaming would hold up the worker's shutdown)."""
    make_user("cara@example.com", "Cara Consultant")
    run_worker(burst=False)
    sign_in(page, "cara@example.com")
    start_chat(page)
    return page


def test_attached_files_show_progress_then_are_checked(chat_page):
    page = chat_page
    slow_uploads(page)
    page.locator("#composer-file-input").set_input_files([
        file("site photo.png", noise_png(), "image/png"),
        file("proposal.pdf", long_pdf(), "application/pdf")])
    send = page.locator("#composer button[type=submit]")
    for name in ("site photo.png", "proposal.pdf"):
        progress = chip(page, name).get_by_role("progressbar", name=f"Uploading {name}")
        expect(progress).to_be_visible()
        # part of the file is on its way, not all of it yet
        page.wait_for_function("p => p.value > 0 && p.value < 100", arg=progress.element_handle())
        expect(send).to_be_disabled()
    expect(page.locator(".file-state").first).to_have_text(re.compile("Uploading…|Checking…"))

    photo, pdf = chip(page, "site photo.png"), chip(page, "proposal.pdf")
    for each in (photo, pdf):
        expect(each).to_have_attribute("data-status", "clean", timeout=30000)
        expect(each.locator(".file-state")).to_have_text("Ready")
        expect(each.get_by_role("progressbar")).to_be_hidden()
    expect(photo.locator("img.file-thumb")).to_be_visible()
    assert page.evaluate("document.querySelector('.file-chip img.file-thumb').naturalWidth") > 0
    expect(pdf.locator("img.file-thumb")).to_be_hidden()
    expect(pdf).to_have_attribute("data-kind", "pdf")
    expect(send).to_be_enabled()
    assert sorted(a["name"] for a in listed(page)) == ["proposal.pdf", "site photo.png"]
    ids = page.locator("input[name=attachment_ids]:enabled")
    expect(ids).to_have_count(2)

    page.get_by_role("button", name="Send").click()  # files only: no text needed
    sent = page.locator(".msg-user").last
    expect(sent.locator(".msg-file-name")).to_have_text(["site photo.png", "proposal.pdf"])
    expect(sent.locator(".msg-file img")).to_be_visible()
    expect(page.locator("#composer .file-chip")).to_have_count(0)  # a fresh composer
    expect(page.locator("input[name=attachment_ids]")).to_have_count(0)
    expect(page.get_by_role("button", name="Attach files")).to_be_visible()


def test_files_survive_a_refused_send_and_go_with_the_next(chat_page, llm):
    page = chat_page
    llm.reset(tokens=[f" word{i}" for i in range(40)], delay=0.1)
    ask(page, "A long answer, please")
    reply = page.locator(".msg-assistant").last
    expect(reply.locator(".body")).to_contain_text("word2")  # still being written
    page.locator("#composer-file-input").set_input_files(
        [file("fees.csv", b"client,fee\nAcme,1200\n", "text/csv")])
    expect(chip(page, "fees.csv")).to_have_attribute("data-status", "clean", timeout=30000)
    page.get_by_label("Message").fill("And the fees?")
    page.get_by_role("button", name="Send").click()

    expect(page.locator("#composer-error")).to_be_visible()  # refused while the reply is written
    expect(chip(page, "fees.csv")).to_have_attribute("data-status", "clean")
    expect(chip(page, "fees.csv").locator(".file-size")).to_have_text("21 bytes")
    expect(page.locator("input[name=attachment_ids]:enabled")).to_have_count(1)
    expect(page.get_by_label("Message")).to_have_value("And the fees?")

    expect(reply).to_have_class(re.compile("status-done"), timeout=20000)
    page.get_by_role("button", name="Send").click()
    sent = page.locator(".msg-user").last
    expect(sent.locator(".body")).to_have_text("And the fees?")
    expect(sent.locator(".msg-file-name")).to_have_text(["fees.csv"])
    expect(page.locator("#composer .file-chip")).to_have_count(0)


def test_more_files_than_a_message_takes_are_refused(chat_page):
    page = chat_page
    page.locator("#composer-file-input").set_input_files(
        [file(f"part{i:02}.csv", b"a,b\n", "text/csv") for i in range(11)])
    expect(chip(page, "part10.csv").locator(".file-state")).to_have_text(
        "Attach at most 10 files to a message.")
    expect(page.locator(".file-chip[data-status=clean]")).to_have_count(10, timeout=30000)


def test_refused_files_say_why_and_can_be_removed(chat_page, tmp_path):
    page = chat_page
    files = {"recording.wav": b"\0" * (20 * 1024 * 1024 + 1), "setup.exe": b"MZ\x90\x00",
             "scan.pdf": b"\x00\x01binary, not a PDF"}
    for name, data in files.items():  # a path for each: Playwright takes no mix
        (tmp_path / name).write_bytes(data)
    page.locator("#composer-file-input").set_input_files([tmp_path / name for name in files])
    expect(chip(page, "recording.wav").locator(".file-state")).to_have_text(
        "recording.wav is larger than the limit of 20 MB.")
    expect(chip(page, "setup.exe").locator(".file-state")).to_have_text(
        "setup.exe is not of an allowed type. Allowed: PDF, PNG, JPEG, WebP, GIF, DOCX, CSV, "
        "TXT, MD, WebM, Ogg, WAV, MP3, M4A.")
    # the name is allowed, the content is not: the server's own words
    expect(chip(page, "scan.pdf").locator(".file-state")).to_have_text(
        "scan.pdf is not of an allowed type. Allowed: PDF, PNG, JPEG, WebP, GIF, DOCX, CSV, "
        "TXT, MD, WebM, Ogg, WAV, MP3, M4A.")
    expect(page.locator(".file-chip.file-bad")).to_have_count(3)
    expect(page.locator("input[name=attachment_ids]:enabled")).to_have_count(0)
    expect(page.locator("#composer button[type=submit]")).to_be_enabled()

    page.get_by_role("button", name="Remove setup.exe").focus()
    page.keyboard.press("Enter")
    expect(chip(page, "setup.exe")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove scan.pdf")).to_be_focused()
    expect(page.locator(".composer-files-status")).to_have_text("setup.exe removed.")
    assert listed(page) == []


def test_cancel_during_upload_stores_nothing(chat_page):
    page = chat_page
    slow_uploads(page)
    page.locator("#composer-file-input").set_input_files(
        [file("big.png", noise_png(900, 700), "image/png")])
    big = chip(page, "big.png")
    expect(big.get_by_role("progressbar")).to_be_visible()
    big.get_by_role("button", name="Cancel upload of big.png").click()
    expect(big).to_have_count(0)
    expect(page.locator("#composer button[type=submit]")).to_be_enabled()

    # a later file arrives and is checked; the cancelled one never was stored
    page.locator("#composer-file-input").set_input_files(
        [file("fees.csv", b"client,fee\nAcme,1200\n", "text/csv")])
    expect(chip(page, "fees.csv")).to_have_attribute("data-status", "clean", timeout=30000)
    assert [a["name"] for a in listed(page)] == ["fees.csv"]

    chip(page, "fees.csv").get_by_role("button", name="Remove fees.csv").click()
    expect(chip(page, "fees.csv")).to_have_count(0)
    expect(page.get_by_label("Message")).to_be_focused()
    assert listed(page) == []


def test_drop_and_paste_attach_files(chat_page):
    page = chat_page
    page.evaluate("""() => {
        const data = new DataTransfer();
        data.items.add(new File(["client,fee\\nAcme,1200\\n"], "dropped fees.csv", {type: "text/csv"}));
        const target = document.getElementById("messages");
        const init = {dataTransfer: data, bubbles: true, cancelable: true};
        target.dispatchEvent(new DragEvent("dragover", init));
        window.chatappDropZoneShown = !document.querySelector(".drop-zone").hidden;
        target.dispatchEvent(new DragEvent("drop", init));
    }""")
    assert page.evaluate("window.chatappDropZoneShown")
    expect(page.locator(".drop-zone")).to_be_hidden()
    expect(chip(page, "dropped fees.csv")).to_have_attribute("data-status", "clean", timeout=30000)

    page.get_by_label("Message").fill("see the screenshot")
    page.evaluate("""async () => {
        const canvas = document.createElement("canvas");
        canvas.width = 40; canvas.height = 30;
        const blob = await new Promise((done) => canvas.toBlob(done, "image/png"));
        const data = new DataTransfer();
        data.items.add(new File([blob], "image.png", {type: "image/png"}));
        document.getElementById("composer-input").dispatchEvent(
            new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
    }""")
    expect(chip(page, "image.png")).to_have_attribute("data-status", "clean", timeout=30000)
    expect(page.get_by_label("Message")).to_have_value("see the screenshot")  # text untouched
    assert sorted(a["name"] for a in listed(page)) == ["dropped fees.csv", "image.png"]


def test_names_are_shown_as_text(chat_page):
    page = chat_page
    name = '<img src=x onerror="window.owned=1">.csv'
    page.locator("#composer-file-input").set_input_files([file(name, b"a,b\n", "text/csv")])
    expect(page.locator(".file-name").first).to_have_text(name)
    expect(page.locator(".file-chip")).to_have_attribute("data-status", "clean", timeout=30000)
    assert page.evaluate("window.owned") is None
    assert page.locator(".file-chip img:not(.file-thumb)").count() == 0


def test_attach_from_the_keyboard_and_the_camera_on_a_phone(cara_on_a_phone):
    page = cara_on_a_phone
    start_chat(page)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach files").press("Enter")
    assert chooser.value.is_multiple()
    chooser.value.set_files([
        file("a-very-long-file-name-without-any-spaces-in-it-at-all-for-the-phone.csv",
             b"a,b\n", "text/csv")])
    with page.expect_file_chooser() as chooser:  # one chooser at a time: after the first
        page.get_by_role("button", name="Photo").click()
    assert chooser.value.element.get_attribute("capture") == "environment"
    assert chooser.value.element.get_attribute("accept") == "image/*"
    chooser.value.set_files([file("image.jpg", jpeg(), "image/jpeg")])
    expect(page.locator(".file-chip")).to_have_count(2)
    for each in page.locator(".file-chip").all():
        expect(each).to_have_attribute("data-status", "clean", timeout=30000)
    expect(chip(page, "image.jpg").locator("img.file-thumb")).to_be_visible()
    for tool in ("Attach files", "Photo"):
        expect(page.get_by_role("button", name=tool)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
