// chatapp outbox: a message sent while the network is down is kept, shown as "sending…", and
// sent when the connection is back, in order. Each message carries the id the page gave it
// (client_id) and keeps it through every retry: the server stores a message once per id, so a
// retry after a lost answer never creates a second one. The outbox lives in localStorage, so a
// reload (or a closed tab) does not lose it.
(() => {
  "use strict";

  const RETRY_DELAYS = [1000, 2000, 4000, 8000, 15000]; // ms, then the last one again

  function newClientId() {
    return (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`)
      .replace(/[^A-Za-z0-9_-]/g, "");
  }

  class Outbox {
    constructor(composer) {
      this.composer = composer;
      this.messages = document.getElementById("messages");
      this.url = composer.getAttribute("action");
      this.key = `chatapp:outbox:${this.url}`;
      this.sending = false;
      this.retry = null;
      this.failures = 0;
    }

    load() { return JSON.parse(localStorage.getItem(this.key) || "[]"); }

    store(items) {
      if (items.length) localStorage.setItem(this.key, JSON.stringify(items));
      else localStorage.removeItem(this.key);
    }

    // Keep the composer's message for later, with its checked files (uploaded already: only
    // their ids go), and give the composer a fresh id, an empty box and no files.
    keep(form) {
      const content = form.elements.content.value.trim();
      const chips = [...form.querySelectorAll(".file-chip[data-status=clean]")];
      const files = chips.map((chip) => ({
        id: chip.dataset.attachmentId, name: chip.querySelector(".file-name").textContent,
      }));
      if (!content && !files.length) return;
      const item = { clientId: form.elements.client_id.value, content, files };
      this.store([...this.load().filter((i) => i.clientId !== item.clientId), item]);
      this.show(item);
      form.elements.content.value = "";
      form.elements.client_id.value = newClientId();
      chips.forEach((chip) => chip.remove());
      document.dispatchEvent(new CustomEvent("chatapp:composer-changed"));
    }

    show(item) {
      if (document.getElementById(`outbox-${item.clientId}`)) return;
      const el = document.createElement("article");
      el.id = `outbox-${item.clientId}`;
      el.className = "msg msg-user msg-outbox";
      el.dataset.seq = String(Number.MAX_SAFE_INTEGER); // after every stored message
      const head = document.createElement("header");
      head.className = "msg-head";
      const author = document.createElement("span");
      author.className = "author";
      author.textContent = "You";
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "sending…";
      head.append(author, badge);
      const body = document.createElement("div");
      body.className = "body plain";
      body.textContent = item.content;
      el.append(head, body);
      if (item.files && item.files.length) {
        const files = document.createElement("p");
        files.className = "used-files";
        files.textContent = `Files: ${item.files.map((f) => f.name).join(", ")}`;
        el.append(files);
      }
      this.messages.append(el);
    }

    // Send what waits, oldest first; stop at the first that cannot go yet.
    async flush() {
      if (this.sending || !navigator.onLine) return;
      this.sending = true;
      clearTimeout(this.retry);
      try {
        for (const item of this.load()) {
          const outcome = await this.send(item);
          if (outcome === "later") return this.retryLater();
          this.store(this.load().filter((i) => i.clientId !== item.clientId));
        }
        this.failures = 0;
      } finally {
        this.sending = false;
      }
    }

    retryLater() {
      const delay = RETRY_DELAYS[Math.min(this.failures, RETRY_DELAYS.length - 1)];
      this.failures += 1;
      this.retry = setTimeout(() => this.flush(), delay);
    }

    // "sent" (confirmed by the server's id), "rejected" (it will never go) or "later".
    async send(item) {
      const body = new FormData();
      body.set("csrf_token", this.composer.elements.csrf_token.value);
      body.set("client_id", item.clientId);
      body.set("content", item.content);
      for (const file of item.files || []) body.append("attachment_ids", file.id);
      let response;
      try {
        response = await fetch(this.url, {
          method: "POST", body, headers: { Accept: "application/json" }, cache: "no-store",
        });
      } catch (error) {
        return "later"; // no answer: the retry carries the same id
      }
      const bubble = document.getElementById(`outbox-${item.clientId}`);
      if (response.status === 202) {
        const sent = await response.json();
        if (bubble) this.confirm(bubble, sent.message.id);
        return "sent";
      }
      // 409: a reply is still being written; 5xx, 429: the server is busy or restarting
      if (response.status === 409 || response.status === 429 || response.status >= 500) {
        return "later";
      }
      const reason = await response.json().then((e) => e.error.message, () => response.statusText);
      if (bubble) this.reject(bubble, reason);
      return "rejected";
    }

    // The message is stored: its bubble goes once the live updates have shown the message.
    confirm(bubble, messageId) {
      bubble.dataset.messageId = String(messageId);
      bubble.querySelector(".badge").textContent = "sent";
      this.dropShown();
    }

    dropShown() {
      for (const bubble of this.messages.querySelectorAll(".msg-outbox[data-message-id]")) {
        if (document.getElementById(`msg-${bubble.dataset.messageId}`)) bubble.remove();
      }
    }

    reject(bubble, reason) {
      bubble.classList.add("status-failed");
      bubble.querySelector(".badge").textContent = "not sent";
      const error = document.createElement("p");
      error.className = "error";
      error.setAttribute("role", "alert");
      error.textContent = reason;
      bubble.append(error);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const composer = document.getElementById("composer");
    if (!composer || !document.getElementById("messages")) return;
    const outbox = new Outbox(composer);
    outbox.load().forEach((item) => outbox.show(item));

    // Offline: the message goes to the outbox instead of a request that cannot succeed.
    document.addEventListener("submit", (e) => {
      if (e.target.id !== "composer" || navigator.onLine) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      outbox.keep(e.target);
    }, true);
    // Online, but the request got no answer (the network dropped meanwhile): the same.
    document.addEventListener("htmx:error", (e) => {
      const form = document.getElementById("composer");
      if (!form || !(e.target === form || form.contains(e.target))) return;
      if (e.detail && e.detail.ctx && e.detail.ctx.response) return; // the server answered
      outbox.keep(form);
      outbox.retryLater();
    });
    document.addEventListener("htmx:after:swap", () => outbox.dropShown());
    window.addEventListener("online", () => outbox.flush());
    document.addEventListener("chatapp:live", () => outbox.flush());
    outbox.flush();
  });
})();
