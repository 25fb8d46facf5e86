// Live countdowns on Today: each .countdown carries its end instant (data-until, ISO 8601 with
// offset); the texts come translated from the page (data-t-* on the section), so this file
// holds no words of its own. The server renders the first value, so nothing shifts on load.
import { texts } from "./common.js";

const TICK_MS = 20000;

// "%(left)s left" with its placeholders filled, as Python's %-formatting would.
const fill = (template, values) =>
  template.replace(/%\((\w+)\)[sd]/g, (_, name) => values[name]);

// The same shapes as meso/formatting.py's duration(): days and hours, hours and minutes, minutes.
const duration = (t, seconds) => {
  const minutes = Math.max(0, Math.floor(seconds / 60));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days >= 2) return fill(t.days, { d: days, h: hours });
  if (days || hours) return fill(t.hours, { h: days * 24 + hours, m: mins });
  return fill(t.minutes, { m: mins });
};

const tick = (section, t) => {
  const now = Date.now();
  section.querySelectorAll(".countdown[data-until]").forEach((el) => {
    const left = (Date.parse(el.dataset.until) - now) / 1000;
    const text = left <= 0 ? t.done : fill(t.left, { left: duration(t, left) });
    if (el.textContent !== text) el.textContent = text;
    el.closest(".item").classList.toggle("over", left <= 0);
  });
};

const section = document.querySelector("[data-t-left]");
if (section) {
  const t = texts(section);
  tick(section, t);
  setInterval(() => tick(section, t), TICK_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) tick(section, t);
  });
}
