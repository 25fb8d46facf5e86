"""Local dates and times for people, in the instant's own zone and the current locale."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from babel import Locale
from babel.dates import format_datetime, format_interval, match_skeleton
from flask_babel import get_locale, gettext

from meso.reminder_texts import Wording


def lang_tag() -> str:
    """The current locale as an HTML/manifest language tag: 'en-GB'."""
    return str(get_locale()).replace("_", "-")


def _fmt(instant: datetime | date, skeleton: str) -> str:
    # The instant already carries the patient's zone; Flask-Babel's helpers would convert it
    # to the app's zone instead, so Babel is called directly.
    tzinfo = getattr(instant, "tzinfo", None)
    locale = get_locale()
    return format_datetime(instant, pattern(str(locale), skeleton), tzinfo=tzinfo, locale=locale)


@cache
def pattern(locale: str, skeleton: str) -> str:
    """The locale's pattern for a skeleton ('EEEHm' → 'EEE HH:mm'), found once per locale.

    What babel.dates.format_skeleton does on every call: matching a skeleton the locale does
    not list against all those it does cost more than the rest of a date's formatting.
    """
    skeletons = Locale.parse(locale).datetime_skeletons
    return str(skeletons[skeleton if skeleton in skeletons
                         else match_skeleton(skeleton, skeletons)].pattern)


def weekday_time(instant: datetime) -> str:
    """'Thu 14:00'."""
    return _fmt(instant, "EEEHm")


def when(instant: datetime) -> str:
    """'Thu 26 Nov, 14:00' (joined the locale's way)."""
    pattern = str(get_locale().datetime_formats["short"])
    return pattern.replace("{1}", day_month(instant)).replace("{0}", clock(instant))


def day_month(instant: datetime | date) -> str:
    """'Thu 26 Nov'."""
    return _fmt(instant, "MMMEd")


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


def duration(seconds: float) -> str:
    """'2 days 3 h', '5 h 20 min', '12 min': how long until something ends, for a countdown.

    static/js/countdown.js renders the same shapes from the same texts (data-t-* attributes).
    """
    minutes = max(0, int(seconds // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 2:
        return gettext("%(d)s days %(h)s h", d=days, h=hours)
    if days or hours:
        return gettext("%(h)s h %(m)s min", h=days * 24 + hours, m=mins)
    return gettext("%(m)s min", m=mins)


def wording() -> Wording:
    """Return the current locale's wording for the pure text renderers (reminder_texts)."""
    return Wording(locale=str(get_locale()), gettext=gettext)
