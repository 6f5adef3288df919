// chatapp composer file chips: how a chip looks for its state. A chip is cloned from the <template>
// of templates/chats/_composer_files.html (the markup the server renders after a refused send)
// and drawn from its data attributes (status, reason, links, transcript status), so the words
// live here only. Used by static/js/attach.js and record.js. Names go in as text, never as HTML.
window.chatappFileChips = (() => {
  "use strict";

  const BUSY = new Set(["uploading", "pending"]); // Send waits for these
  const SENDABLE = new Set(["pending", "clean"]); // their ids go with the message

  const composer = () => document.getElementById("composer");
  const filesBox = () => document.getElementById("composer-files");
  const chipOf = (id) => document.getElementById(`file-${id}`);
  const all = () => [...document.querySelectorAll("#composer-files .file-chip")];
  const nameOf = (chip) => chip.querySelector(".file-name").textContent;

  // Say it to screen readers (the chips' polite live region).
  function announce(text) {
    const status = document.querySelector("#composer-files .composer-files-status");
    if (status) status.textContent = text;
  }

  // As the server's `filesize` filter writes it (chatapp/frontend.py).
  function sizeText(bytes) {
    if (bytes < 1024) return `${bytes} bytes`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
    return `${(bytes / (1024 * 1024)).toFixed(1)} MB`.replace(".0 MB", " MB");
  }

  function kindOf(contentType) {
    if (contentType.startsWith("image/")) return "image";
    if (contentType.startsWith("audio/")) return "audio";
    if (contentType === "application/pdf") return "pdf";
    return "document";
  }

  // A chip for a file about to be uploaded, added to the list.
  function create(file) {
    const template = filesBox().querySelector(".file-chip-template");
    const chip = template.content.firstElementChild.cloneNode(true);
    chip.dataset.size = String(file.size);
    chip.dataset.contentType = file.type || "";
    chip.querySelector(".file-name").textContent = file.name;
    filesBox().querySelector(".file-chips").append(chip);
    return chip;
  }

  function stateText(chip) {
    const { status, reason } = chip.dataset;
    if (status === "uploading") return "Uploading…";
    if (status === "pending") return "Checking…";
    if (status === "quarantined") return `Not attached: it looks unsafe. ${reason}`.trim();
    if (status === "failed") return reason || "Not attached: the file could not be checked.";
    if (status === "error") return chip.dataset.error;
    const transcript = chip.dataset.transcriptStatus;
    if (transcript === "pending") return "Transcribing…";
    if (transcript === "failed") return "The transcription failed; the recording stays attached.";
    return "Ready";
  }

  // Draw a chip as its data attributes say.
  function paint(chip) {
    const name = nameOf(chip);
    const status = chip.dataset.status;
    const progress = chip.querySelector(".file-progress");
    const thumb = chip.querySelector(".file-thumb");
    const audio = chip.querySelector(".file-audio");
    chip.dataset.kind = kindOf(chip.dataset.contentType || "");
    chip.classList.toggle("file-bad", !SENDABLE.has(status) && status !== "uploading");
    chip.querySelector(".file-size").textContent = sizeText(Number(chip.dataset.size));
    chip.querySelector(".file-state").textContent = stateText(chip);
    chip.querySelector("input[name=attachment_ids]").disabled =
      !(chip.dataset.attachmentId && SENDABLE.has(status));
    chip.querySelector(".file-remove").setAttribute(
      "aria-label", status === "uploading" ? `Cancel upload of ${name}` : `Remove ${name}`);
    progress.hidden = status !== "uploading";
    progress.setAttribute("aria-label", `Uploading ${name}`);
    if (status === "clean" && chip.dataset.thumbnailUrl && !thumb.getAttribute("src")) {
      thumb.src = chip.dataset.thumbnailUrl;
    }
    thumb.hidden = !thumb.getAttribute("src");
    if (chip.dataset.kind === "audio" && !audio.getAttribute("src") && chip.dataset.url) {
      audio.src = chip.dataset.url;
    }
    audio.hidden = !audio.getAttribute("src") || chip.classList.contains("file-bad");
  }

  // Take the server's view of an attachment (uploads.to_json) into its chip.
  function update(chip, attachment) {
    chip.id = `file-${attachment.id}`;
    chip.dataset.attachmentId = String(attachment.id);
    chip.querySelector("input[name=attachment_ids]").value = String(attachment.id);
    chip.querySelector(".file-name").textContent = attachment.name;
    Object.assign(chip.dataset, {
      status: attachment.status, reason: attachment.reason || "", url: attachment.url || "",
      thumbnailUrl: attachment.thumbnail_url || "", size: String(attachment.size),
      contentType: attachment.content_type, transcriptStatus: attachment.transcript_status || "",
    });
    paint(chip);
  }

  return { BUSY, composer, filesBox, chipOf, all, nameOf, announce, create, stateText, paint, update };
})();
