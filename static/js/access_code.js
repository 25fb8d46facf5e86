// The access code for the installed app, on demand (templates/patient/_access_code.html, shown
// on iPhones and iPads, and access_code.html). On Today the code is fetched only when the patient asks (the card's
// data-code-url, which the service worker never stores), so it is never part of the copy of
// Today kept on the phone; a copy button puts it on the clipboard. Texts come from data-t-*.
import { isInstalled, isIos, texts } from "./common.js";

const card = document.querySelector(".access-code-card");

const say = (text) => {
  card.querySelector(".copy-status").textContent = text;
};

const show = async (event) => {
  const url = card.dataset.codeUrl;
  if (!url) return;  // no address: the link opens the code's own page
  event.preventDefault();
  const link = event.currentTarget;  // gone from the event once it has been dispatched
  const t = texts(card);
  try {
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    const data = response.ok ? await response.json() : null;
    if (!data?.code) throw new Error("no code");
    card.querySelector("#access-code").textContent = data.code;
    card.querySelector(".code-shown").hidden = false;
    link.hidden = true;
    say("");
  } catch {
    say(t.failed);
  }
};

const copy = async () => {
  const code = card.querySelector("#access-code");
  try {
    await navigator.clipboard.writeText(code.textContent.trim());
  } catch {
    // No clipboard here (an old browser, no secure context): select it for a long press.
    window.getSelection().selectAllChildren(code);
    return;
  }
  say(texts(card).copied);
};

if (card) {
  // Only an iPhone or iPad keeps the Home Screen app's cookies apart: there the card shows.
  if (card.hidden && isIos() && !isInstalled()) card.hidden = false;
  card.querySelector('[data-action="show-code"]')?.addEventListener("click", show);
  card.querySelector('[data-action="copy-code"]')?.addEventListener("click", copy);
}
