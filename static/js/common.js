// What the page scripts share: reading the page's texts and addresses, the CSRF token, JSON
// requests, the service worker, what kind of phone this is and a place to keep things. An ES
// module (strict by itself), imported by the other page scripts. No words and no
// addresses live in these files: texts come from data-t-* attributes, addresses from data-*-url
// attributes, both rendered by the templates (translated, and from url_for).

// The texts an element carries, by name: data-t-sending="…" becomes texts(element).sending.
export const texts = (element) => Object.fromEntries(
  Object.entries(element.dataset)
    .filter(([name]) => /^t[A-Z]/.test(name))
    .map(([name, text]) => [name[1].toLowerCase() + name.slice(2), text]),
);

// An address the server rendered on <body> (templates/base.html): urlFor("checkins") reads
// data-checkins-url.
export const urlFor = (name) => document.body.dataset[`${name}Url`];

// The CSRF token a page hands out (templates/base.html), this page's or a fetched one's.
const csrfMeta = (page) => page.querySelector('meta[name="csrf-token"]');

export const csrfToken = (page = document) => csrfMeta(page)?.content ?? "";

export const setCsrfToken = (token) => {
  const meta = csrfMeta(document);
  if (meta) meta.content = token;
};

// Send JSON with the page's CSRF token; resolve with the status and the answer's JSON (null
// when there is none). Rejects only when no answer came (offline, connection lost).
export const sendJson = async (url, method = "POST", body = undefined) => {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, data };
};

// Send a form (FormData: a file with its fields) with the page's CSRF token, asking for JSON
// back; resolves and rejects like sendJson.
export const sendForm = async (url, body) => {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    body,
  });
  const data = await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, data };
};

// The service worker (static/sw.js) for the whole site. Registering again is harmless: the
// browser hands back the registration it has.
export const registerServiceWorker = () =>
  navigator.serviceWorker.register(urlFor("sw"), { scope: "/" });

// Resolves once the worker is active (subscribing to push needs one).
export const serviceWorkerReady = async () => {
  await registerServiceWorker();
  return navigator.serviceWorker.ready;
};

export const isIos = () =>
  // iPadOS presents itself as a Mac with a touch screen.
  /iPhone|iPad|iPod/.test(navigator.userAgent) ||
  (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);

// Opened from the home screen: Safari's own flag, or the standard media query elsewhere.
export const isInstalled = () =>
  navigator.standalone === true || window.matchMedia("(display-mode: standalone)").matches;

// A VAPID key as push subscriptions want it: base64url text to bytes.
export const base64UrlBytes = (text) => {
  const base64 = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
};

// localStorage, or a stand-in where it is blocked (some private modes): nothing is kept then.
export const localStore = () => {
  try {
    const storage = window.localStorage;
    storage.setItem("meso.test", "1");
    storage.removeItem("meso.test");
    return {
      get: (key) => storage.getItem(key),
      set: (key, value) => storage.setItem(key, value),
      remove: (key) => storage.removeItem(key),
    };
  } catch {
    const memory = new Map();
    return {
      get: (key) => memory.get(key) ?? null,
      set: (key, value) => memory.set(key, value),
      remove: (key) => memory.delete(key),
    };
  }
};
