// chatapp copy buttons: every code block of a finished reply gets a "Copy" button, also in replies
// that finish while the page is open and in older messages loaded by scrolling (a mutation
// observer sees every message put on the page). The clipboard API is used where the browser
// allows it (HTTPS or loopback), else a selected hidden text area and the copy command.
(() => {
  "use strict";

  const SHOWN_FOR = 2000; // ms the feedback ("Copied") stays on the button

  function copyWithSelection(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.append(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    if (!copied) throw new Error("the browser refused to copy");
  }

  async function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        return await navigator.clipboard.writeText(text);
      } catch (error) {
        // permission refused or no focus: the older way may still work
      }
    }
    copyWithSelection(text);
  }

  function addButtons(root) {
    for (const pre of root.querySelectorAll(".body.markdown pre")) {
      if (pre.parentElement.classList.contains("code-block")) continue;
      const block = document.createElement("div");
      block.className = "code-block";
      pre.before(block);
      block.append(pre);
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small copy-code";
      button.textContent = "Copy";
      button.title = "Copy this code";
      block.append(button);
    }
  }

  document.addEventListener("click", async (e) => {
    const button = e.target.closest && e.target.closest("button.copy-code");
    if (!button) return;
    try {
      await copy(button.parentElement.querySelector("pre").innerText);
      button.textContent = "Copied";
    } catch (error) {
      button.textContent = "Copy failed";
    }
    clearTimeout(button.chatappReset);
    button.chatappReset = setTimeout(() => { button.textContent = "Copy"; }, SHOWN_FOR);
  });

  document.addEventListener("DOMContentLoaded", () => {
    const messages = document.getElementById("messages");
    if (!messages) return;
    addButtons(messages);
    new MutationObserver((changes) => {
      for (const change of changes) {
        for (const node of change.addedNodes) {
          // only what was added (a message, a reply's final body): never the whole history again
          if (node.nodeType === Node.ELEMENT_NODE) addButtons(node.closest(".body.markdown") || node);
        }
      }
    }).observe(messages, { childList: true, subtree: true });
  });
})();
