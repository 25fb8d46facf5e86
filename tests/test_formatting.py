"""Dates a patient cannot misread (issue 15): a weekday alone only for today and tomorrow, the
day and month otherwise; time left in days and weeks, hours and minutes only in the last day.
static/js/countdown.js renders the same shapes (tests/test_today_browser.py checks it live)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from meso import formatting
from meso.formatting import moment, time_left

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")


def rome(*args) -> datetime:
    return datetime(*args, tzinfo=ROME)


@pytest.fixture(autouse=True)
def request_context(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize(("instant", "now", "said"), [
    (rome(2026, 11, 29, 23, 0), rome(2026, 11, 29, 21, 0), "tonight 23:00"),
    (rome(2026, 11, 29, 18, 0), rome(2026, 11, 29, 9, 0), "tonight 18:00"),
    (rome(2026, 11, 29, 14, 0), rome(2026, 11, 29, 9, 0), "today 14:00"),
    (rome(2026, 11, 29, 19, 0), rome(2026, 11, 29, 21, 0), "today 19:00"),  # past: not tonight
    (rome(2026, 11, 30, 14, 0), rome(2026, 11, 29, 21, 0), "tomorrow 14:00"),
    (rome(2026, 11, 30, 0, 30), rome(2026, 11, 29, 23, 50), "tomorrow 00:30"),
    (rome(2026, 12, 1, 14, 0), rome(2026, 11, 29, 21, 0), "Tue 1 Dec, 14:00"),
    (rome(2026, 11, 28, 14, 0), rome(2026, 11, 29, 21, 0), "Sat 28 Nov, 14:00"),
])
def test_a_moment_names_today_and_tomorrow_and_dates_the_rest(instant, now, said):
    assert moment(instant, now) == said


def test_two_sundays_a_week_apart_read_differently():
    """Exfoliants end on Sun 6 Dec, retinol on Sun 13 Dec: never both "Sun 14:00"."""
    session = rome(2026, 11, 29, 14, 0)
    evening = rome(2026, 11, 29, 21, 0)
    exfoliants, retinol = session + timedelta(days=7), session + timedelta(days=14)
    assert moment(exfoliants, evening) == "Sun 6 Dec, 14:00"
    assert moment(retinol, evening) == "Sun 13 Dec, 14:00"
    assert (time_left(exfoliants, evening), time_left(retinol, evening)) == (
        "in 7 days", "in 2 weeks")


@pytest.mark.parametrize(("left", "said"), [
    (timedelta(seconds=20), "in 1 min"),
    (timedelta(minutes=12), "in 12 min"),
    (timedelta(minutes=59, seconds=1), "in 1 h"),
    (timedelta(hours=5), "in 5 h"),
    (timedelta(hours=5, minutes=20), "in 5 h 20 min"),
    (timedelta(hours=23, minutes=59), "in 23 h 59 min"),
])
def test_time_left_in_hours_and_minutes_only_in_the_last_day(left, said):
    now = rome(2026, 11, 29, 21, 0)
    assert time_left(now + left, now) == said


@pytest.mark.parametrize(("now", "until", "said"), [
    # 41 hours, but two calendar days: agrees with "Tue 1 Dec" beside it.
    (rome(2026, 11, 29, 21, 0), rome(2026, 12, 1, 14, 0), "in 2 days"),
    # 30 hours, the next calendar day.
    (rome(2026, 11, 29, 8, 0), rome(2026, 11, 30, 14, 0), "in 1 day"),
    (rome(2026, 11, 29, 21, 0), rome(2026, 12, 12, 14, 0), "in 13 days"),
    (rome(2026, 11, 29, 21, 0), rome(2026, 12, 13, 14, 0), "in 2 weeks"),
    (rome(2026, 11, 29, 21, 0), rome(2026, 12, 18, 14, 0), "in 3 weeks"),  # 19 days
    (rome(2026, 11, 29, 21, 0), rome(2027, 2, 27, 14, 0), "in 13 weeks"),  # 90 days
])
def test_time_left_in_days_then_weeks(now, until, said):
    assert time_left(until, now) == said


def test_the_end_of_october_dst_change_in_rome():
    """Clocks go back at 03:00 on Sun 25 Oct 2026: a 48-hour window from Fri 10:00 ends at
    09:00 on the Sunday's wall clock, and the Saturday reads it as tomorrow."""
    session = rome(2026, 10, 23, 10, 0)
    ends = (session.astimezone(UTC) + timedelta(hours=48)).astimezone(ROME)
    saturday_morning = rome(2026, 10, 24, 10, 0)
    assert moment(ends, saturday_morning) == "tomorrow 09:00"
    # Exactly 24 real hours away, across the change: one calendar day.
    assert time_left(ends, saturday_morning) == "in 1 day"
    # Late on the Saturday: 10 real hours to go, though the wall clock says 9.
    late = rome(2026, 10, 24, 23, 0)
    assert time_left(ends, late) == "in 11 h"
    assert moment(ends, rome(2026, 10, 22, 12, 0)) == "Sun 25 Oct, 09:00"


def test_a_moment_is_said_on_the_instants_own_wall_clock():
    """The patient's zone decides "today" and "tomorrow", not the server's or UTC."""
    until = datetime(2026, 11, 30, 4, 0, tzinfo=UTC).astimezone(NEW_YORK)  # 23:00 on the 29th
    now = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 20:00 in New York, already the 30th in UTC
    assert moment(until, now) == "tonight 23:00"
    assert formatting.calendar_days(now, until) == 0


def test_week_of_a_session_not_booked():
    assert formatting.week_of(rome(2026, 12, 20, 10, 0)) == "week of 20 Dec"


def test_the_countdown_texts_carry_their_placeholders_and_plural_forms():
    texts = formatting.countdown_texts()
    assert texts["tomorrow"] == "tomorrow %(time)s"
    assert texts["hmin"] == "in %(h)s h %(m)s min"
    assert (texts["day-one"], texts["day-other"]) == ("in %(num)d day", "in %(num)d days")
    assert (texts["week-one"], texts["week-other"]) == ("in %(num)d week", "in %(num)d weeks")


def test_times_follow_the_locales_clock():
    assert formatting.time_label(time(21, 0)) == "21:00"
    with force_locale("en_US"):
        assert formatting.time_label(time(21, 0)) == "9:00\u202fPM"
