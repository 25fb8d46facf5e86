/*
 * Push reminders, inside the service worker: static/sw.js pulls this file in with importScripts.
 *
 * - push: the server sends Declarative Web Push, {web_push: 8030, notification: {title, body,
 *   navigate, lang, dir, tag}} (meso/notifications.py), which Safari shows by itself without
 *   this worker. Where the worker gets the message, it shows the same notification: the same
 *   texts, the same tag, a tap opening the same `navigate` address. The icons come from the
 *   flat fields beside it ({title, body, url, tag, icon, badge}: what workers installed before
 *   read; a message with only those is still shown). The tag names the reminder's kind (inside
 *   the encrypted payload: the push service sees only an opaque Topic), so a newer reminder of
 *   the same kind replaces the older one on the lock screen instead of stacking (renotify
 *   still makes it heard).
 * - notificationclick: focus a window of the app that is already open and show the reminder's
 *   page there, or open a new one.
 * - pushsubscriptionchange: the browser replaced the subscription; subscribe again and tell the
 *   server, with the old endpoint so that it is forgotten.
 */
"use strict";

// Wrapped, so that no name here can clash with one in static/sw.js.
(() => {
  // A worker has no page to read data-*-url attributes from: these are the public addresses
  // (the web contract in the design notes), named once here.
  const PUSH_FALLBACK_URL = "/today";
  const PUSH_KEY_URL = "/push/key";
  const SUBSCRIPTIONS_URL = "/push/subscriptions";

  self.addEventListener("push", (event) => {
    extendLifetime(event, showReminder(readPayload(event)));
  });

  self.addEventListener("notificationclick", (event) => {
    event.notification.close();
    extendLifetime(event, openFromNotification(event.notification));
  });

  self.addEventListener("pushsubscriptionchange", (event) => {
    extendLifetime(event, resubscribe(event.oldSubscription, event.newSubscription));
  });

  // A real event keeps the worker alive until the work is done. An event dispatched by hand (a
  // test, through dispatchEvent) cannot be extended, but the work still runs.
  function extendLifetime(event, work) {
    try {
      event.waitUntil(work);
    } catch (error) {
      work.catch(() => {});
    }
  }

  // The message as {title, body, url, tag, lang, dir, icon, badge}, whichever shape it came in.
  function readPayload(event) {
    if (!event.data) return {};
    let data;
    try {
      data = event.data.json();
    } catch (error) {
      return { body: event.data.text() };
    }
    if (!data || typeof data !== "object") return {};
    const declared = data.web_push === 8030 ? data.notification : null;
    if (!declared || typeof declared !== "object") return data;
    return {
      title: declared.title,
      body: declared.body,
      url: declared.navigate,
      tag: declared.tag,
      lang: declared.lang,
      dir: declared.dir,
      icon: data.icon,
      badge: data.badge,
    };
  }

  function showReminder(data) {
    const options = {
      body: data.body || "",
      icon: data.icon,
      badge: data.badge,
      data: { url: sameOriginUrl(data.url) },
    };
    if (data.lang) options.lang = data.lang;
    if (data.dir) options.dir = data.dir;
    if (data.tag) {
      options.tag = data.tag;
      options.renotify = true;
    }
    return self.registration.showNotification(data.title || "", options);
  }

  // Only this site's pages are ever opened from a notification.
  function sameOriginUrl(url) {
    try {
      const target = new URL(url || PUSH_FALLBACK_URL, self.location.origin);
      if (target.origin === self.location.origin) return target.href;
    } catch (error) {
      // fall through
    }
    return new URL(PUSH_FALLBACK_URL, self.location.origin).href;
  }

  async function openFromNotification(notification) {
    const target = sameOriginUrl(notification.data && notification.data.url);
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const client of windows) {
      if (new URL(client.url).origin !== self.location.origin) continue;
      let shown = client;
      if (client.url !== target) {
        // navigate() works only on windows this worker controls; others get a new window.
        shown = await client.navigate(target).catch(() => null);
        if (!shown) continue;
      }
      // focus() needs the user's click; without one (a test), the page is shown all the same.
      return shown.focus().catch(() => shown);
    }
    return self.clients.openWindow(target);
  }

  async function resubscribe(oldSubscription, newSubscription) {
    const key = await (await fetch(PUSH_KEY_URL, { credentials: "same-origin" })).json();
    const subscription = newSubscription || await self.registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: base64UrlBytes(key.publicKey),
    });
    const body = subscription.toJSON();
    if (oldSubscription && oldSubscription.endpoint !== subscription.endpoint) {
      body.oldEndpoint = oldSubscription.endpoint;
    }
    const response = await fetch(SUBSCRIPTIONS_URL, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": key.csrfToken },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`re-subscribing failed: HTTP ${response.status}`);
  }

  function base64UrlBytes(text) {
    const padded = text + "===".slice((text.length + 3) % 4);
    const base64 = padded.replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  }
})();
