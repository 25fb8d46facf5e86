// Staff pages: copy a link, print the invite card. Texts come from data-t-* attributes rendered
// by the templates (translated there). Confirming marked forms is app.js's, on every page.
import { texts } from "./common.js";

// The status line next to the button, else the page's only one.
const say = (button, text) => {
  const status = button.parentElement.parentElement.querySelector(".copy-status") ??
    document.querySelector(".copy-status");
  if (status) status.textContent = text;
};

const selectText = (element) => {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
};

const copy = async (button) => {
  const target = document.getElementById(button.dataset.copy);
  if (!target) return;
  const t = texts(button);
  try {
    // No clipboard (plain http on a LAN, an old browser) fails like a refused write.
    if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
    await navigator.clipboard.writeText(target.textContent.trim());
    say(button, t.copied);
  } catch {
    // Select it instead, for Ctrl+C.
    selectText(target);
    say(button, t.failed);
  }
};

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy], button[data-print]");
  if (!button) return;
  if (button.hasAttribute("data-copy")) copy(button);
  else window.print();
});
