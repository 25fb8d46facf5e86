"""The phase strip and the Timeline's cycles as pure functions: the planner's output in, steps,
cycles, rows and moments out (meso/patient/phase_strip.py, meso/patient/course_timeline.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from meso import protocol
from meso.patient import course_timeline, phase_strip
from meso.recovery import Event, TimelineDay, plan_day, timeline

ROME = ZoneInfo("Europe/Rome")
SESSION = datetime(2026, 11, 20, 10, 0, tzinfo=ROME)  # Fri, session 1
DEFAULT = protocol.DEFAULT_PROTOCOL


def course(area="face", planned=4, interval=3):
    return SimpleNamespace(area=area, timezone="Europe/Rome", planned_sessions=planned,
                           interval_weeks=interval)


def strip(at, sessions=(SESSION,), proto=DEFAULT, **plan):
    """(key, state, until, since, near) of each step at the local instant ``at``."""
    plan_ = plan_day(course(**plan), list(sessions), at, proto)
    return [(s.key, s.state, s.until, s.since, s.near)
            for s in phase_strip.steps(plan_, proto)]


def test_the_day_after_a_session_settling_then_recovering_then_the_next_session():
    steps = strip(SESSION + timedelta(hours=23))
    assert steps == [
        ("immediate", "current", date(2026, 11, 22), None, True),  # 48 h: Sun 22 Nov
        # Session 2 is projected for Fri 11 Dec: recovering runs to the day before it.
        ("first_weeks", "ahead", date(2026, 12, 10), None, False),
        ("session", "ahead", None, None, False),
    ]
    plan = plan_day(course(), [SESSION], SESSION + timedelta(hours=23))
    session = phase_strip.steps(plan, DEFAULT)[-1].session
    assert (session.number, session.starts_at, session.booked) == (
        2, datetime(2026, 12, 11, 10, 0, tzinfo=ROME), False)


def test_steps_before_the_current_one_are_done():
    assert [(k, s) for k, s, *_ in strip(SESSION + timedelta(days=8))] == [
        ("immediate", "done"), ("first_weeks", "current"), ("session", "ahead")]


def test_a_date_within_the_coming_week_is_near():
    """Six days ahead is near (named with its weekday); seven is not."""
    four_days_before = datetime(2026, 12, 7, 9, 0, tzinfo=ROME)  # session 2 on Fri 11 Dec
    assert [near for *_, near in strip(four_days_before)] == [False, True, True]
    assert [near for *_, near in strip(datetime(2026, 12, 3, 9, 0, tzinfo=ROME))] == [
        False, False, False]  # recovering to Thu 10 Dec: 7 days ahead


def test_before_the_first_session():
    steps = strip(SESSION - timedelta(days=2))
    assert [(k, s) for k, s, *_ in steps] == [
        ("preparation", "current"), ("session", "ahead"), ("immediate", "ahead")]
    assert steps[2][2] == date(2026, 11, 22)


def test_first_weeks_shorter_than_the_interval_add_over_your_course():
    """A clinic's 14-day first weeks end before session 2 (3 weeks): "Over your course" runs
    from there to the day before the session."""
    short = replace(DEFAULT, first_weeks=timedelta(days=14))
    steps = strip(SESSION + timedelta(days=16), proto=short)
    assert steps == [
        ("immediate", "done", date(2026, 11, 22), None, False),
        ("first_weeks", "done", date(2026, 12, 4), None, False),
        ("cumulative", "current", date(2026, 12, 10), None, True),
        ("session", "ahead", None, None, True),
    ]


def test_first_weeks_longer_than_the_interval_end_at_the_next_session():
    long = replace(DEFAULT, first_weeks=timedelta(days=60))
    assert [k for k, *_ in strip(SESSION + timedelta(days=1), proto=long)] == [
        "immediate", "first_weeks", "session"]


def test_after_the_last_session_over_your_course_has_no_end():
    steps = strip(SESSION + timedelta(days=40), planned=1)
    assert steps == [
        ("immediate", "done", date(2026, 11, 22), None, False),
        ("first_weeks", "done", date(2026, 12, 18), None, False),
        ("cumulative", "current", None, date(2026, 12, 18), False),
    ]


def test_an_overdue_session_cuts_nothing_short():
    """Session 2 was planned for Fri 11 Dec and not recorded: on 14 Dec the patient is still
    recovering, to the end of the first weeks, and the session is still ahead."""
    steps = strip(datetime(2026, 12, 14, 9, 0, tzinfo=ROME))
    assert steps == [
        ("immediate", "done", date(2026, 11, 22), None, False),
        ("first_weeks", "current", date(2026, 12, 18), None, True),
        ("cumulative", "ahead", None, date(2026, 12, 18), True),
        ("session", "ahead", None, None, False),
    ]


def test_a_booked_session_is_the_step_after_recovering():
    booked = SESSION + timedelta(weeks=3, hours=5)
    steps = strip(SESSION + timedelta(days=1), sessions=(SESSION, booked))
    assert steps[1][2] == date(2026, 12, 10)
    plan = plan_day(course(), [SESSION, booked], SESSION + timedelta(days=1))
    assert phase_strip.steps(plan, DEFAULT)[-1].session.booked is True


def test_every_phase_has_its_step_name():
    assert set(protocol.PHASE_STEP_NAMES) == set(protocol.PHASES)
    assert "cumulative" not in " ".join(protocol.PHASE_STEP_NAMES.values()).lower()


# -- the Timeline's cycles --------------------------------------------------------------------


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
