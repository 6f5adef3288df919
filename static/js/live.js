// chatapp live events for the chat page: the transport ladder.
//
// The page's live updates come over server-sent events; when SSE cannot deliver (blocked,
// buffered by a proxy, failing again and again) the page steps down to a WebSocket, then to
// long-polling, and later tries to step back up. All three carry the same events with the same
// ids, so the last id seen is kept across switches: nothing is missed, nothing is shown twice.
// Reconnects back off exponentially with jitter; a hidden tab disconnects and catches up when
// it is shown again. The state is shown in #live-status. An administrator may force one
// transport for a network that needs it (data-live-transport).
(() => {
  "use strict";

  const LADDER = ["sse", "websocket", "poll"];
  const DELIVERY_TIMEOUT = 5000; // ms for a new connection to prove it delivers ("ready")
  const FAILURES_BEFORE_STEP_DOWN = 3; // connections in a row that never delivered
  const STEP_UP_AFTER = 60000; // ms on a fallback before trying the transport above again
  const BACKOFF_BASE = 500;
  const BACKOFF_MAX = 30000;
  const PING_INTERVAL = 25000;
  const POLL_WAIT = 25; // seconds the server holds a poll open
  const SIGNALS = ["typing", "presence"]; // passing events, without an id (static/js/signals.js)

  const LABELS = {
    connecting: ["connecting…", ""],
    live: ["live", "Live updates over server-sent events."],
    "live-websocket": ["live (WebSocket)",
      "Server-sent events do not get through this network: live updates use a WebSocket."],
    polling: ["polling",
      "Live connections do not get through this network: the page asks for updates instead."],
    reconnecting: ["reconnecting…", "The live connection dropped; trying again."],
    paused: ["paused", "Updates resume when this tab is shown again."],
    offline: ["offline", "No network connection. Messages you send wait until it is back."],
    "signed-out": ["signed out", "Your session has ended: reload the page to sign in again."],
  };

  function setStatus(state) {
    const el = document.getElementById("live-status");
    if (!el || el.dataset.state === state) return;
    el.dataset.state = state;
    el.textContent = LABELS[state][0];
    el.title = LABELS[state][1];
  }

  function withQuery(url, params) {
    const full = new URL(url, window.location.href);
    for (const [key, value] of Object.entries(params)) {
      if (value !== null && value !== undefined) full.searchParams.set(key, value);
    }
    return full;
  }

  // --- transports: each opens, reports "ready" once it delivers, hands over frames
  // ({id, type, data}), and reports its end with whether it may be tried again.

  function openSse(feed, handlers) {
    const source = new EventSource(withQuery(feed.urls.sse, { after: feed.lastId, viewer: feed.viewer }));
    source.addEventListener("ready", handlers.ready);
    source.onmessage = (e) => handlers.frame({ id: e.lastEventId, type: "message", data: e.data });
    source.addEventListener("reset", () => handlers.frame({ type: "reset" }));
    for (const type of SIGNALS) {
      source.addEventListener(type, (e) => handlers.frame({ type, data: JSON.parse(e.data) }));
    }
    source.onerror = () => {
      source.close();
      handlers.ended({ retry: true });
    };
    return () => source.close();
  }

  function openWebSocket(feed, handlers) {
    const url = withQuery(feed.urls.websocket, { viewer: feed.viewer });
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    let pinger = null;
    socket.onopen = () => {
      feed.socket = socket; // signals go over it while it is open
      socket.send(JSON.stringify({ type: "resume", after: feed.lastId }));
      pinger = setInterval(() => socket.send(JSON.stringify({ type: "ping" })), PING_INTERVAL);
    };
    socket.onmessage = (e) => {
      const frame = JSON.parse(e.data);
      if (frame.type === "ready") handlers.ready();
      else if (frame.type !== "pong") handlers.frame(frame);
    };
    socket.onclose = (e) => {
      clearInterval(pinger);
      feed.socket = null;
      // 4401: signed out; 4403/4404: not this user's chat (any more); others: try again
      if (e.code === 4401) handlers.ended({ retry: false, state: "signed-out" });
      else if (e.code === 4403 || e.code === 4404) handlers.ended({ retry: false, state: "offline" });
      else handlers.ended({ retry: true });
    };
    return () => {
      clearInterval(pinger);
      feed.socket = null;
      socket.onclose = null;
      socket.close(1000);
    };
  }

  function openPoll(feed, handlers) {
    const abort = new AbortController();
    (async () => {
      for (let wait = 0; ; wait = POLL_WAIT) { // the first answers at once: it proves delivery
        let response;
        try {
          response = await fetch(withQuery(feed.urls.poll, { after: feed.lastId, wait, viewer: feed.viewer }), {
            headers: { Accept: "application/json" }, signal: abort.signal, cache: "no-store",
          });
        } catch (error) {
          if (!abort.signal.aborted) handlers.ended({ retry: true });
          return;
        }
        if (response.status === 401) return handlers.ended({ retry: false, state: "signed-out" });
        if (response.status === 404) return handlers.ended({ retry: false, state: "offline" });
        if (!response.ok) return handlers.ended({ retry: true });
        const answer = await response.json();
        handlers.ready();
        for (const frame of answer.events) handlers.frame(frame);
        feed.lastId = answer.last_id;
      }
    })();
    return () => abort.abort();
  }

  const OPEN = { sse: openSse, websocket: openWebSocket, poll: openPoll };

  function newViewerId() {
    return (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}${Math.random()}`)
      .replace(/[^A-Za-z0-9]/g, "");
  }

  // --- the feed: one live connection at a time, on the highest transport that delivers.

  class Feed {
    constructor(root) {
      this.root = root;
      this.urls = {
        sse: root.dataset.liveSse, websocket: root.dataset.liveWebsocket, poll: root.dataset.livePoll,
        signals: root.dataset.liveSignals,
      };
      this.viewer = newViewerId(); // this page, for presence
      this.socket = null;
      this.lastId = root.dataset.lastEventId || null;
      this.forced = LADDER.includes(root.dataset.liveTransport) ? root.dataset.liveTransport : null;
      this.level = this.forced ? LADDER.indexOf(this.forced) : 0;
      this.failures = 0; // connections in a row that never delivered
      this.attempt = 0; // reconnects in a row, for the backoff
      this.close = null;
      this.timers = [];
      this.probing = false; // trying the transport above the one that worked
      this.swapping = Promise.resolve();
    }

    get transport() { return LADDER[this.level]; }

    connect() {
      this.disconnect();
      if (document.hidden) return setStatus("paused");
      if (!navigator.onLine) return setStatus("offline");
      const transport = this.transport;
      let delivered = false;
      const handlers = {
        ready: () => {
          if (delivered) return;
          delivered = true;
          this.failures = 0;
          this.attempt = 0;
          this.probing = false;
          this.showLive();
          this.planStepUp();
          document.dispatchEvent(new CustomEvent("chatapp:live")); // the outbox may send now
        },
        frame: (frame) => this.apply(frame),
        ended: ({ retry, state }) => {
          if (this.close === null) return; // already replaced
          this.disconnect();
          if (!retry) return setStatus(state);
          if (delivered) this.reconnectLater(); // it worked: the same transport again
          else this.failedThenReconnect();
        },
      };
      this.close = OPEN[transport](this, handlers);
      this.timers.push(setTimeout(() => {
        if (delivered || this.close === null) return;
        this.disconnect(); // connected but silent: a proxy holds the stream back
        this.failures = FAILURES_BEFORE_STEP_DOWN - 1;
        this.failedThenReconnect();
      }, DELIVERY_TIMEOUT));
    }

    disconnect() {
      if (this.close) this.close();
      this.close = null;
      this.timers.forEach(clearTimeout);
      this.timers = [];
    }

    // A connection that never delivered. After a few in a row (or one, when trying to step back
    // up), step down, but only if a plain request gets through: when chatapp itself is down or
    // restarting, every transport fails and the one in use is kept.
    async failedThenReconnect() {
      this.failures += 1;
      const due = this.probing || this.failures >= FAILURES_BEFORE_STEP_DOWN;
      if (!this.forced && due && this.level < LADDER.length - 1 && await this.serverAnswers()) {
        this.level += 1;
        this.failures = 0;
        this.attempt = 0;
      }
      this.probing = false;
      this.reconnectLater();
    }

    async serverAnswers() {
      try {
        const response = await fetch(withQuery(this.urls.poll, { after: this.lastId, wait: 0 }), {
          headers: { Accept: "application/json" }, cache: "no-store",
        });
        return response.ok;
      } catch (error) {
        return false;
      }
    }

    reconnectLater() {
      setStatus("reconnecting");
      const delay = Math.min(BACKOFF_BASE * 2 ** this.attempt, BACKOFF_MAX);
      this.attempt += 1;
      const jittered = delay * (0.7 + Math.random() * 0.6);
      this.timers.push(setTimeout(() => this.connect(), jittered));
    }

    planStepUp() {
      if (this.forced || this.level === 0) return;
      this.timers.push(setTimeout(() => {
        this.level -= 1;
        this.probing = true;
        this.connect();
      }, STEP_UP_AFTER));
    }

    showLive() {
      setStatus({ sse: "live", websocket: "live-websocket", poll: "polling" }[this.transport]);
      this.root.dataset.transport = this.transport;
    }

    // Send a signal (typing, presence) over the WebSocket when one is open, else by a request
    // (kept alive through a page being hidden or closed).
    signal(type, fields) {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify({ type, ...fields }));
        return;
      }
      const body = new URLSearchParams({ type, viewer: this.viewer, ...fields });
      const token = document.querySelector("input[name=csrf_token]");
      fetch(this.urls.signals, {
        method: "POST", body, keepalive: true,
        headers: { "X-CSRFToken": token ? token.value : "", Accept: "application/json" },
      }).catch(() => {}); // a lost signal is replaced by the next one, or expires
    }

    apply(frame) {
      if (SIGNALS.includes(frame.type)) {
        document.dispatchEvent(new CustomEvent("chatapp:signal", { detail: frame }));
        return;
      }
      if (frame.type === "reset") {
        window.location.reload(); // the log no longer reaches back to what this page shows
        return;
      }
      if (typeof frame.data === "string" && frame.data) {
        const text = frame.data;
        // one swap after the other, in the order the events came
        this.swapping = this.swapping.then(() => htmx.swap({
          text, target: this.root, swap: "none swapEmpty:false", sourceElement: this.root,
        })).catch((error) => console.error("chatapp: an update could not be shown", error));
      }
      if (frame.id) this.lastId = frame.id;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("chat");
    if (!root || !root.dataset.liveSse) return;
    const feed = new Feed(root);
    window.chatappLiveFeed = feed; // for the browser tests and the console
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) feed.signal("presence", { state: "away" }); // before disconnecting
      feed.connect();
    });
    window.addEventListener("offline", () => { feed.disconnect(); setStatus("offline"); });
    window.addEventListener("online", () => { feed.attempt = 0; feed.connect(); });
    feed.connect();
  });
})();
