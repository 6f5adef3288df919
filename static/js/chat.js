// chatapp chat page behaviour, on top of htmx: keyboard sending, keeping the newest message in
// view, and the history loaded as the reader scrolls (live updates are static/js/live.js).
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

  // A request made by a link to older or newer history (templates/chats/_older.html, _newer.html).
  function historyLoad(ctx) {
    const source = ctx && ctx.sourceElement;
    return Boolean(source && source.classList && source.classList.contains("history-more"));
  }

  // The page shows a window of the history when links to older or newer messages are there: a
  // live event about a message outside it (not on the page) is left for those links to load,
  // rather than being inserted out of place.
  function outsideWindow(el) {
    if (!el.dataset || !el.dataset.seq || (el.id && document.getElementById(el.id))) return false;
    const seq = Number(el.dataset.seq);
    const older = document.getElementById("history-older");
    const newer = document.getElementById("history-newer");
    return Boolean((older && seq < Number(older.dataset.before))
      || (newer && seq > Number(newer.dataset.after)));
  }

  document.addEventListener("htmx:before:swap", (e) => {
    const { ctx, tasks } = e.detail;
    if (historyLoad(ctx)) {
      if (ctx.response && ctx.response.status >= 400) {
        // the error shows in #flash; the link stays (without htmx it opens the page)
        tasks.splice(0, tasks.length, ...tasks.filter((task) => task.type !== "main"));
        return;
      }
      // Older messages go in above the reader: note where the first message shown is, to keep
      // it at the same place on screen (see htmx:after:swap).
      const first = document.querySelector("#messages > .msg");
      if (first) ctx.chatappAnchor = { el: first, top: first.getBoundingClientRect().top };
      document.getElementById("messages").setAttribute("aria-busy", "true"); // not announced
      return;
    }
    // The live stream owns messages already on the page: the response to our own send (the
    // composer or a quick action) only adds the ones not there yet, so it never wipes reply text
    // that streamed in before it arrived.
    const ownSend = e.target.closest && e.target.closest("#composer, .quick-actions");
    for (const task of tasks) {
      if (task.target !== "#messages") continue;
      for (const el of [...task.fragment.children]) {
        if (ownSend && el.id && document.getElementById(el.id)) el.remove();
        else if (outsideWindow(el)) {
          el.remove();
          // a question sent from an older part of the history: show it where it is, at the end
          if (ownSend) window.location.assign(document.querySelector("#history-newer .jump-latest").href);
        }
      }
    }
  });

  // Follow the conversation while the reader is at the bottom; leave them alone when they scroll up.
  let follow = true;
  window.addEventListener("scroll", () => { follow = nearBottom(); }, { passive: true });
  document.addEventListener("htmx:after:swap", (e) => {
    const ctx = e.detail.ctx;
    if (!historyLoad(ctx)) {
      if (follow) scrollToEnd();
      return;
    }
    document.getElementById("messages").removeAttribute("aria-busy");
    const anchor = ctx.chatappAnchor;
    // the browser's own scroll anchoring may have done it already: move by what is left
    if (anchor) document.scrollingElement.scrollTop += anchor.el.getBoundingClientRect().top - anchor.top;
  });

  // Enter sends, Shift+Enter adds a line (on phones the on-screen Enter adds a line as usual).
  document.addEventListener("keydown", (e) => {
    const input = e.target;
    if (input.id !== "composer-input" || e.key !== "Enter" || e.shiftKey || e.isComposing) return;
    if (window.matchMedia("(pointer: coarse)").matches) return;
    e.preventDefault();
    // a message may be only files (static/js/attach.js enables their ids once uploaded)
    if (input.value.trim() || input.form.querySelector("input[name=attachment_ids]:enabled")) {
      input.form.requestSubmit();
    }
  });

  // After a send, the fresh composer takes the focus back so typing can go on.
  document.addEventListener("htmx:after:swap", (e) => {
    if (historyLoad(e.detail.ctx)) return; // reading back: no keyboard popping up on a phone
    const input = document.getElementById("composer-input");
    if (input && document.activeElement === document.body) input.focus();
  });

  document.addEventListener("DOMContentLoaded", () => {
    // the latest messages in view, unless the page shows an older part (?around=: its anchor)
    if (document.getElementById("messages") && !document.getElementById("history-newer")) scrollToEnd();
  });
})();
