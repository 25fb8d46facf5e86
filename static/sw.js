/*
 * Meso aftercare service worker, served at /sw.js (scope "/") by meso/pwa.py.
 *
 * What it does, and why:
 * - Precaches the app shell (stylesheet, scripts, icons, the offline page) in a cache named after
 *   the build, so a new build is a new cache and the old one is deleted when it activates.
 * - Pages are network-first: a patient always gets the live plan when there is any network.
 *   The last copies of Today and Timeline (and of /api/plan) are kept so that, offline, the
 *   patient still sees their plan, marked as a copy (the page then says "offline - updated at").
 * - With a copy kept, the worker asks the server whether it changed (If-None-Match with the
 *   copy's ETag): a 304 costs no page on the wire, and the copy is shown as the live page.
 * - Staff pages are never stored: offline, a staff page shows the offline page instead.
 * - Photos and data exports are never touched at all (NEVER_TOUCHED): the worker does not
 *   answer for them, so they go to the network as if there were no worker, and no copy of a
 *   patient's photo or of their whole record ever sits in a cache on the phone.
 * - A new version takes over at once (skipWaiting + clients.claim); static/js/app.js reloads
 *   the page when that happens, so nobody stays on an old shell.
 */
"use strict";

// meso/pwa.py replaces this line with the real build: a hash of the shell and its URLs, and
// the offline page in the language this worker was registered with (/sw.js?lang=xx).
const BUILD = { version: "dev", shell: [] };

// Push notifications live in their own file (push, notificationclick, pushsubscriptionchange).
// (Import only a file that exists: a failed importScripts makes the install fail.)
importScripts("/static/js/sw-push.js");

const SHELL_CACHE = `meso-shell-${BUILD.version}`;
// The last copies of the patient's pages. Its name changes only if its format does, so an
// update of the shell does not throw away a patient's offline copy of their plan.
const PAGES_CACHE = "meso-pages-v1";
// The offline page of this worker's language: precached with the shell, so it keeps that
// language even on a phone whose browser speaks another (a new language is a new worker).
const OFFLINE_URL = BUILD.offline || "/offline";

// The only responses ever stored besides the shell, by path; "/" falls back to Today's copy.
const KEPT = ["/today", "/timeline", "/api/plan"];
const FALLBACK = { "/": "/today", "/today": "/today", "/timeline": "/timeline" };
// Never answered by the worker, never stored: photos (the patient's and the staff page's
// /photos/<id>, /photos/<id>/thumb) and the data export.
const NEVER_TOUCHED = [/^\/photos(\/|$)/, /^\/me\/export$/, /^\/staff\/patients\/\d+\/export$/];
// On a bad network (one bar of signal) wait this long before showing the copy instead.
const NETWORK_TIMEOUT_MS = 6000;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // cache: "reload" skips the HTTP cache, so the precache holds what the server has now.
    await cache.addAll(BUILD.shell.map((url) => new Request(url, { cache: "reload" })));
    // Take over from an older version without waiting for every tab to close.
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names
      .filter((name) => name.startsWith("meso-") && name !== SHELL_CACHE && name !== PAGES_CACHE)
      .map((name) => caches.delete(name)));
    // No navigation preload: its request cannot say which copy we hold (If-None-Match), so
    // it would fetch the whole page each time; an older version of this worker enabled it.
    if (self.registration.navigationPreload) {
      await self.registration.navigationPreload.disable();
    }
    await self.clients.claim();
  })());
});

// The page a patient opens first (from their link) loads before this worker exists, so it
// was never stored; static/js/app.js then asks for Today and Timeline to be stored at once, so
// that they open offline even if the patient never comes back online before they need them.
self.addEventListener("message", (event) => {
  if (event.data === "store-pages") event.waitUntil(storePages());
});

async function storePages() {
  await Promise.all(Object.keys(FALLBACK).filter((path) => path !== "/").map(async (path) => {
    try {
      await remember(path, await fetch(path));
    } catch (error) {
      // Offline already: the next visit stores them.
    }
  }));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  // Check-ins and forms (POST) always go to the network; the page queues them when offline.
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (neverTouched(url.pathname)) return;

  if (request.mode === "navigate") {
    event.respondWith(navigate(event, url));
  } else if (url.pathname === "/api/plan") {
    event.respondWith(networkFirst(event, request, "/api/plan"));
  } else if (BUILD.shell.includes(url.pathname + url.search)) {
    event.respondWith(shellFirst(request, url));
  }
  // Anything else is left to the browser, as if there were no worker.
});

// A page: the network first; offline, the last copy of a patient page, or the offline page.
async function navigate(event, url) {
  const isStaff = url.pathname === "/staff" || url.pathname.startsWith("/staff/");
  const fallback = isStaff ? null : FALLBACK[url.pathname];
  const network = isStaff ? fetch(event.request)
    : revalidate(url.pathname, () => fetch(event.request));
  const response = await withTimeout(network, fallback && await hasCopy(fallback));
  if (response) {
    if (!isStaff) event.waitUntil(remember(url.pathname, response.clone()));
    return response;
  }
  // Keep the network answer for next time even though the patient sees the copy now.
  if (!isStaff) event.waitUntil(network.then((late) => remember(url.pathname, late), () => {}));
  return (fallback && await markedCopy(fallback)) || offlinePage();
}

// /api/plan: the network first, the last answer when offline.
async function networkFirst(event, request, key) {
  try {
    const response = await revalidate(key, () => fetch(request), request.redirect);
    event.waitUntil(remember(key, response.clone()));
    return response;
  } catch (error) {
    const copy = await (await caches.open(PAGES_CACHE)).match(key);
    return copy || Response.error();
  }
}

// A kept path with a copy: ask for it only if it changed since the copy (If-None-Match), and
// on a 304 answer with the copy. Anything else (or no copy yet): `plain()`, the request as is.
// A navigation's redirect is handed to the page ("manual"), as the browser itself would.
async function revalidate(path, plain, redirect = "manual") {
  const copy = KEPT.includes(path) ? await (await caches.open(PAGES_CACHE)).match(path) : null;
  const etag = copy && copy.headers.get("ETag");
  if (!etag) return plain();
  const response = await fetch(path, {
    headers: { "If-None-Match": etag },
    credentials: "same-origin",
    cache: "no-store", // our own validator, not the HTTP cache's (the pages are no-store)
    redirect,
  });
  return response.status === 304 ? copy : response;
}

// Shell files come from the cache of this version (which the install filled), else the network.
async function shellFirst(request, url) {
  const cache = await caches.open(SHELL_CACHE);
  return (await cache.match(url.pathname + url.search)) || fetch(request);
}

// Resolve with the network's response, or with null when it fails, or when it is slower than
// NETWORK_TIMEOUT_MS and a copy is there to show instead.
function withTimeout(network, canGiveUp) {
  return new Promise((resolve) => {
    network.then(resolve, () => resolve(null));
    if (canGiveUp) setTimeout(() => resolve(null), NETWORK_TIMEOUT_MS);
  });
}

function neverTouched(path) {
  return NEVER_TOUCHED.some((pattern) => pattern.test(path));
}

// Store a good copy of a kept path. A patient who is signed out (their device link revoked)
// loses every stored copy, so a revoked phone does not go on showing the plan.
async function remember(path, response) {
  if (!KEPT.includes(path) || neverTouched(path)) return;
  const cache = await caches.open(PAGES_CACHE);
  if (response.status === 401 || response.status === 403) {
    await Promise.all(KEPT.map((key) => cache.delete(key)));
  } else if (response.status === 200 && response.type === "basic" && !response.redirected) {
    await cache.put(path, response);
  }
}

async function hasCopy(path) {
  return Boolean(await (await caches.open(PAGES_CACHE)).match(path));
}

// The stored page, marked so that it shows its "offline - updated at" note from the first paint
// (templates/patient/_layout.html renders data-served="network"; CSS shows the note for "cache").
async function markedCopy(path) {
  const copy = await (await caches.open(PAGES_CACHE)).match(path);
  if (!copy) return null;
  const html = (await copy.text()).replace('data-served="network"', 'data-served="cache"');
  const headers = new Headers(copy.headers);
  headers.delete("Content-Length");
  return new Response(html, { status: 200, statusText: "OK", headers });
}

async function offlinePage() {
  return (await caches.match(OFFLINE_URL)) || Response.error();
}
