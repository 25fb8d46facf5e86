// Meso aftercare on every page: the service worker, the offline note, install guidance and the
// daily check-in, which is kept on the phone while offline and sent exactly once when the
// network is back. Every text comes from the page (data-t-* attributes): no words live here.
(function () {
  "use strict";

  var QUEUE_KEY = "meso.checkins";  // localStorage: check-ins not yet accepted by the server
  var IOS_HINT_KEY = "meso.iosHint";  // "dismissed" once the patient closed the iOS hint
  var UPDATE_EVERY_MS = 60 * 60 * 1000;

  var store = localStore();
  var card = null;  // the check-in card on Today (other pages only send the queue)
  var form = null;  // its form
  var submittedHere = null;  // the key of the check-in sent from this page, if any
  var flushing = false;

  serviceWorker();
  offlineNote();
  installGuidance();
  checkins();

  // -- Service worker ------------------------------------------------------------------------

  function serviceWorker() {
    if (!("serviceWorker" in navigator)) return;
    var sw = navigator.serviceWorker;
    // A new worker takes control (static/sw.js skips waiting): reload once, so the page runs
    // on the new shell. Not on the first install (nothing was stale), and not in the middle
    // of a check-in (its next page load is new anyway: pages always come from the network).
    var wasControlled = Boolean(sw.controller);
    var reloading = false;
    sw.addEventListener("controllerchange", function () {
      if (!wasControlled) { wasControlled = true; return; }
      if (reloading || checkinStarted()) return;
      reloading = true;
      location.reload();
    });
    // A patient page the worker did not see (the very first visit) is not stored yet.
    var unseen = !sw.controller && document.querySelector(".offline-note");
    window.addEventListener("load", function () {
      sw.register("/sw.js", { scope: "/" }).then(function (registration) {
        if (unseen) {
          sw.ready.then(function (ready) { ready.active.postMessage("store-pages"); });
        }
        // An installed app can stay open for days: look for a new version now and then.
        var checked = Date.now();
        document.addEventListener("visibilitychange", function () {
          if (document.hidden || Date.now() - checked < UPDATE_EVERY_MS) return;
          checked = Date.now();
          registration.update().catch(function () {});
        });
      }).catch(function () {
        // No worker (private mode, old browser): the site still works, only not offline.
      });
    });
  }

  // -- Offline note ---------------------------------------------------------------------------

  function offlineNote() {
    var note = document.querySelector(".offline-note");
    if (!note) return;
    // The note says "updated at 14:05"; a copy from an earlier day must say which day.
    var rendered = new Date(note.dataset.renderedAt);
    if (rendered.toDateString() !== new Date().toDateString()) {
      note.querySelector(".offline-text").textContent = note.dataset.tEarlier;
    }
    function update() { note.classList.toggle("offline", navigator.onLine === false); }
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
    update();
  }

  // -- Install guidance -----------------------------------------------------------------------

  function installGuidance() {
    var offerCard = document.getElementById("install");
    var hint = document.getElementById("ios-hint");
    if (!offerCard || !hint || installed()) return;
    var offer = null;
    window.addEventListener("beforeinstallprompt", function (event) {
      event.preventDefault();  // our own button, on our card, instead of the browser's bar
      offer = event;
      offerCard.hidden = false;
    });
    document.getElementById("install-button").addEventListener("click", function () {
      if (!offer) return;
      offer.prompt();
      Promise.resolve(offer.userChoice).then(function () { offerCard.hidden = true; });
      offer = null;
    });
    window.addEventListener("appinstalled", function () {
      offerCard.hidden = hint.hidden = true;
    });
    if (isIos() && store.get(IOS_HINT_KEY) !== "dismissed") hint.hidden = false;
    document.getElementById("ios-hint-close").addEventListener("click", function () {
      store.set(IOS_HINT_KEY, "dismissed");
      hint.hidden = true;
    });
  }

  function installed() {
    return navigator.standalone === true ||
      window.matchMedia("(display-mode: standalone)").matches;
  }

  function isIos() {
    // iPadOS presents itself as a Mac with a touch screen.
    return /iPhone|iPad|iPod/.test(navigator.userAgent) ||
      (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  }

  // -- Check-ins ------------------------------------------------------------------------------

  function checkins() {
    card = document.getElementById("checkin");
    form = card && card.querySelector("form.checkin-form");
    if (form) form.addEventListener("submit", submit);
    window.addEventListener("online", flush);
    if (queue().length) say(card && card.dataset.tQueued);
    flush();
  }

  function checkinStarted() {
    return Boolean(form && !form.hidden && form.querySelector("input:checked"));
  }

  function submit(event) {
    event.preventDefault();
    var checked = form.querySelector('input[name="feeling"]:checked');
    var error = document.getElementById("feeling-error");
    error.hidden = Boolean(checked);
    form.querySelector(".feeling").classList.toggle("has-error", !checked);
    if (!checked) { form.querySelector('input[name="feeling"]').focus(); return; }
    var item = {
      owner: pageOwner(),
      key: newKey(),
      at: new Date().toISOString(),
      feeling: Number(checked.value),
      symptoms: Array.prototype.map.call(
        form.querySelectorAll('input[name="symptoms"]:checked'), function (box) { return box.value; })
    };
    // Kept first, sent second: a crash or a closed tab between the two loses nothing.
    save(queue().concat([item]));
    submittedHere = item.key;
    showForm(false);
    showGuidance(localGuidance(item, form.dataset.emergency.split(" ")));
    say(card.dataset.tSending);
    flush();
  }

  // Send every queued check-in, oldest first. Each carries its own idempotency key, so one
  // that reached the server but whose answer was lost is stored once when sent again.
  function flush() {
    // Another patient's check-ins on this phone are theirs: drop them, never send them as ours.
    var owner = pageOwner();
    if (owner && queue().some(function (item) { return item.owner !== owner; })) {
      save(queue().filter(function (item) { return item.owner === owner; }));
    }
    if (flushing || !queue().length) return;
    flushing = true;
    var item = queue()[0];
    send(item, true).then(function (outcome) {
      flushing = false;
      if (outcome === "kept") {
        say(card && (item.key === submittedHere ? card.dataset.tWaiting : card.dataset.tQueued));
        return;
      }
      save(queue().filter(function (other) { return other.key !== item.key; }));
      if (outcome === "sent" && !queue().length) say(card && card.dataset.tSent);
      flush();
    });
  }

  // Resolve with "sent", "refused" (the server will never take it) or "kept" (try later).
  function send(item, mayRenewToken) {
    return fetch("/checkins", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(item)
    }).then(function (response) {
      if (response.ok) return response.json().then(function (result) {
        if (result.key === submittedHere) showGuidance(result.guidance);
        return "sent";
      });
      if (response.status !== 400) return "kept";  // signed out, server trouble: later
      return response.json().then(function (body) {
        if (body.errors) { refused(item, body.errors); return "refused"; }
        // No field errors: the page's CSRF token is stale (an old offline copy). Renew once.
        return mayRenewToken ? renewToken().then(function () { return send(item, false); }) : "kept";
      });
    }).catch(function () { return "kept"; });  // offline, or no answer
  }

  function renewToken() {
    return fetch("/checkins/new", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var match = /<meta name="csrf-token" content="([^"]+)"/.exec(html);
        if (match) document.querySelector('meta[name="csrf-token"]').content = match[1];
      }).catch(function () {});
  }

  function pageOwner() {
    var note = document.querySelector("[data-owner]");
    return note ? note.dataset.owner : "";
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Must match protocol.checkin_guidance: any red flag means "contact your clinic".
  function localGuidance(item, emergencyFlags) {
    if (item.symptoms.some(function (s) { return emergencyFlags.indexOf(s) >= 0; })) {
      return "emergency";
    }
    if (item.symptoms.length) return "contact";
    return item.feeling <= 2 ? "low" : "ok";
  }

  function showGuidance(kind) {
    if (!card) return;
    var result = card.querySelector(".checkin-result");
    result.hidden = false;
    result.querySelectorAll("[data-guidance]").forEach(function (block) {
      var name = block.dataset.guidance;
      block.hidden = !(name === kind || (kind === "emergency" && name === "contact"));
    });
  }

  function say(text) {
    var status = card && card.querySelector(".checkin-status");
    if (status && text) status.textContent = text;
  }

  // The server will never take this one (say, a month-old copy): say why, and let the
  // patient answer again if it was sent from this page.
  function refused(item, errors) {
    say(Object.keys(errors).map(function (field) { return errors[field]; }).join(" "));
    if (item.key === submittedHere) {
      showForm(true);
      card.querySelector(".checkin-result").hidden = true;
    }
  }

  function showForm(shown) {
    form.hidden = !shown;
    var details = form.closest("details");
    if (details) details.hidden = !shown;
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  function queue() {
    try { return JSON.parse(store.get(QUEUE_KEY) || "[]"); } catch (e) { return []; }
  }

  function save(items) {
    if (items.length) store.set(QUEUE_KEY, JSON.stringify(items));
    else store.remove(QUEUE_KEY);
  }

  // localStorage, or a stand-in where it is blocked (some private modes): nothing is kept then.
  function localStore() {
    try {
      var storage = window.localStorage;
      storage.setItem("meso.test", "1");
      storage.removeItem("meso.test");
      return {
        get: function (k) { return storage.getItem(k); },
        set: function (k, v) { storage.setItem(k, v); },
        remove: function (k) { storage.removeItem(k); }
      };
    } catch (e) {
      var memory = {};
      return {
        get: function (k) { return k in memory ? memory[k] : null; },
        set: function (k, v) { memory[k] = v; },
        remove: function (k) { delete memory[k]; }
      };
    }
  }
})();
