// The daily check-in (templates/patient/_checkin_card.html), kept on the phone while offline
// and sent exactly once when the network is back. Runs on every page: any page sends what is
// queued; Today also has the card, whose texts come from its data-t-* attributes.
import { csrfToken, localStore, setCsrfToken, texts, urlFor } from "./common.js";
import {
  chosenPhoto, keepOnlyPhotos, keepPhoto, photoFits, photoNotAdded, sendCheckin,
} from "./photo_queue.js";

const QUEUE_KEY = "meso.checkins";  // localStorage: check-ins not yet accepted by the server

const store = localStore();
const card = document.getElementById("checkin");
const form = card?.querySelector("form.checkin-form");
const t = card ? texts(card) : {};
let submittedHere = null;  // the key of the check-in sent from this page, if any
let flushing = false;

// A patient who has started answering: the page must not reload under them. ("None" is
// preselected for every sign, so a checked input alone says nothing.)
let started = false;
form?.addEventListener("change", () => { started = true; });
export const checkinStarted = () => Boolean(form && !form.hidden && started);

// Today's card starts as one row of feelings; choosing one opens the rest of the check-in.
const openRest = () => {
  const rest = form.querySelector(".checkin-more");
  if (rest?.hidden) rest.hidden = false;
};

// "None of these" and the red flags exclude each other. A ticked red flag says at once, before
// sending, what to do: call the clinic today, or emergency services now (role="alert").
const flagBoxes = () => Array.from(form.querySelectorAll('input[name="symptoms"]'));

const showFlagAlert = () => {
  const alert = form.querySelector(".flag-alert");
  if (!alert) return;
  const ticked = flagBoxes().filter((box) => box.checked).map((box) => box.value);
  const level = localAdvice({ symptoms: ticked }, form.dataset.emergency.split(" "));
  alert.querySelectorAll("[data-flag-level]").forEach((block) => {
    block.hidden = block.dataset.flagLevel !== level;
  });
  alert.hidden = level === null;
};

const answerChanged = (event) => {
  const input = event.target;
  if (input.name === "feeling") openRest();
  const none = form.querySelector('input[name="no_flags"]');
  if (input.name === "no_flags" && input.checked) {
    flagBoxes().forEach((box) => { box.checked = false; });
  } else if (input.name === "symptoms" && input.checked && none) {
    none.checked = false;
  }
  if (input.name === "no_flags" || input.name === "symptoms") showFlagAlert();
};
form?.addEventListener("change", answerChanged);

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

// What a check-in means before the server has answered (offline): the red-flag rules of
// meso/checkin_rules.py, the only ones that never depend on the day. Anything else waits for
// the server's answer.
const localAdvice = (item, emergencyFlags) => {
  if (item.symptoms.some((s) => emergencyFlags.includes(s))) return "emergency";
  return item.symptoms.length ? "call_clinic" : null;
};

// A copy of Today the service worker kept before check-ins had an advice has a block per
// older answer ("guidance") instead of #advice: it shows the nearest one.
const OLDER_BLOCKS = {
  expected: ["ok"], watch: ["low"], call_clinic: ["contact"], emergency: ["emergency", "contact"],
};

// Show an advice level (or none yet) and its reasons in the card's answer (#advice). An
// emergency goes to the top of the page, before anything else, and takes the focus there.
const showAdvice = (level, reasons = []) => {
  if (!card) return;
  const result = document.querySelector(".checkin-result");
  const answer = result.querySelector("#advice");
  result.hidden = false;
  if (!answer) {
    result.querySelectorAll("[data-guidance]").forEach((block) => {
      block.hidden = !(OLDER_BLOCKS[level] ?? []).includes(block.dataset.guidance);
    });
    return;
  }
  answer.dataset.advice = level ?? "";
  answer.querySelectorAll("[data-advice-block]").forEach((block) => {
    block.hidden = block.dataset.adviceBlock !== level;
  });
  const list = answer.querySelector(".reasons");
  list.replaceChildren(...reasons.map((text) => {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  }));
  list.hidden = !reasons.length;
  if (level === "emergency" && result.parentElement !== document.getElementById("main")) {
    document.getElementById("main").prepend(result);
    result.classList.add("checkin-result-first");
    window.scrollTo(0, 0);
    answer.focus();
  }
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
    document.querySelector(".checkin-result").hidden = true;
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
    answer = await sendCheckin(urlFor("checkins"), item);  // with its photo, if it has one
  } catch {
    return "kept";  // offline, or no answer
  }
  const { ok, status, data } = answer;
  if (answer.photoRefused !== undefined) photoNotAdded(card, form, answer.photoRefused);
  // Signed out, server trouble, or an answer that is not ours (a captive portal): later.
  if (data === null || (!ok && status !== 400)) return "kept";
  if (ok) {
    if (data.key === submittedHere && data.advice) showAdvice(data.advice, data.reasons ?? []);
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
    keepOnlyPhotos(queue().map((item) => item.key), true);
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

let keeping = false;  // a photo being kept: a second tap must not queue the check-in twice

const submit = async (event) => {
  event.preventDefault();
  if (keeping) return;
  const checked = form.querySelector('input[name="feeling"]:checked');
  document.getElementById("feeling-error").hidden = Boolean(checked);
  form.querySelector(".feeling").classList.toggle("has-error", !checked);
  if (!checked) {
    form.querySelector('input[name="feeling"]').focus();
    return;
  }
  if (!photoFits(form)) return;
  const item = {
    owner: pageOwner(),
    key: newKey(),
    at: new Date().toISOString(),
    feeling: Number(checked.value),
    trend: form.querySelector('input[name="trend"]:checked')?.value ?? null,
    symptoms: Array.from(form.querySelectorAll('input[name="symptoms"]:checked'),
      (box) => box.value),
  };
  // "None of these": all fine, told apart from a question left out. (An older copy of the
  // page has no such box, and sends nothing.)
  if (form.querySelector('input[name="no_flags"]:checked')) item.no_flags = true;
  // An older copy of the page never asked about signs: send none rather than "none" for all.
  const signs = form.querySelectorAll('input[name^="sign_"]:checked');
  if (signs.length) {
    item.signs = Object.fromEntries(Array.from(signs,
      (radio) => [radio.name.slice("sign_".length), radio.value]));
  }
  // Kept first, sent second: a crash or a closed tab between the two loses nothing. The
  // photo before its check-in: a check-in queued is one that may be sent.
  const photo = chosenPhoto(form);
  if (photo) {
    keeping = true;
    item.photo = true;
    await keepPhoto(item.key, photo).finally(() => { keeping = false; });
  }
  save([...queue(), item]);
  submittedHere = item.key;
  showForm(false);
  showAdvice(localAdvice(item, form.dataset.emergency.split(" ")));
  say(t.sending);
  flush();
};

form?.addEventListener("submit", submit);
window.addEventListener("online", flush);
if (queue().length) say(t.queued);
keepOnlyPhotos(queue().map((item) => item.key));
flush();
// Answers given before this script ran (a slow phone, a form sent back with errors): open the
// rest of the check-in and say what a ticked red flag means all the same.
if (form?.querySelector('input[name="feeling"]:checked')) openRest();
if (form) showFlagAlert();
