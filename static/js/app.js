// Meso aftercare on every page: the service worker, the offline note, install guidance and
// the confirmation of marked forms. Every text comes from the page (data-t-* attributes) and
// every address from data-*-url attributes: none live here.
import { checkinStarted } from "./checkins.js";
import { isInstalled, isIos, localStore, registerServiceWorker, texts } from "./common.js";

const IOS_HINT_KEY = "meso.iosHint";  // "dismissed" once the patient closed the iOS hint
const UPDATE_EVERY_MS = 60 * 60 * 1000;

const store = localStore();

// -- Service worker --------------------------------------------------------------------------

const startServiceWorker = () => {
  if (!("serviceWorker" in navigator)) return;
  const sw = navigator.serviceWorker;
  // A new worker takes control (static/sw.js skips waiting): reload once, so the page runs
  // on the new shell. Not on the first install (nothing was stale), and not in the middle
  // of a check-in (its next page load is new anyway: pages always come from the network).
  let wasControlled = Boolean(sw.controller);
  let reloading = false;
  sw.addEventListener("controllerchange", () => {
    if (!wasControlled) {
      wasControlled = true;
      return;
    }
    if (reloading || checkinStarted()) return;
    reloading = true;
    location.reload();
  });
  // A patient page the worker did not see (the very first visit) is not stored yet.
  const unseen = !sw.controller && document.querySelector(".offline-note");
  window.addEventListener("load", async () => {
    let registration;
    try {
      registration = await registerServiceWorker();
    } catch {
      return;  // No worker (private mode, old browser): the site still works, only not offline.
    }
    // An installed app can stay open for days: look for a new version now and then.
    let checked = Date.now();
    document.addEventListener("visibilitychange", () => {
      if (document.hidden || Date.now() - checked < UPDATE_EVERY_MS) return;
      checked = Date.now();
      registration.update().catch(() => {});
    });
    if (unseen) (await sw.ready).active.postMessage("store-pages");
  });
};

// -- Offline note ----------------------------------------------------------------------------

const showOfflineNote = () => {
  const note = document.querySelector(".offline-note");
  if (!note) return;
  // The note says "updated at 14:05"; a copy from an earlier day must say which day.
  const rendered = new Date(note.dataset.renderedAt);
  if (rendered.toDateString() !== new Date().toDateString()) {
    note.querySelector(".offline-text").textContent = texts(note).earlier;
  }
  const update = () => note.classList.toggle("offline", navigator.onLine === false);
  window.addEventListener("online", update);
  window.addEventListener("offline", update);
  update();
};

// -- Install guidance ------------------------------------------------------------------------

const offerInstalling = () => {
  const offerCard = document.getElementById("install");
  const hint = document.getElementById("ios-hint");
  if (!offerCard || !hint || isInstalled()) return;
  let offer = null;
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();  // our own button, on our card, instead of the browser's bar
    offer = event;
    offerCard.hidden = false;
  });
  document.getElementById("install-button").addEventListener("click", async () => {
    if (!offer) return;
    const shown = offer;
    offer = null;
    shown.prompt();
    await shown.userChoice;
    offerCard.hidden = true;
  });
  window.addEventListener("appinstalled", () => {
    offerCard.hidden = true;
    hint.hidden = true;
  });
  // Where the reminders card is (Today), it gives the Home Screen steps itself: once a page.
  const stepsNearby = document.getElementById("reminders") !== null;
  if (isIos() && !stepsNearby && store.get(IOS_HINT_KEY) !== "dismissed") hint.hidden = false;
  document.getElementById("ios-hint-close").addEventListener("click", () => {
    store.set(IOS_HINT_KEY, "dismissed");
    hint.hidden = true;
  });
};

// -- Confirmation ----------------------------------------------------------------------------

// Ask first where a form says so (data-confirm, from the post_button macro in
// templates/_macros.html): a destructive action is one tap away otherwise.
const confirmMarkedForms = () => {
  document.addEventListener("submit", (event) => {
    const question = event.target.dataset?.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
};

startServiceWorker();
showOfflineNote();
offerInstalling();
confirmMarkedForms();
