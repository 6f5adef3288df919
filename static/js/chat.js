// chatapp chat page behaviour, on top of htmx: keyboard sending and keeping the newest message in
// view (live updates are static/js/live.js).
(() => {
  "use strict";

  function nearBottom() {
    const doc = document.scrollingElement;
    return doc.scrollHeight - doc.scrollTop - doc.clientHeight < 160;
  }

  function scrollToEnd() {
    const doc = document.scrollingElement;
    doc.scrollTop = doc.scrollHeight;
  }

  // The live stream owns messages already on the page: the response to our own send (the
  // composer or a quick action) only adds the ones not there yet, so it never wipes reply text
  // that streamed in before it arrived.
  document.addEventListener("htmx:before:swap", (e) => {
    if (!e.target.closest || !e.target.closest("#composer, .quick-actions")) return;
    for (const task of e.detail.tasks) {
      if (task.target !== "#messages") continue;
      for (const el of [...task.fragment.children]) {
        if (el.id && document.getElementById(el.id)) el.remove();
      }
    }
  });

  // Follow the conversation while the reader is at the bottom; leave them alone when they scroll up.
  let follow = true;
  window.addEventListener("scroll", () => { follow = nearBottom(); }, { passive: true });
  document.addEventListener("htmx:after:swap", () => { if (follow) scrollToEnd(); });

  // Enter sends, Shift+Enter adds a line (on phones the on-screen Enter adds a line as usual).
  document.addEventListener("keydown", (e) => {
    const input = e.target;
    if (input.id !== "composer-input" || e.key !== "Enter" || e.shiftKey || e.isComposing) return;
    if (window.matchMedia("(pointer: coarse)").matches) return;
    e.preventDefault();
    if (input.value.trim()) input.form.requestSubmit();
  });

  // After a send, the fresh composer takes the focus back so typing can go on.
  document.addEventListener("htmx:after:swap", () => {
    const input = document.getElementById("composer-input");
    if (input && document.activeElement === document.body) input.focus();
  });

  document.addEventListener("DOMContentLoaded", () => {
    if (document.getElementById("messages")) scrollToEnd();
  });
})();
