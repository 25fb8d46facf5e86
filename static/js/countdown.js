// Live "until when" on Today: each row of what to avoid carries its end instant (data-until,
// ISO 8601 with offset), and this keeps its words true as time passes, in the copy the phone
// keeps offline too. The same shapes as meso/formatting.py's moment() and time_left():
// "tonight 21:00", "today 14:00", "tomorrow 14:00", else the date the server wrote; "in 2
// days", "in 2 weeks", hours and minutes only in the last 24 hours. Days are calendar days in
// the patient's zone (data-zone). Texts come translated from the page (data-t-* on the
// section), so this file holds no words of its own. The server renders the first values, so
// nothing shifts on load.
import { texts } from "./common.js";

const TICK_MS = 20000;
const DAY_MS = 24 * 60 * 60 * 1000;
const WEEKS_FROM_DAYS = 14;

// "in %(h)s h %(m)s min" with its placeholders filled, as Python's %-formatting would.
const fill = (template, values) =>
  template.replace(/%\((\w+)\)[sd]/g, (_, name) => values[name]);

const section = document.querySelector("#avoid[data-zone]");

// The calendar day of an instant in the patient's zone, as a day number (days since 1970).
const dayNumber = (zone, ms) => {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
  }).formatToParts(new Date(ms));
  const part = (type) => Number(parts.find((p) => p.type === type).value);
  return Math.round(Date.UTC(part("year"), part("month") - 1, part("day")) / DAY_MS);
};

const hourIn = (zone, ms) => Number(new Intl.DateTimeFormat("en-GB", {
  timeZone: zone, hour: "2-digit", hourCycle: "h23",
}).format(new Date(ms)));

// The plural text for n ("day" or "week"), by the language's plural rules.
const plural = (t, unit, n) => {
  const category = new Intl.PluralRules(document.documentElement.lang || "en").select(n);
  const key = unit + category[0].toUpperCase() + category.slice(1);
  return fill(t[key] ?? t[`${unit}Other`], { num: n });
};

const timeLeft = (t, zone, until, now) => {
  const seconds = (until - now) / 1000;
  if (seconds < 24 * 3600) {
    const minutes = Math.max(1, Math.ceil(seconds / 60));
    const hours = Math.floor(minutes / 60);
    const mins = minutes % 60;
    if (!hours) return fill(t.min, { m: mins });
    if (!mins) return fill(t.h, { h: hours });
    return fill(t.hmin, { h: hours, m: mins });
  }
  const days = dayNumber(zone, until) - dayNumber(zone, now);
  if (days < WEEKS_FROM_DAYS) return plural(t, "day", days);
  return plural(t, "week", Math.round(days / 7));
};

const moment = (t, zone, evening, el, until, now) => {
  const days = dayNumber(zone, until) - dayNumber(zone, now);
  const time = el.dataset.clock;
  if (days === 0) {
    return until >= now && hourIn(zone, until) >= evening
      ? fill(t.tonight, { time }) : fill(t.today, { time });
  }
  if (days === 1) return fill(t.tomorrow, { time });
  return el.dataset.date;
};

const tick = (t) => {
  const now = Date.now();
  const zone = section.dataset.zone;
  const evening = Number(section.dataset.evening);
  section.querySelectorAll(".until-row[data-until]").forEach((row) => {
    const until = Date.parse(row.dataset.until);
    const over = until <= now;
    const countdown = row.querySelector(".countdown");
    const text = over ? t.done : timeLeft(t, zone, until, now);
    if (countdown && countdown.textContent !== text) countdown.textContent = text;
    const when = row.querySelector("time.moment");
    if (when) {
      const said = moment(t, zone, evening, when, until, now);
      if (when.textContent !== said) when.textContent = said;
    }
    row.classList.toggle("over", over);
  });
};

if (section) {
  const t = texts(section);
  tick(t);
  setInterval(() => tick(t), TICK_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) tick(t);
  });
}
