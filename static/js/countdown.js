// Live countdowns on Today: each .countdown carries its end instant (data-until, ISO 8601 with
// offset); the texts come translated from the page (data-t-* on the section), so this file
// holds no words of its own. The server renders the first value, so nothing shifts on load.
(function () {
  "use strict";
  var section = document.querySelector("[data-t-left]");
  if (!section) return;
  var t = section.dataset;

  function fill(template, values) {
    return template.replace(/%\((\w+)\)[sd]/g, function (_, name) { return values[name]; });
  }

  function duration(seconds) {
    var minutes = Math.max(0, Math.floor(seconds / 60));
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    if (days >= 2) return fill(t.tDays, { d: days, h: hours });
    if (days || hours) return fill(t.tHours, { h: days * 24 + hours, m: mins });
    return fill(t.tMinutes, { m: mins });
  }

  function tick() {
    var now = Date.now();
    section.querySelectorAll(".countdown[data-until]").forEach(function (el) {
      var left = (Date.parse(el.dataset.until) - now) / 1000;
      var text = left <= 0 ? t.tDone : fill(t.tLeft, { left: duration(left) });
      if (el.textContent !== text) el.textContent = text;
      el.closest(".item").classList.toggle("over", left <= 0);
    });
  }

  tick();
  setInterval(tick, 20000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) tick();
  });
})();
