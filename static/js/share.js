// chatapp share page: a "Copy" button (data-copy="<selector of an input>") puts the input's text
// on the clipboard. Without JavaScript the buttons stay hidden and the link is selected by hand.
(() => {
  "use strict";

  document.documentElement.classList.add("js");

  document.addEventListener("click", async (e) => {
    const button = e.target.closest && e.target.closest("button[data-copy]");
    if (!button) return;
    const input = document.querySelector(button.dataset.copy);
    if (!input) return;
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      document.execCommand("copy"); // no Clipboard API (a page served over plain HTTP)
    }
    button.textContent = "Copied";
  });
})();
