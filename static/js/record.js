// chatapp voice notes: the composer's Record button records from the microphone (MediaRecorder,
// in a format the browser supports: Opus in WebM on Chrome and Firefox, AAC in MP4 on Safari),
// shows the recording with its timer, and on Stop hands the recording to static/js/attach.js,
// which uploads it like any file. Cancel (or Escape) throws it away.
(() => {
  "use strict";

  const FORMATS = [
    { type: "audio/webm;codecs=opus", ext: ".webm" },
    { type: "audio/webm", ext: ".webm" },
    { type: "audio/mp4", ext: ".m4a" },
    { type: "audio/ogg;codecs=opus", ext: ".ogg" },
  ];
  let session = null; // { recorder, stream, chunks, format, started, timer, keep }

  const composer = () => document.getElementById("composer");
  const part = (selector) => composer().querySelector(selector);

  function supported() {
    return Boolean(window.MediaRecorder && navigator.mediaDevices
      && navigator.mediaDevices.getUserMedia && chosenFormat());
  }

  function chosenFormat() {
    return FORMATS.find((format) => MediaRecorder.isTypeSupported(format.type)) || null;
  }

  const say = (text) => window.chatappFileChips.announce(text);

  // Why the microphone could not be used, in words a person can act on.
  function explain(error) {
    switch (error && error.name) {
      case "NotAllowedError":
      case "SecurityError":
        return "Microphone access is blocked: allow it for this site in the browser's settings, then try again.";
      case "NotFoundError":
      case "OverconstrainedError":
        return "No microphone was found: connect one, then try again.";
      case "NotReadableError":
      case "AbortError":
        return "The microphone could not be started: another app may be using it.";
      default:
        return `Recording could not start: ${(error && error.message) || "unknown error"}.`;
    }
  }

  function showRecording(on) {
    part(".recorder").hidden = !on;
    part(".record-start").hidden = on;
    if (on) composer().dataset.recording = "true";
    else delete composer().dataset.recording;
    document.dispatchEvent(new CustomEvent("chatapp:composer-changed"));
  }

  function tick() {
    const seconds = Math.floor((Date.now() - session.started) / 1000);
    const timer = part(".recorder-timer");
    timer.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    timer.setAttribute("datetime", `PT${seconds}S`);
  }

  async function start() {
    const format = chosenFormat();
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      return say(explain(error));
    }
    const recorder = new MediaRecorder(stream, { mimeType: format.type });
    session = { recorder, stream, format, chunks: [], started: Date.now(), keep: false };
    recorder.addEventListener("dataavailable", (e) => { if (e.data.size) session.chunks.push(e.data); });
    recorder.addEventListener("stop", finished);
    recorder.start(1000);
    session.timer = setInterval(tick, 500);
    tick();
    showRecording(true);
    part(".recorder-stop").focus();
    say("Recording a voice note. Stop to attach it, Cancel to throw it away.");
  }

  function stop(keep) {
    if (!session || session.recorder.state === "inactive") return;
    session.keep = keep;
    session.recorder.stop();
  }

  function finished() {
    const { chunks, format, keep, stream, timer } = session;
    session = null;
    clearInterval(timer);
    stream.getTracks().forEach((track) => track.stop());
    if (!composer()) return;
    showRecording(false);
    part(".record-start").focus();
    if (!keep) return say("Recording cancelled.");
    const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, "-");
    const type = format.type.split(";")[0];
    const file = new File(chunks, `voice-note-${stamp}${format.ext}`, { type });
    document.dispatchEvent(new CustomEvent("chatapp:attach", { detail: { files: [file], recorded: true } }));
  }

  function ready() {
    const form = composer();
    if (!form || !form.querySelector(".record-start") || form.dataset.recordReady) return;
    form.dataset.recordReady = "true";
    form.querySelector(".record-start").hidden = !supported();
    if (session) stop(false); // the composer was replaced while recording
  }

  document.addEventListener("click", (e) => {
    const button = e.target.closest && e.target.closest("#composer button");
    if (!button) return;
    if (button.classList.contains("record-start")) start();
    else if (button.classList.contains("recorder-stop")) stop(true);
    else if (button.classList.contains("recorder-cancel")) stop(false);
  });

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && session) stop(false);
  });

  document.addEventListener("DOMContentLoaded", ready);
  document.addEventListener("htmx:after:swap", ready);
})();
