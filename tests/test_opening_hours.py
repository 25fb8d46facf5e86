"""A clinic's weekly opening hours (meso/opening_hours.py), pure: stored, read, open or not."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from meso import opening_hours

ROME = ZoneInfo("Europe/Rome")
WEEKDAYS = [["09:00", "19:00"]] * 5 + [["09:00", "13:00"], None]  # Mon-Fri, Sat morning


def test_a_week_round_trips_and_an_empty_one_is_none():
    week = opening_hours.parse(WEEKDAYS)
    assert week is not None
    assert week[0] == (time(9), time(19)) and week[6] is None
    assert opening_hours.dump(week) == WEEKDAYS
    assert opening_hours.dump((None,) * 7) is None
    with pytest.raises(ValueError, match="closes after it opens"):
        opening_hours.dump(((time(19), time(9)),) + (None,) * 6)


@pytest.mark.parametrize("stored", [None, [], "09-19", [["09:00", "19:00"]] * 6,
                                    [["nine", "seven"]] * 7])
def test_anything_else_stored_reads_as_no_hours(stored):
    assert opening_hours.parse(stored) is None


@pytest.mark.parametrize(("at", "open_now", "opens"), [
    (datetime(2026, 11, 30, 10, 0, tzinfo=ROME), True, None),  # Monday morning
    (datetime(2026, 11, 30, 19, 0, tzinfo=ROME), False, datetime(2026, 12, 1, 9, 0)),  # closing
    (datetime(2026, 11, 30, 8, 59, tzinfo=ROME), False, datetime(2026, 11, 30, 9, 0)),
    (datetime(2026, 12, 5, 14, 0, tzinfo=ROME), False, datetime(2026, 12, 7, 9, 0)),  # Sat pm
    (datetime(2026, 11, 29, 21, 0, tzinfo=ROME), False, datetime(2026, 11, 30, 9, 0)),  # Sunday
])
def test_open_now_and_when_it_opens_next(at, open_now, opens):
    week = opening_hours.parse(WEEKDAYS)
    assert week is not None
    assert opening_hours.is_open(week, at) is open_now
    if not open_now:
        assert opening_hours.next_opening(week, at) == opens.replace(tzinfo=ROME)


def test_a_clinic_never_open_never_opens():
    week = opening_hours.parse([None] * 7)
    assert week is not None
    assert opening_hours.next_opening(week, datetime(2026, 11, 30, 10, tzinfo=ROME)) is None


@pytest.mark.parametrize(("at", "boundary"), [
    (datetime(2026, 11, 30, 10, 0, tzinfo=ROME), datetime(2026, 11, 30, 19, 0)),  # closes
    (datetime(2026, 11, 30, 19, 0, tzinfo=ROME), datetime(2026, 12, 1, 9, 0)),  # opens
    (datetime(2026, 12, 5, 12, 0, tzinfo=ROME), datetime(2026, 12, 5, 13, 0)),  # Sat noon
    (datetime(2026, 12, 5, 14, 0, tzinfo=ROME), datetime(2026, 12, 7, 9, 0)),  # Monday
])
def test_the_next_opening_or_closing(at, boundary):
    week = opening_hours.parse(WEEKDAYS)
    assert week is not None
    assert opening_hours.next_boundary(week, at) == boundary.replace(tzinfo=ROME)
