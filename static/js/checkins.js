// The daily check-in (templates/patient/_checkin_card.html), kept on the phone while offline
// and sent exactly once when the network is back. Runs on every page: any page sends what is
// queued; Today also has the card, whose texts come from its data-t-* attributes.
import { csrfToken, localStore, sendJson, setCsrfToken, texts, urlFor } from "./common.js";

const QUEUE_KEY = "meso.checkins";  // localStorage: check-ins not yet accepted by the server

const store = localStore();
const card = document.getElementById("checkin");
const form = card?.querySelector("form.checkin-form");
const t = card ? texts(card) : {};
let submittedHere = null;  // the key of the check-in sent from this page, if any
let flushing = false;

// A patient who has started answering: the page must not reload under them.
export const checkinStarted = () =>
  Boolean(form && !form.hidden && form.querySelector("input:checked"));

const queue = () => {
  try {
    return JSON.parse(store.get(QUEUE_KEY) || "[]");
  } catch {
    return [];
  }
};

const save = (items) => {
  if (items.length) store.set(QUEUE_KEY, JSON.stringify(items));
  else store.remove(QUEUE_KEY);
};

const say = (text) => {
  const status = card?.querySelector(".checkin-status");
  if (status && text) status.textContent = text;
};

// The patient this page belongs to (templates/patient/_layout.html), "" on other pages.
const pageOwner = () => document.querySelector("[data-owner]")?.dataset.owner ?? "";

const newKey = () => {
  if (window.crypto?.randomUUID) return crypto.randomUUID();  // secure contexts only
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
};

// Must match protocol.checkin_guidance: any red flag means "contact your clinic".
const localGuidance = (item, emergencyFlags) => {
  if (item.symptoms.some((s) => emergencyFlags.includes(s))) return "emergency";
  if (item.symptoms.length) return "contact";
  return item.feeling <= 2 ? "low" : "ok";
};

const showGuidance = (kind) => {
  if (!card) return;
  const result = card.querySelector(".checkin-result");
  result.hidden = false;
  result.querySelectorAll("[data-guidance]").forEach((block) => {
    const name = block.dataset.guidance;
    block.hidden = !(name === kind || (kind === "emergency" && name === "contact"));
  });
};

const showForm = (shown) => {
  form.hidden = !shown;
  const details = form.closest("details");
  if (details) details.hidden = !shown;
};

// The server will never take this one (say, a month-old copy): say why, and let the
// patient answer again if it was sent from this page.
const refused = (item, errors) => {
  say(Object.values(errors).join(" "));
  if (item.key === submittedHere) {
    showForm(true);
    card.querySelector(".checkin-result").hidden = true;
  }
};

// An offline copy of a page carries an old CSRF token: take a fresh one from a live page.
const renewToken = async () => {
  try {
    const response = await fetch(urlFor("checkinForm"), {
      credentials: "same-origin", cache: "no-store",
    });
    const token = csrfToken(new DOMParser().parseFromString(await response.text(), "text/html"));
    if (token) setCsrfToken(token);
  } catch {
    // Offline again: the check-in stays queued.
  }
};

// Resolve with "sent", "refused" (the server will never take it) or "kept" (try later).
const send = async (item, mayRenewToken) => {
  let answer;
  try {
    answer = await sendJson(urlFor("checkins"), "POST", item);
  } catch {
    return "kept";  // offline, or no answer
  }
  const { ok, status, data } = answer;
  // Signed out, server trouble, or an answer that is not ours (a captive portal): later.
  if (data === null || (!ok && status !== 400)) return "kept";
  if (ok) {
    if (data.key === submittedHere) showGuidance(data.guidance);
    return "sent";
  }
  if (data.errors) {
    refused(item, data.errors);
    return "refused";
  }
  // No field errors: the page's CSRF token is stale (an old offline copy). Renew once.
  if (!mayRenewToken) return "kept";
  await renewToken();
  return send(item, false);
};

// Send every queued check-in, oldest first. Each carries its own idempotency key, so one
// that reached the server but whose answer was lost is stored once when sent again.
const flush = async () => {
  // Another patient's check-ins on this phone are theirs: drop them, never send them as ours.
  const owner = pageOwner();
  if (owner && queue().some((item) => item.owner !== owner)) {
    save(queue().filter((item) => item.owner === owner));
  }
  if (flushing || !queue().length) return;
  flushing = true;
  const [item] = queue();
  const outcome = await send(item, true);
  flushing = false;
  if (outcome === "kept") {
    say(item.key === submittedHere ? t.waiting : t.queued);
    return;
  }
  save(queue().filter((other) => other.key !== item.key));
  if (outcome === "sent" && !queue().length) say(t.sent);
  flush();
};

const submit = (event) => {
  event.preventDefault();
  const checked = form.querySelector('input[name="feeling"]:checked');
  document.getElementById("feeling-error").hidden = Boolean(checked);
  form.querySelector(".feeling").classList.toggle("has-error", !checked);
  if (!checked) {
    form.querySelector('input[name="feeling"]').focus();
    return;
  }
  const item = {
    owner: pageOwner(),
    key: newKey(),
    at: new Date().toISOString(),
    feeling: Number(checked.value),
    symptoms: Array.from(form.querySelectorAll('input[name="symptoms"]:checked'),
      (box) => box.value),
  };
  // Kept first, sent second: a crash or a closed tab between the two loses nothing.
  save([...queue(), item]);
  submittedHere = item.key;
  showForm(false);
  showGuidance(localGuidance(item, form.dataset.emergency.split(" ")));
  say(t.sending);
  flush();
};

form?.addEventListener("submit", submit);
window.addEventListener("online", flush);
if (queue().length) say(t.queued);
flush();
