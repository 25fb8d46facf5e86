// Staff pages: copy a link, print the invite card, confirm destructive actions.
// Texts come from data-t-* attributes rendered by the templates (translated there).
(function () {
  "use strict";

  function say(button, text) {
    var status = button.parentElement.parentElement.querySelector(".copy-status") ||
      document.querySelector(".copy-status");
    if (status) { status.textContent = text; }
  }

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copy(button) {
    var target = document.getElementById(button.dataset.copy);
    if (!target) { return; }
    var text = target.textContent.trim();
    var failed = function () {
      // No clipboard access (plain http on a LAN, an old browser): select it for Ctrl+C.
      selectText(target);
      say(button, button.dataset.tFailed);
    };
    if (!navigator.clipboard || !window.isSecureContext) { failed(); return; }
    navigator.clipboard.writeText(text).then(function () {
      say(button, button.dataset.tCopied);
    }, failed);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy], button[data-print]");
    if (!button) { return; }
    if (button.hasAttribute("data-copy")) { copy(button); } else { window.print(); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
