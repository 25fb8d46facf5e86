"""Local dates and times for people, in the instant's own zone and the current locale."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

from babel.dates import format_datetime, format_interval, format_time
from flask_babel import get_locale, get_translations, gettext

from meso.protocol_base import duration_words
from meso.reminder_texts import Wording, short_datetime, skeleton_pattern


def lang_tag() -> str:
    """The current locale as an HTML/manifest language tag: 'en-GB'."""
    return str(get_locale()).replace("_", "-")


def _fmt(instant: datetime | date, skeleton: str) -> str:
    # The instant already carries the patient's zone; Flask-Babel's helpers would convert it
    # to the app's zone instead, so Babel is called directly.
    tzinfo = getattr(instant, "tzinfo", None)
    locale = get_locale()
    return format_datetime(instant, pattern(str(locale), skeleton), tzinfo=tzinfo, locale=locale)


# The locale's pattern for a skeleton, found once per locale and skeleton (reminder_texts).
pattern = skeleton_pattern


def weekday_time(instant: datetime) -> str:
    """'Thu 14:00'."""
    return _fmt(instant, "EEEHm")


def when(instant: datetime) -> str:
    """'Thu 26 Nov, 14:00' (joined the locale's way)."""
    joined = short_datetime(str(get_locale()))
    return joined.replace("{1}", day_month(instant)).replace("{0}", clock(instant))


def day_month(instant: datetime | date) -> str:
    """'Thu 26 Nov'."""
    return _fmt(instant, "MMMEd")


def full_day(instant: datetime | date) -> str:
    """'Sunday 13 December 2026': a date to confirm, where nothing may be guessed."""
    return _fmt(instant, "yMMMMEEEEd")


def window_words(hours: int) -> str:
    """'2 days', '36 hours': a restriction window stored in hours, as staff read it."""
    return duration_words(timedelta(hours=hours), str(get_locale()))


def day_short(instant: datetime | date) -> str:
    """'19 Dec': a date weeks away, where a weekday would be one more thing to read."""
    return _fmt(instant, "MMMd")


def day_range(first: date, last: date, weekday: bool = True) -> str:
    """'Mon 23 Nov - Thu 26 Nov', or '15-19 Nov' without the weekdays (with an en dash): the
    locale's way of joining two days, naming a shared month or year once where it does."""
    return format_interval(first, last, "MMMEd" if weekday else "MMMd", locale=get_locale())


def week_of(instant: datetime | date) -> str:
    """'week of 20 Dec': a session the clinic has not booked yet, so no day is promised."""
    return gettext("week of %(date)s", date=day_short(instant))


def clock(instant: datetime) -> str:
    """'14:00'."""
    return _fmt(instant, "Hm")


# From this hour on, an instant later today reads "tonight" (a patient's evening after a session).
EVENING_HOUR = 18
# Time left is told in hours and minutes only within this last stretch; before, in days.
HOURS_AND_MINUTES_WITHIN = timedelta(hours=24)
# From this many days on, time left is told in weeks.
WEEKS_FROM_DAYS = 14


def moment(instant: datetime, now: datetime) -> str:
    """When something happens, in words that cannot be misread: 'tonight 21:00', 'today
    14:00', 'tomorrow 14:00' for today and tomorrow in the instant's zone, otherwise the day
    and month, 'Sun 13 Dec, 14:00'. A weekday alone never names a day: two Sundays a week
    apart must read differently.

    static/js/countdown.js picks among the same shapes as the clock moves (data-t-* texts).
    """
    days = calendar_days(now, instant)
    if days == 0:
        if instant.astimezone(UTC) >= now.astimezone(UTC) and instant.hour >= EVENING_HOUR:
            return _tonight(clock(instant))
        return _today(clock(instant))
    if days == 1:
        return _tomorrow(clock(instant))
    return when(instant)


def time_left(instant: datetime, now: datetime) -> str:
    """How long until ``instant``, in words: 'in 2 days', 'in 2 weeks'; hours and minutes
    only in the last 24 hours ('in 5 h 20 min', 'in 12 min'). Days are calendar days in the
    instant's zone, so 'in 2 days' agrees with the date beside it, across a DST change too.

    static/js/countdown.js renders the same shapes from the same texts (data-t-* attributes).
    """
    # In UTC: two instants of one zone would otherwise subtract as wall clocks, an hour off
    # across a DST change.
    seconds = (instant.astimezone(UTC) - now.astimezone(UTC)).total_seconds()
    if seconds < HOURS_AND_MINUTES_WITHIN.total_seconds():
        minutes = max(1, math.ceil(seconds / 60))
        hours, mins = divmod(minutes, 60)
        if not hours:
            return _in_minutes(str(mins))
        if not mins:
            return _in_hours(str(hours))
        return _in_hours_minutes(str(hours), str(mins))
    days = calendar_days(now, instant)
    if days < WEEKS_FROM_DAYS:
        return _in_days(days) % {"num": days}
    weeks = round(days / 7)
    return _in_weeks(weeks) % {"num": weeks}


# Each text once, here; the page hands the same ones to static/js/countdown.js with their
# placeholders left in (countdown_texts).
def _tonight(time: str) -> str:
    return gettext("tonight %(time)s", time=time)


def _today(time: str) -> str:
    return gettext("today %(time)s", time=time)


def _tomorrow(time: str) -> str:
    return gettext("tomorrow %(time)s", time=time)


def _in_minutes(m: str) -> str:
    return gettext("in %(m)s min", m=m)


def _in_hours(h: str) -> str:
    return gettext("in %(h)s h", h=h)


def _in_hours_minutes(h: str, m: str) -> str:
    return gettext("in %(h)s h %(m)s min", h=h, m=m)


def _in_days(n: int) -> str:
    """The plural form for ``n`` days, its %(num)d placeholder still in."""
    return get_translations().ngettext("in %(num)d day", "in %(num)d days", n)


def _in_weeks(n: int) -> str:
    return get_translations().ngettext("in %(num)d week", "in %(num)d weeks", n)


def countdown_texts() -> dict[str, str]:
    """The texts of moment() and time_left() with their placeholders in, for the page's
    data-t-* attributes: countdown.js fills them as the clock moves. Plurals come once per
    CLDR category of the locale ('day-one', 'day-other'...), which the script picks with
    Intl.PluralRules."""
    texts = {
        "tonight": _tonight("%(time)s"), "today": _today("%(time)s"),
        "tomorrow": _tomorrow("%(time)s"), "min": _in_minutes("%(m)s"),
        "h": _in_hours("%(h)s"), "hmin": _in_hours_minutes("%(h)s", "%(m)s"),
        "done": gettext("OK now"),
    }
    locale = get_locale()
    for n in range(200):
        category = locale.plural_form(n)
        texts.setdefault(f"day-{category}", _in_days(n))
        texts.setdefault(f"week-{category}", _in_weeks(n))
    return texts


def calendar_days(now: datetime, instant: datetime) -> int:
    """Local calendar days from ``now`` to ``instant``, on the instant's own wall clock."""
    return (instant.date() - now.astimezone(instant.tzinfo).date()).days


def time_label(value: time) -> str:
    """A time of day as the locale writes it: '21:00' (en-GB), '9:00 PM' (en-US)."""
    return format_time(value, "short", locale=get_locale())


def wording() -> Wording:
    """Return the current locale's wording for the pure text renderers (reminder_texts)."""
    return Wording(locale=str(get_locale()), gettext=gettext)
