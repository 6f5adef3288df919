// chatapp replies read aloud: on the owner's chat page (#chat[data-speech]) every finished reply
// gets a "Listen" button. It asks the server for the reply's audio, says "Preparing audio…" while
// the speech job works, polls the attachment, then plays it in an <audio controls> element under
// the reply. With the "Read replies aloud automatically" setting (data-read-aloud), a reply that
// finishes while the page is open is played without a click. Problems are said in words.
(() => {
  "use strict";

  const POLL_EVERY = 1000; // ms between looks at a pending attachment
  const POLL_FOR = 120000; // ms before giving up on one

  function csrfToken() {
    const input = document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  async function readJson(response) {
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error((body.error && body.error.message) || `The server answered ${response.status}.`);
    }
    return body;
  }

  function attachmentUrl(speechUrl, id) {
    // /chats/<sid>/messages/<mid>/speech -> /chats/<sid>/attachments/<id>
    return speechUrl.replace(/\/messages\/\d+\/speech$/, `/attachments/${id}`);
  }

  async function audioOf(speechUrl) {
    let attachment = await readJson(await fetch(speechUrl, {
      method: "POST", headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    }));
    const deadline = Date.now() + POLL_FOR;
    while (attachment.status === "pending") {
      if (Date.now() > deadline) throw new Error("The audio is taking too long; try again later.");
      await new Promise((resolve) => setTimeout(resolve, POLL_EVERY));
      attachment = await readJson(await fetch(attachmentUrl(speechUrl, attachment.id), {
        headers: { Accept: "application/json" },
      }));
    }
    if (attachment.status !== "clean" || !attachment.url) {
      throw new Error(attachment.reason || "The audio could not be made.");
    }
    return attachment.url;
  }

  async function listen(box, autoplay) {
    const button = box.querySelector(".listen-button");
    const status = box.querySelector(".speech-status");
    const shown = box.querySelector("audio");
    if (shown) {
      shown.play().catch(() => {});
      return;
    }
    button.disabled = true;
    status.textContent = "Preparing audio…";
    try {
      const audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "auto";
      audio.src = await audioOf(box.dataset.speechUrl);
      audio.setAttribute("aria-label", "Reply read aloud");
      box.append(audio);
      status.textContent = "";
      button.hidden = true;
      if (autoplay) {
        audio.play().catch(() => {
          status.textContent = "Press play to hear the reply (this browser blocked autoplay).";
        });
      } else {
        audio.play().catch(() => {});
      }
    } catch (error) {
      status.textContent = `Audio unavailable: ${error.message}`;
      button.disabled = false;
    }
  }

  function reveal(root) {
    for (const box of root.querySelectorAll(".listen[hidden]")) box.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const chat = document.querySelector("#chat[data-speech]");
    if (!chat) return;
    reveal(chat);
    // Replies seen unfinished on this page: when one comes back finished, it finished live.
    const unfinished = new Set();
    const note = (root) => {
      for (const m of root.querySelectorAll(".msg.status-pending, .msg.status-streaming")) {
        unfinished.add(m.id);
      }
    };
    note(chat);
    const finishedLive = (m) => {
      if (!unfinished.delete(m.id) || chat.dataset.readAloud !== "true") return;
      const box = m.querySelector(".listen");
      if (box) listen(box, true);
    };
    // A finished reply comes as a new element or as the old one changed in place.
    new MutationObserver((records) => {
      for (const record of records) {
        const nodes = record.type === "attributes" ? [record.target] : record.addedNodes;
        for (const node of nodes) {
          if (node.nodeType !== Node.ELEMENT_NODE) continue;
          reveal(node);
          const done = node.matches(".msg.status-done") ? [node] : node.querySelectorAll(".msg.status-done");
          done.forEach(finishedLive);
          note(node.parentElement || node);
        }
      }
    }).observe(chat, { childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
  });

  document.addEventListener("click", (e) => {
    const button = e.target.closest && e.target.closest(".listen-button");
    if (button) listen(button.closest(".listen"), false);
  });
})();
