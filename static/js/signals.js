// chatapp typing indicators and presence on the chat page.
//
// Shows who else is in the session (an admin watching, for example): online, away or offline,
// and "… is typing" while they type. Both come as passing signals with a ttl (static/js/live.js
// hands them over as "chatapp:signal" events) and fade by themselves when not renewed, so a
// closed laptop never leaves someone "typing" or "online" for ever. Typing here is told to the
// others, debounced: at most one "typing" every 3 s, and "stopped" after 4 s without a key.
(() => {
  "use strict";

  const TYPING_RENEW = 3000; // ms between two "typing" signals while typing goes on
  const TYPING_IDLE = 4000; // ms without a key before "stopped typing"

  const typing = new Map(); // user id -> {name, timer}
  const present = new Map(); // user id -> {name, state, timer}

  function showTyping() {
    const el = document.getElementById("typing");
    if (!el) return;
    const names = [...typing.values()].map((t) => t.name);
    el.textContent = names.length === 0 ? ""
      : names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
  }

  function showPresence() {
    const list = document.getElementById("presence");
    if (!list) return;
    list.replaceChildren(...[...present.entries()].map(([id, p]) => {
      const item = document.createElement("li");
      item.className = `presence-${p.state}`;
      item.dataset.userId = id;
      item.textContent = `${p.name} · ${p.state}`;
      return item;
    }));
  }

  function onTyping({ user_id: id, name, on, ttl }) {
    clearTimeout(typing.get(id)?.timer);
    if (on) {
      const timer = setTimeout(() => { typing.delete(id); showTyping(); }, ttl * 1000);
      typing.set(id, { name, timer });
    } else {
      typing.delete(id);
    }
    showTyping();
  }

  function onPresence({ user_id: id, name, state, ttl }) {
    clearTimeout(present.get(id)?.timer);
    const timer = state === "offline" ? null : setTimeout(() => {
      present.set(id, { name, state: "offline", timer: null });
      showPresence();
    }, ttl * 1000);
    present.set(id, { name, state, timer });
    if (state === "offline") onTyping({ user_id: id, name, on: false, ttl: 0 });
    showPresence();
  }

  document.addEventListener("chatapp:signal", (e) => {
    if (e.detail.type === "typing") onTyping(e.detail.data);
    else if (e.detail.type === "presence") onPresence(e.detail.data);
  });

  // This page's own typing, told to the others.
  let lastSent = 0;
  let idle = null;
  function tell(on) {
    if (window.chatappLiveFeed) window.chatappLiveFeed.signal("typing", { on });
  }
  function stopped() {
    clearTimeout(idle);
    if (lastSent) tell(false);
    lastSent = 0;
  }
  document.addEventListener("input", (e) => {
    if (e.target.id !== "composer-input") return;
    if (!e.target.value.trim()) return stopped();
    if (Date.now() - lastSent > TYPING_RENEW) {
      lastSent = Date.now();
      tell(true);
    }
    clearTimeout(idle);
    idle = setTimeout(stopped, TYPING_IDLE);
  });
  document.addEventListener("submit", (e) => { if (e.target.id === "composer") stopped(); });
})();
