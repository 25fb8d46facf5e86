"""The Timeline's cycles as pure functions (meso/patient/course_timeline.py): the planner's
days in, one cycle per session, rows with quiet days folded, one instant's events merged."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from meso.patient import course_timeline
from meso.recovery import Event, TimelineDay, timeline

ROME = ZoneInfo("Europe/Rome")
SESSION = datetime(2026, 11, 20, 10, 0, tzinfo=ROME)  # Fri, session 1


def course(area="face", planned=4, interval=3):
    return SimpleNamespace(area=area, timezone="Europe/Rome", planned_sessions=planned,
                           interval_weeks=interval)


def days_of(start=SESSION, **plan):
    return timeline(course(**plan), [start])


def test_moments_merge_one_instant_of_one_kind():
    at = SESSION + timedelta(hours=48)
    later = at + timedelta(hours=1)
    events = (Event("ends", at, key="heat"), Event("ends", later, key="exfoliants"),
              Event("ends", at, key="sun"), Event("starts", at, key="tanning_beds"))
    assert [(m.kind, m.at, m.keys) for m in course_timeline.moments(events)] == [
        ("ends", at, ("heat", "sun")), ("starts", at, ("tanning_beds",)),
        ("ends", later, ("exfoliants",))]


def test_two_sessions_are_never_merged():
    events = (Event("session", SESSION, number=1), Event("session", SESSION, number=2))
    assert [m.number for m in course_timeline.moments(events)] == [1, 2]


def test_cycles_one_per_session_and_today_in_the_current_one():
    today = date(2026, 12, 14)  # after session 2 (projected for Fri 11 Dec)
    cycles = course_timeline.cycles(days_of(), today)
    assert [(c.number, c.state) for c in cycles] == [
        (1, "past"), (2, "current"), (3, "future"), (4, "future")]
    assert [(c.first_day, c.last_day) for c in cycles[:2]] == [
        (date(2026, 11, 20), date(2026, 12, 10)), (date(2026, 12, 11), date(2026, 12, 31))]
    assert cycles[1].session.number == 2 and cycles[1].session.booked is False
    [today_row] = [r for c in cycles for r in c.rows if r.state == "today"]
    assert today_row in cycles[1].rows


def test_after_the_course_the_last_cycle_is_current():
    cycles = course_timeline.cycles(days_of(planned=2), date(2027, 6, 1))
    assert [c.state for c in cycles] == ["past", "current"]
    assert all(r.state == "past" for r in cycles[-1].rows)


def test_quiet_days_fold_into_one_row_even_two_of_them():
    cycle = course_timeline.cycles(days_of(), date(2026, 11, 21))[0]
    rows = [(r.first.date.day, r.last.date.day, r.state) for r in cycle.rows]
    assert rows == [
        (20, 20, "past"),  # session 1
        (21, 21, "today"),
        (22, 22, "future"),  # heat, sun, makeup OK again
        (23, 26, "future"),
        (27, 27, "future"),  # exfoliants
        (28, 3, "future"),
        (4, 4, "future"),  # retinol and acids OK again; tanning beds from then
        (5, 10, "future"),
    ]
    sunday = cycle.rows[2]
    assert [(m.kind, m.keys) for m in sunday.moments] == [("ends", ("heat", "sun", "makeup"))]


def test_quiet_days_of_different_phases_or_states_stay_apart():
    day = lambda n, phase, events=(): TimelineDay(  # noqa: E731
        date(2026, 11, 20) + timedelta(days=n), n, phase, 1, events)
    days = [day(0, "immediate"), day(1, "immediate"), day(2, "first_weeks"),
            day(3, "first_weeks"), day(4, "first_weeks"), day(5, "first_weeks")]
    [cycle] = course_timeline.cycles(days, date(2026, 11, 24))  # today: day 4
    assert [(r.first.day, r.last.day, r.state) for r in cycle.rows] == [
        (0, 1, "past"), (2, 3, "past"), (4, 4, "today"), (5, 5, "future")]


@pytest.mark.parametrize(("area", "keys"), [
    ("face", ("heat", "sun", "makeup")), ("scalp", ("heat", "sun")), ("body", ("heat", "sun"))])
def test_the_48_hour_windows_end_in_one_moment_in_every_area(area, keys):
    cycle = course_timeline.cycles(days_of(area=area), date(2026, 11, 21))[0]
    sunday = next(r for r in cycle.rows if r.first.date == date(2026, 11, 22))
    assert [m.keys for m in sunday.moments] == [keys]
