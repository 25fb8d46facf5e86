"""A clinic's weekly opening hours, and whether it is open at an instant. Pure.

Stored on ClinicSettings.opening_hours as JSON: a list of seven days, Monday first, each
``None`` (closed all day) or ``["09:00", "19:00"]`` (open from, closed at; on the clinic's wall
clock, closing after opening, the same day). ``None`` for the whole week means the clinic has
not said: then nobody is told it is closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

# One interval per day: enough for a clinic's front desk, and one row per day in the form.
Day = tuple[time, time] | None
Week = tuple[Day, ...]
DAYS = 7


def parse(value: Any) -> Week | None:
    """The stored JSON as a week, or None when nothing (or nothing readable) is stored."""
    if not isinstance(value, list) or len(value) != DAYS:
        return None
    week: list[Day] = []
    for day in value:
        if day is None:
            week.append(None)
            continue
        try:
            opens, closes = (time.fromisoformat(part) for part in day)
        except (TypeError, ValueError):
            return None
        week.append((opens, closes) if opens < closes else None)
    return tuple(week)


def dump(week: Sequence[Day]) -> list[list[str] | None] | None:
    """A week as stored; None when every day is closed (the clinic gave no hours)."""
    if len(week) != DAYS:
        raise ValueError("a week has seven days")
    days: list[list[str] | None] = []
    for day in week:
        if day is not None and not day[0] < day[1]:
            raise ValueError("a day closes after it opens")
        days.append(None if day is None else [day[0].strftime("%H:%M"), day[1].strftime("%H:%M")])
    return None if all(day is None for day in days) else days


def is_open(week: Week, at: datetime) -> bool:
    """Whether the clinic is open at ``at`` (aware, on the clinic's wall clock)."""
    day = week[at.weekday()]
    return day is not None and day[0] <= at.time().replace(tzinfo=None) < day[1]


def next_opening(week: Week, at: datetime) -> datetime | None:
    """When the clinic next opens after ``at`` (aware, in its zone); None if it never does."""
    for ahead in range(DAYS + 1):
        date = at.date() + timedelta(days=ahead)
        day = week[date.weekday()]
        if day is None:
            continue
        opens = datetime.combine(date, day[0], at.tzinfo)
        if opens > at:
            return opens
    return None


def next_boundary(week: Week, at: datetime) -> datetime | None:
    """The next instant after ``at`` at which the clinic opens or closes; None if never."""
    for ahead in range(DAYS + 1):
        date = at.date() + timedelta(days=ahead)
        day = week[date.weekday()]
        if day is None:
            continue
        for moment in day:
            instant = datetime.combine(date, moment, at.tzinfo)
            if instant > at:
                return instant
    return None
