// "Turn on reminders" (templates/patient/_reminders_card.html). The browser asks for permission
// only after the patient taps the button; then this browser subscribes with the server's VAPID
// key and the subscription is stored by a POST to the card's data-subscriptions-url (CSRF
// header from the page). Every word shown comes from the card's data-t-* attributes.
import { base64UrlBytes, isInstalled, isIos, sendJson, serviceWorkerReady, texts } from "./common.js";

const card = document.getElementById("reminders");
const t = card ? texts(card) : {};

const show = (state) => {
  card.dataset.state = state;
  card.querySelectorAll("[data-show]").forEach((part) => {
    part.hidden = part.dataset.show !== state;
  });
};

const say = (text) => {
  card.querySelector(".reminders-status").textContent = text || "";
};

const supported = () =>
  "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

// JSON to the server; a failure throws with its status, so a caller can tell a 429 apart.
const send = async (method, url, body) => {
  const { ok, status, data } = await sendJson(url, method, body);
  if (!ok) throw new Error(`HTTP ${status}`);
  if (data === null && status !== 204) throw new Error("not an answer from the server");
  return data ?? {};
};

const subscribe = async (registration) => {
  const existing = await registration.pushManager.getSubscription();
  if (existing) return existing;
  const response = await fetch(card.dataset.keyUrl, { credentials: "same-origin" });
  if (!response.ok) throw new Error("no key");
  const key = await response.json();
  return registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: base64UrlBytes(key.publicKey),
  });
};

// Run one button's action with the button disabled meanwhile, saying `failed` if it fails.
const busy = async (button, failed, action) => {
  button.disabled = true;
  try {
    await action();
  } catch {
    say(failed);
  } finally {
    button.disabled = false;
  }
};

const enable = (button) => busy(button, t.failed, async () => {
  say(t.working);
  // The permission prompt comes from this tap, never on page load.
  const permission = await Notification.requestPermission();
  if (permission === "denied") {
    say("");
    show("denied");
    return;
  }
  if (permission !== "granted") {
    say(t.dismissed);
    return;
  }
  const subscription = await subscribe(await serviceWorkerReady());
  await send("POST", card.dataset.subscriptionsUrl, subscription.toJSON());
  show("on");
  say(t.on);
  await saveSettings();
});

// On the settings page, turning reminders on also saves the settings chosen above it, in the
// same step: nobody should have to find a second button for the choices they just made.
const saveSettings = async () => {
  const form = document.querySelector("form.reminder-settings-form");
  if (!form) return;
  let saved = false;
  try {
    const response = await fetch(form.action, {
      method: "POST", credentials: "same-origin", body: new FormData(form),
    });
    saved = response.ok;
  } catch {
    // Offline just now: said below.
  }
  say(saved ? `${t.on} ${t.saved}` : `${t.on} ${t.notSaved}`);
};

const disable = (button) => busy(button, t.failed, async () => {
  const registration = await serviceWorkerReady();
  const subscription = await registration.pushManager.getSubscription();
  if (subscription) {
    const { endpoint } = subscription;
    await subscription.unsubscribe();
    await send("DELETE", card.dataset.subscriptionsUrl, { endpoint });
  }
  show("off");
  say(t.off);
});

// The server queues the test; the reminder worker sends it like any reminder.
const test = async (button) => {
  button.disabled = true;
  say(t.working);
  try {
    const result = await send("POST", card.dataset.testUrl);
    say(result.queued ? t.testSent : t.testFailed);
  } catch (error) {
    say(error.message === "HTTP 429" ? t.testLimited : t.testFailed);
  } finally {
    button.disabled = false;
  }
};

// What this browser can do, and whether it is already subscribed.
const start = async () => {
  // On an iPhone or iPad, reminders work only in the app added to the Home Screen: the steps
  // come first there, never a button that cannot work.
  if (isIos() && !isInstalled()) return show("ios");
  if (!supported()) return show("unsupported");
  if (Notification.permission === "denied") return show("denied");
  if (Notification.permission !== "granted") return show("off");
  try {
    const registration = await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.getSubscription();
    show(subscription ? "on" : "off");
    // Subscribed here but unknown to the server (it was pruned, or the link was reopened):
    // store it again, quietly.
    if (subscription && card.dataset.devices === "0") {
      await send("POST", card.dataset.subscriptionsUrl, subscription.toJSON());
    }
  } catch {
    // The card keeps its "off" state.
  }
};

const ACTIONS = { enable, disable, test };

if (card) {
  card.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) ACTIONS[button.dataset.action]?.(button);
  });
  start();
}
