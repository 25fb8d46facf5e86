// "Turn on reminders" (templates/patient/_reminders_card.html). The browser asks for permission
// only after the patient taps the button; then this browser subscribes with the server's VAPID
// key and the subscription is stored by POST /push/subscriptions (CSRF header from the page).
// Every word shown comes from the card's data-t-* attributes.
(function () {
  "use strict";
  var card = document.getElementById("reminders");
  if (!card) return;
  var t = card.dataset;
  var status = card.querySelector(".reminders-status");
  var tokenMeta = document.querySelector('meta[name="csrf-token"]');

  function show(state) {
    card.dataset.state = state;
    card.querySelectorAll("[data-show]").forEach(function (part) {
      part.hidden = part.dataset.show !== state;
    });
  }

  function say(text) {
    status.textContent = text || "";
  }

  function isIOS() {
    return /iPad|iPhone|iPod/.test(navigator.userAgent) ||
      (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  }

  function installed() {
    return navigator.standalone === true ||
      window.matchMedia("(display-mode: standalone)").matches;
  }

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  // The service worker (static/sw.js, registered by app.js too) must be active to subscribe.
  function worker() {
    return navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    });
  }

  function keyBytes(base64url) {
    var base64 = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function send(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": tokenMeta.content },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.status === 204 ? {} : response.json();
    });
  }

  function subscribe(registration) {
    return registration.pushManager.getSubscription().then(function (existing) {
      if (existing) return existing;
      return fetch(t.keyUrl, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("no key");
          return response.json();
        })
        .then(function (key) {
          return registration.pushManager.subscribe({
            userVisibleOnly: true,
            applicationServerKey: keyBytes(key.publicKey)
          });
        });
    });
  }

  function enable(button) {
    button.disabled = true;
    say(t.tWorking);
    // The permission prompt comes from this tap, never on page load.
    Promise.resolve(Notification.requestPermission())
      .then(function (permission) {
        if (permission === "denied") { say(""); show("denied"); return; }
        if (permission !== "granted") { say(t.tDismissed); return; }
        return worker().then(subscribe).then(function (subscription) {
          return send("POST", t.subscriptionsUrl, subscription.toJSON());
        }).then(function () {
          show("on");
          say(t.tOn);
        });
      })
      .catch(function () { say(t.tFailed); })
      .then(function () { button.disabled = false; });
  }

  function disable(button) {
    button.disabled = true;
    worker().then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) return;
      var endpoint = subscription.endpoint;
      return subscription.unsubscribe().then(function () {
        return send("DELETE", t.subscriptionsUrl, { endpoint: endpoint });
      });
    }).then(function () {
      show("off");
      say(t.tOff);
    }).catch(function () { say(t.tFailed); })
      .then(function () { button.disabled = false; });
  }

  function test(button) {
    button.disabled = true;
    say(t.tWorking);
    // The server queues the test; the reminder worker sends it like any reminder.
    send("POST", t.testUrl).then(function (result) {
      say(result.queued ? t.tTestSent : t.tTestFailed);
    }).catch(function (error) {
      say(error.message === "HTTP 429" ? t.tTestLimited : t.tTestFailed);
    })
      .then(function () { button.disabled = false; });
  }

  // What this browser can do, and whether it is already subscribed.
  function start() {
    if (!supported()) {
      show(isIOS() && !installed() ? "ios" : "unsupported");
      return;
    }
    if (Notification.permission === "denied") { show("denied"); return; }
    if (Notification.permission !== "granted") { show("off"); return; }
    navigator.serviceWorker.ready.then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      show(subscription ? "on" : "off");
      // Subscribed here but unknown to the server (it was pruned, or the link was reopened):
      // store it again, quietly.
      if (subscription && t.devices === "0") {
        return send("POST", t.subscriptionsUrl, subscription.toJSON());
      }
    }).catch(function () { /* the card keeps its "off" state */ });
  }

  card.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) return;
    var action = button.dataset.action;
    if (action === "enable") enable(button);
    else if (action === "disable") disable(button);
    else if (action === "test") test(button);
  });

  start();
})();
