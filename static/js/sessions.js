// chatapp session list: the Undo that follows a delete goes away once its time is over (the
// chat is purged then); rows come from the page or from htmx answers.
(() => {
  "use strict";

  function expireUndos() {
    for (const row of document.querySelectorAll("[data-undo-seconds]:not([data-undo-timer])")) {
      row.dataset.undoTimer = "on";
      setTimeout(() => row.remove(), Number(row.dataset.undoSeconds) * 1000);
    }
  }

  document.addEventListener("DOMContentLoaded", expireUndos);
  document.addEventListener("htmx:after:swap", expireUndos);
})();
