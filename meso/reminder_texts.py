"""The words of a reminder: a rule's text with the instants and durations of the windows in
force, in the patient's zone and language. Pure: translation comes in as a function.

One renderer for every face: the worker's push message, `reminders preview` and the staff
page's "what this patient will receive" all call ``render``, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import cache

from babel import Locale
from babel.dates import format_datetime, match_skeleton

from meso import protocol as p


@dataclass(frozen=True)
class Wording:
    """How texts become words: the locale and its gettext (Flask-Babel's in the app)."""

    locale: str = "en_GB"  # the app's default (config.py): 24-hour clock, day before month
    gettext: Callable[[str], str] = p.N_

    def local(self, instant: datetime, skeleton: str) -> str:
        return format_datetime(instant, skeleton_pattern(self.locale, skeleton),
                               tzinfo=instant.tzinfo, locale=self.locale)

    def when(self, instant: datetime, seen_at: datetime) -> str:
        """'Thu 14:00' within the week after ``seen_at``; further out 'Fri 4 Dec, 14:00'."""
        if timedelta(0) <= instant - seen_at < timedelta(days=6):
            return self.local(instant, "EEEHm")
        return short_datetime(self.locale).replace("{1}", self.local(instant, "MMMEd")).replace(
            "{0}", self.local(instant, "Hm"))


ENGLISH = Wording()


@cache
def short_datetime(locale: str) -> str:
    """How the locale joins a date ({1}) and a time ({0}): '{1}, {0}' (once per locale)."""
    return str(Locale.parse(locale).datetime_formats["short"])


@cache
def skeleton_pattern(locale: str, skeleton: str) -> str:
    """The locale's pattern for a skeleton ('EEEHm' → 'EEE HH:mm'), found once per locale.

    What babel.dates.format_skeleton does on every call: matching a skeleton the locale does
    not list against all those it does cost more than the rest of a date's formatting.
    """
    skeletons = Locale.parse(locale).datetime_skeletons
    return str(skeletons[skeleton if skeleton in skeletons
                         else match_skeleton(skeleton, skeletons)].pattern)


def text_params(start: datetime, ends: Mapping[str, datetime], zone: tzinfo) -> dict:
    """Return the instants a reminder's text may name, local to the patient."""
    return {
        "heat_until": ends["heat"].astimezone(zone),
        "sun_until": ends["sun"].astimezone(zone),
        "exfoliants_until": ends["exfoliants"].astimezone(zone),
        "retinol_until": ends["vitamin_a"].astimezone(zone),
        "acids_until": ends["acids_peels"].astimezone(zone),
        # Texts naming retinol and acids together: the later end is the safe one.
        "vitamin_a_until": max(ends["vitamin_a"], ends["acids_peels"]).astimezone(zone),
        "session_day": start.astimezone(zone),
        "session_time": start.astimezone(zone),
    }


def what_it_says(rule: p.ReminderRule, start: datetime, protocol: p.Protocol, zone: tzinfo,
                 at: datetime) -> tuple[dict, bool]:
    """Return what a rule's text says when it speaks at ``at``: the instants it names, and
    whether its "still" sentence holds (a window it mentions is still running).

    The schedule asks when it plans a reminder; the renderer asks again when it is sent.
    """
    ends = protocol.window_ends(start)
    return text_params(start, ends, zone), any(ends[key] > at for key in rule.still_open)


def text_values(start: datetime, protocol: p.Protocol, zone: tzinfo,
                wording: Wording = ENGLISH, seen_at: datetime | None = None) -> dict[str, str]:
    """Return every value a text may name, as words: instants and window lengths.

    Instants read as 'Thu 14:00' when they fall in the week after ``seen_at`` (when the
    reminder arrives), else with their date: a weekday alone would be ambiguous.
    """
    seen_at = seen_at or start
    values = {}
    for name, instant in text_params(start, protocol.window_ends(start), zone).items():
        if name == "session_time":
            values[name] = wording.local(instant, "Hm")  # '10:00'
        elif name == "session_day":
            values[name] = wording.local(instant, "MMMEd")  # 'Fri 11 Dec'
        else:
            values[name] = wording.when(instant, seen_at)
    for key, window in protocol.windows.items():
        values[f"{key}_window"] = p.duration_words(window, wording.locale)  # '7 days'
    return values


def render(rule: p.ReminderRule, categories: tuple[str, ...], start: datetime,
           fire_at: datetime, protocol: p.Protocol, zone: tzinfo, discreet: bool = False,
           wording: Wording = ENGLISH) -> tuple[str, str]:
    """Return (title, body) of a rule's reminder for the session starting at ``start``.

    ``categories`` (those the patient has on) choose the text variant; its "still" sentence
    is added while a window it names is still running at ``fire_at``.
    """
    values = text_values(start, protocol, zone, wording, fire_at)
    text = rule.texts[categories]
    say = wording.gettext
    if discreet:
        title, body = say(p.DISCREET_TITLE), say(text.discreet_body) % values
    else:
        title, body = say(text.title) % values, say(text.body) % values
    _, still = what_it_says(rule, start, protocol, zone, fire_at)
    if text.still and still:
        body = f"{body} {say(text.still) % values}"
    return title, body
