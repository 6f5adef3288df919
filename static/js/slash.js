// chatapp composer: "/" at the start of the message opens a menu of the quick actions, filtered
// as you type ("/ri" shows Risks). ArrowUp/ArrowDown move, Enter or Tab picks, Escape closes, a
// tap or click picks. Picking sends that quick action's own form (as its button above the
// composer does: the server builds the prompt) and clears the "/" text.
(() => {
  "use strict";

  const MENU_ID = "slash-menu";
  const isComposer = (el) => el && el.id === "composer-input";

  // The quick actions on the page: each one's form, label and prompt (the button's title).
  function actions() {
    return [...document.querySelectorAll(".quick-actions form")].map((form, index) => {
      const button = form.querySelector("button");
      return { form, index, label: button.textContent.trim(), prompt: button.title };
    });
  }

  // A label matches when it, or one of its words, starts with what was typed after "/".
  function matches(label, typed) {
    const text = label.toLowerCase();
    const q = typed.toLowerCase();
    return text.startsWith(q) || text.split(/[\s-]+/).some((word) => word.startsWith(q));
  }

  // What follows the "/" (null when the text is not a one-line slash command).
  function typedAfterSlash(input) {
    const text = input.value;
    return text.startsWith("/") && !text.includes("\n") ? text.slice(1).trimStart() : null;
  }

  // The box becomes a combobox once this script runs (without it there is no menu to announce).
  function prepare(input) {
    if (!input || input.getAttribute("role") === "combobox") return;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", MENU_ID);
    input.setAttribute("aria-expanded", "false");
  }

  function menuFor(input) {
    let menu = document.getElementById(MENU_ID);
    if (menu) return menu;
    menu = document.createElement("ul");
    menu.id = MENU_ID;
    menu.className = "slash-menu";
    menu.setAttribute("role", "listbox");
    menu.setAttribute("aria-label", "Quick actions");
    menu.hidden = true;
    menu.addEventListener("mousedown", (e) => e.preventDefault()); // the focus stays in the box
    menu.addEventListener("click", (e) => {
      const option = e.target.closest("[role=option]");
      if (option) pick(document.getElementById("composer-input"), Number(option.dataset.index));
    });
    input.form.append(menu);
    return menu;
  }

  function show(input) {
    const typed = typedAfterSlash(input);
    const found = typed === null ? [] : actions().filter((a) => matches(a.label, typed));
    if (!found.length) return close(input);
    const menu = menuFor(input);
    menu.replaceChildren(...found.map((action) => {
      const option = document.createElement("li");
      option.id = `slash-option-${action.index}`;
      option.setAttribute("role", "option");
      option.dataset.index = action.index;
      option.textContent = action.label;
      option.title = action.prompt;
      return option;
    }));
    menu.hidden = false;
    input.setAttribute("aria-expanded", "true");
    activate(input, menu.firstElementChild);
  }

  function activate(input, option) {
    for (const other of option.parentElement.children) {
      other.setAttribute("aria-selected", String(other === option));
    }
    input.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  }

  function close(input) {
    const menu = document.getElementById(MENU_ID);
    if (menu) menu.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function pick(input, index) {
    const action = actions()[index];
    close(input);
    if (!action) return;
    input.value = "";
    input.dispatchEvent(new Event("input", { bubbles: true })); // typing has stopped
    action.form.requestSubmit();
  }

  // Capture: the menu's keys are handled before the composer's Enter-to-send.
  document.addEventListener("keydown", (e) => {
    const input = e.target;
    if (!isComposer(input) || input.getAttribute("aria-expanded") !== "true" || e.isComposing) return;
    const options = [...document.querySelectorAll(`#${MENU_ID} [role=option]`)];
    const current = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const step = e.key === "ArrowDown" ? 1 : -1;
      activate(input, options[(current + step + options.length) % options.length]);
    } else if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey) {
      pick(input, Number(options[Math.max(current, 0)].dataset.index));
    } else if (e.key === "Escape") {
      close(input);
    } else {
      return;
    }
    e.preventDefault();
    e.stopPropagation();
  }, true);

  document.addEventListener("input", (e) => {
    if (!isComposer(e.target)) return;
    prepare(e.target);
    show(e.target);
  });

  // The menu closes when the box loses the focus (a tap on an option keeps it, see menuFor).
  document.addEventListener("focusout", (e) => { if (isComposer(e.target)) close(e.target); });

  const prepareComposer = () => prepare(document.getElementById("composer-input"));
  document.addEventListener("DOMContentLoaded", prepareComposer);
  document.addEventListener("htmx:after:swap", prepareComposer);
})();
