"""The phase strip as a pure function (meso/patient/phase_strip.py): the planner's plan and the
patient's protocol in, the steps of this session's aftercare out, each with its dates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from meso import protocol
from meso.patient import phase_strip
from meso.recovery import plan_day

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
