// chatapp composer files: attach (picker, camera, drag and drop, paste, a recorded voice note),
// one upload per file with its progress, cancel and remove, then "Checking…" until the server's
// scan is done (and a voice note's transcript into the message box). A chip per file, drawn by
// static/js/file-chips.js. Send waits while a file uploads or is checked.
(() => {
  "use strict";

  const POLL_FIRST_MS = 400;
  const POLL_MAX_MS = 5000;
  const POLL_GROWTH = 1.6;
  const Chips = window.chatappFileChips;
  const { composer, filesBox, chipOf, announce } = Chips;
  const uploads = new WeakMap(); // chip -> its XMLHttpRequest while it uploads
  const watched = new Set(); // attachment ids being polled

  function csrfToken() { return composer().elements.csrf_token.value; }

  function attachmentUrl(id) { return `${composer().dataset.attachmentsUrl}/${id}`; }

  // ---- chips ----------------------------------------------------------------------------------

  function refuse(chip, message) {
    chip.dataset.status = "error";
    chip.dataset.error = message;
    Chips.paint(chip);
    announce(message);
    changed();
  }

  function update(chip, attachment) {
    Chips.update(chip, attachment);
    changed();
  }

  function remove(chip) {
    const name = Chips.nameOf(chip);
    const next = chip.nextElementSibling || chip.previousElementSibling;
    const audio = chip.querySelector(".file-audio");
    if (audio.src.startsWith("blob:")) URL.revokeObjectURL(audio.src);
    chip.remove();
    (next ? next.querySelector(".file-remove") : document.getElementById("composer-input")).focus();
    announce(`${name} removed.`);
    changed();
  }

  async function removeClicked(chip) {
    const upload = uploads.get(chip);
    if (upload) {
      upload.abort();
      return remove(chip);
    }
    const id = chip.dataset.attachmentId;
    if (!id) return remove(chip);
    let response;
    try {
      response = await fetch(attachmentUrl(id), {
        method: "DELETE", headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      });
    } catch (error) {
      return announce("The file could not be removed: check the connection and try again.");
    }
    if (response.ok || response.status === 404) return remove(chip);
    announce(await errorMessage(response));
  }

  async function errorMessage(response) {
    return response.json().then((body) => body.error.message,
      () => `The server refused (HTTP ${response.status}).`);
  }

  // ---- adding and uploading ---------------------------------------------------------------------

  function limits() {
    const data = filesBox().dataset;
    return {
      maxBytes: Number(data.maxBytes), maxFiles: Number(data.maxFiles),
      maxSizeText: data.maxSizeText, allowed: data.allowed, extensions: data.extensions.split(" "),
    };
  }

  // The upload route's own words for a file it would refuse; null when it may go.
  function precheck(file, position, limit) {
    const name = file.name.toLowerCase();
    if (position > limit.maxFiles) return `Attach at most ${limit.maxFiles} files to a message.`;
    if (!limit.extensions.some((ext) => name.endsWith(ext))) {
      return `${file.name} is not of an allowed type. Allowed: ${limit.allowed}.`;
    }
    if (file.size > limit.maxBytes) {
      return `${file.name} is larger than the limit of ${limit.maxSizeText}.`;
    }
    if (file.size === 0) return `${file.name} is empty.`;
    return null;
  }

  function addFiles(files, options = {}) {
    if (!filesBox()) return;
    const limit = limits();
    let count = Chips.all().filter((chip) => chip.dataset.status !== "error").length;
    for (const file of files) {
      const chip = Chips.create(file);
      if (options.recorded) chip.dataset.recorded = "true";
      if (chip.dataset.contentType.startsWith("audio/")) {
        chip.querySelector(".file-audio").src = URL.createObjectURL(file);
      }
      const problem = precheck(file, count + 1, limit);
      if (problem) {
        refuse(chip, problem);
        continue;
      }
      count += 1;
      upload(chip, file);
    }
  }

  function upload(chip, file) {
    const request = new XMLHttpRequest();
    const progress = chip.querySelector(".file-progress");
    uploads.set(chip, request);
    request.open("POST", composer().dataset.attachmentsUrl);
    request.setRequestHeader("Accept", "application/json");
    request.responseType = "json";
    request.upload.onprogress = (e) => {
      if (e.lengthComputable) progress.value = Math.round((100 * e.loaded) / e.total);
    };
    request.onload = () => {
      uploads.delete(chip);
      const body = request.response;
      if (request.status === 201 && body && body.attachments && body.attachments.length) {
        update(chip, body.attachments[0]);
        announce(`${file.name} uploaded, being checked.`);
        watch(body.attachments[0].id);
      } else {
        refuse(chip, (body && body.error && body.error.message)
          || `${file.name} was not uploaded (HTTP ${request.status}).`);
      }
    };
    request.onerror = () => {
      uploads.delete(chip);
      refuse(chip, `${file.name} was not uploaded: check the connection and try again.`);
    };
    const body = new FormData();
    body.append("csrf_token", csrfToken());
    body.append("files", file, file.name);
    chip.dataset.status = "uploading";
    Chips.paint(chip);
    changed();
    announce(`Uploading ${file.name}.`);
    request.send(body);
  }

  // ---- waiting for the scan (and a voice note's transcript) -------------------------------------

  // Still to settle: the scan, then for audio its transcription (queued by the scan's job).
  function waiting(chip) {
    return chip.dataset.status === "pending" || chip.dataset.transcriptStatus === "pending";
  }

  function watch(id) {
    if (watched.has(String(id))) return;
    watched.add(String(id));
    let delay = POLL_FIRST_MS;
    const tick = async () => {
      let chip = chipOf(id);
      if (!chip) return watched.delete(String(id)); // removed, or sent
      try {
        const response = await fetch(attachmentUrl(id), {
          headers: { Accept: "application/json" }, cache: "no-store",
        });
        chip = chipOf(id);
        if (!chip) return watched.delete(String(id));
        if (response.status === 404) {
          watched.delete(String(id));
          return refuse(chip, "This file is no longer there.");
        }
        if (response.ok) arrived(chip, await response.json());
      } catch (error) {
        // no answer this time: ask again later
      }
      chip = chipOf(id);
      if (!chip || !waiting(chip)) return watched.delete(String(id));
      delay = Math.min(delay * POLL_GROWTH, POLL_MAX_MS);
      setTimeout(tick, delay);
    };
    setTimeout(tick, delay);
  }

  function arrived(chip, attachment) {
    const before = { status: chip.dataset.status, transcript: chip.dataset.transcriptStatus };
    update(chip, attachment);
    const name = attachment.name;
    if (before.status === "pending" && attachment.status !== "pending") {
      announce(attachment.status === "clean" ? `${name} is ready.` : Chips.stateText(chip));
    }
    if (before.transcript !== "done" && attachment.transcript_status === "done") {
      if (chip.dataset.recorded) useTranscript(attachment.transcript || ""); // not a file's
    } else if (before.transcript !== "failed" && attachment.transcript_status === "failed") {
      announce(Chips.stateText(chip));
    }
  }

  // A voice note's transcript goes into the message box, to edit and send; or it is sent at
  // once when the user chose so (data-voice-autosend), as soon as no file is busy.
  function useTranscript(text) {
    const form = composer();
    const input = document.getElementById("composer-input");
    if (!text.trim()) return;
    input.value = input.value.trim() ? `${input.value.trimEnd()} ${text}` : text;
    if (form.dataset.voiceAutosend === "true") {
      form.dataset.autosend = "true";
      announce("Voice note transcribed: sending.");
      changed();
    } else {
      announce("Voice note transcribed into the message box: edit it, then send.");
      input.focus();
    }
  }

  // ---- sending ------------------------------------------------------------------------------------

  function busy() {
    const form = composer();
    return Boolean(form && (form.dataset.recording === "true"
      || Chips.all().some((chip) => Chips.BUSY.has(chip.dataset.status))));
  }

  // After any change: Send waits while a file is busy; a message may be files only.
  function changed() {
    const form = composer();
    if (!form || !filesBox()) return;
    const waitFor = busy();
    const send = form.querySelector("button[type=submit]");
    send.disabled = waitFor;
    send.title = waitFor ? "Wait until the files are uploaded and checked" : "";
    const attached = Chips.all().some((chip) => !chip.querySelector("input[name=attachment_ids]").disabled);
    document.getElementById("composer-input").required = !attached;
    if (!waitFor && form.dataset.autosend === "true") {
      delete form.dataset.autosend;
      form.requestSubmit();
    }
  }

  // ---- wiring ---------------------------------------------------------------------------------------

  // Ready a composer (the page's, or a new one swapped in after a send): its chips drawn, the
  // pending ones watched, the tools shown.
  function ready() {
    const form = composer();
    if (!form || !filesBox() || form.dataset.filesReady) return;
    form.dataset.filesReady = "true";
    form.querySelector(".composer-tools").hidden = false;
    for (const chip of Chips.all()) {
      Chips.paint(chip);
      if (chip.dataset.attachmentId && waiting(chip)) watch(chip.dataset.attachmentId);
    }
    changed();
  }

  function hasFiles(e) {
    return Boolean(e.dataTransfer && [...e.dataTransfer.types].includes("Files") && filesBox());
  }

  function dropZone(show) {
    const zone = document.querySelector("#composer-files .drop-zone");
    if (zone) zone.hidden = !show;
  }

  document.addEventListener("click", (e) => {
    const target = e.target.closest && e.target.closest("button");
    if (!target || !target.closest("#composer")) return;
    if (target.classList.contains("attach-files")) document.getElementById("composer-file-input").click();
    else if (target.classList.contains("take-photo")) document.getElementById("composer-camera-input").click();
    else if (target.classList.contains("file-remove")) removeClicked(target.closest(".file-chip"));
  });

  document.addEventListener("change", (e) => {
    if (e.target.id !== "composer-file-input" && e.target.id !== "composer-camera-input") return;
    addFiles([...e.target.files]);
    e.target.value = ""; // the same file may be chosen again
  });

  document.addEventListener("paste", (e) => {
    if (e.target.id !== "composer-input" || !filesBox()) return;
    if (!e.clipboardData || !e.clipboardData.files.length) return;
    addFiles([...e.clipboardData.files]);
    if (![...e.clipboardData.types].includes("text/plain")) e.preventDefault();
  });

  document.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    dropZone(true);
  });
  document.addEventListener("dragleave", (e) => {
    if (!e.relatedTarget) dropZone(false); // left the window
  });
  document.addEventListener("drop", (e) => {
    if (!e.dataTransfer || !e.dataTransfer.files.length || !filesBox()) return;
    e.preventDefault();
    dropZone(false);
    addFiles([...e.dataTransfer.files]);
  });

  // A recorded voice note (static/js/record.js) is attached as a file.
  document.addEventListener("chatapp:attach", (e) => addFiles(e.detail.files, e.detail));
  document.addEventListener("chatapp:composer-changed", changed);

  // No send while a file is busy, whichever way the form is submitted (button, Enter, a script).
  window.addEventListener("submit", (e) => {
    if (e.target.id !== "composer" || !busy()) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    announce("Wait until every file is uploaded and checked, then send.");
  }, true);

  document.addEventListener("DOMContentLoaded", ready);
  document.addEventListener("htmx:after:swap", ready);
})();
