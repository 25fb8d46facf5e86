"""The reminder plan (meso/reminders.py), pure: rules, local times, zones, DST, quiet hours."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meso import protocol as p
from meso import recovery, reminder_texts, reminders
from meso.reminders import Settings, schedule

ROME = ZoneInfo("Europe/Rome")


@dataclass
class Course:
    area: str = "face"
    timezone: str = "Europe/Rome"
    planned_sessions: int = 4
    interval_weeks: int = 3


def local(text: str, zone: ZoneInfo = ROME) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def table(items) -> list[tuple[int, str, str, str]]:
    """(session, rule, local fire, local expiry) in the patient's zone, minute precision."""
    return [(r.session, r.rule, f"{r.fire_at:%a %d %H:%M}", f"{r.expires_at:%a %d %H:%M}")
            for r in items]


# DESIGN.md §3, for a session on Friday 20 November 2026 at 10:00 in Rome, 4 sessions planned
# every 3 weeks (the next one projected to 11 December), default windows and settings.
FIRST_SESSION_PLAN = [
    (1, "tanning_beds", "Fri 13 10:00", "Fri 13 22:00"),  # as its 7-day window starts
    (1, "session_tomorrow", "Thu 19 09:00", "Thu 19 21:00"),  # the day before
    (1, "session_day", "Fri 20 12:00", "Sat 21 00:00"),  # 2 h after: heat and sun tonight
    (1, "sun_day1", "Sat 21 09:00", "Sat 21 15:00"),  # day 1 morning
    (1, "heat_day1", "Sat 21 18:00", "Sat 21 21:00"),  # day 1 evening
    (1, "checkin_day1", "Sat 21 20:00", "Sat 21 22:00"),
    (1, "heat_sun_ok", "Sun 22 10:00", "Mon 23 10:00"),  # the 48 h window ends
    (1, "checkin_day2", "Sun 22 20:00", "Sun 22 22:00"),
    (1, "exfoliants_day3", "Mon 23 09:00", "Mon 23 17:00"),
    (1, "checkin_day3", "Mon 23 20:00", "Mon 23 22:00"),
    (1, "exfoliants_ok", "Fri 27 10:00", "Sat 28 10:00"),  # day 7
    (1, "vitamin_a_week2", "Sat 28 09:00", "Sat 28 17:00"),  # day 8: second week
    (1, "vitamin_a_ok", "Fri 04 10:00", "Sat 05 10:00"),  # day 14
]


@pytest.mark.parametrize("area", p.AREAS)
def test_the_plan_after_a_session_follows_the_design_for_every_area(area):
    items = schedule(Course(area=area), [local("2026-11-20T10:00")])
    assert table(items) == FIRST_SESSION_PLAN
    assert all(r.topic == r.rule and r.anchor_at == local("2026-11-20T10:00") for r in items)
    assert {r.link for r in items} == {"/today", "/checkins/new"}


def test_texts_name_the_exact_instants_in_the_patients_zone():
    items = {r.rule: r for r in schedule(Course(), [local("2026-11-20T10:00")])}
    params = items["session_day"].params
    assert params["heat_until"] == local("2026-11-22T10:00")
    assert params["sun_until"] == local("2026-11-22T10:00")
    assert "sunscreen_until" not in params  # daily sunscreen has no end date
    assert params["exfoliants_until"] == local("2026-11-27T10:00")
    assert params["vitamin_a_until"] == local("2026-12-04T10:00")
    assert params["retinol_until"] == params["acids_until"] == local("2026-12-04T10:00")
    assert items["exfoliants_ok"].still, "retinol and peels are still off on day 7"


def test_a_booked_next_session_adds_the_reminders_before_it():
    sessions = [local("2026-11-20T10:00"), local("2026-12-11T15:30")]
    before = [r for r in schedule(Course(), sessions) if r.session == 2 and r.fire_at < sessions[1]]
    assert table(before) == [
        (2, "tanning_beds", "Fri 04 15:30", "Sat 05 03:30"),
        (2, "session_tomorrow", "Thu 10 09:00", "Thu 10 21:00"),
    ]


def test_projected_sessions_earn_no_reminders_of_their_own():
    items = schedule(Course(planned_sessions=4), [local("2026-11-20T10:00")])
    assert {r.session for r in items} == {1}


def test_after_the_last_planned_session_a_maintenance_reminder_comes_three_months_later():
    sessions = [local("2026-01-09T10:00"), local("2026-01-30T10:00")]
    items = schedule(Course(planned_sessions=2), sessions)
    maintenance = [r for r in items if r.rule == "maintenance"]
    assert table(maintenance) == [(2, "maintenance", "Fri 01 09:00", "Mon 04 09:00")]
    assert maintenance[0].fire_at.date() == (sessions[1] + p.MAINTENANCE_AFTER).date()
    unfinished = schedule(Course(planned_sessions=3), sessions)
    assert "maintenance" not in {r.rule for r in unfinished}


@pytest.mark.parametrize(
    ("zone", "session_local"),
    [
        ("America/New_York", "2026-11-20T10:00"),
        ("Asia/Tokyo", "2026-11-20T10:00"),
        ("Asia/Kolkata", "2026-11-20T10:00"),  # a half-hour offset
        ("Australia/Sydney", "2026-11-20T10:00"),  # summer time in November
        ("Pacific/Kiritimati", "2026-11-20T10:00"),  # UTC+14
    ],
)
def test_local_times_are_the_same_wall_clock_times_in_every_zone(zone, session_local):
    tz = ZoneInfo(zone)
    items = schedule(Course(timezone=zone), [local(session_local, tz)])
    assert table(items) == FIRST_SESSION_PLAN
    assert all(r.fire_at.tzinfo == tz for r in items)


def test_spring_forward_windows_stay_absolute_and_mornings_stay_at_nine():
    # Clocks in Rome go 02:00 -> 03:00 on Sunday 29 March 2026.
    items = {r.rule: r for r in schedule(Course(), [local("2026-03-28T10:00")])}
    assert items["heat_sun_ok"].fire_at == local("2026-03-30T11:00")  # 48 real hours
    elapsed = items["heat_sun_ok"].fire_at.astimezone(UTC) - local("2026-03-28T10:00")
    assert elapsed == timedelta(hours=48)
    assert f"{items['sun_day1'].fire_at:%H:%M}" == "09:00"
    assert items["sun_day1"].fire_at.astimezone(UTC).hour == 7  # summer time already
    assert f"{items['heat_day1'].fire_at:%d %H:%M}" == "29 18:00"


def test_fall_back_windows_stay_absolute_and_evenings_stay_at_six():
    # Clocks in Rome go 03:00 -> 02:00 on Sunday 25 October 2026.
    items = {r.rule: r for r in schedule(Course(), [local("2026-10-24T10:00")])}
    assert items["heat_sun_ok"].fire_at == local("2026-10-26T09:00")
    assert f"{items['heat_day1'].fire_at:%d %H:%M}" == "25 18:00"
    assert items["heat_day1"].fire_at.astimezone(UTC).hour == 17  # winter time now


def test_a_morning_time_skipped_by_spring_forward_comes_just_after_it():
    ny = ZoneInfo("America/New_York")  # 02:00 -> 03:00 on Sunday 8 March 2026
    night_owl = Settings(morning=time(2, 30), quiet_start=time(23, 0), quiet_end=time(1, 0))
    items = {r.rule: r for r in schedule(Course(timezone="America/New_York"),
                                         [local("2026-03-07T10:00", ny)], settings=night_owl)}
    assert f"{items['sun_day1'].fire_at:%d %H:%M}" == "08 03:30"


def test_quiet_hours_move_a_reminder_to_their_end():
    # A session at 22:30: its 48 h window ends at 22:30, inside the quiet hours.
    items = {r.rule: r for r in schedule(Course(), [local("2026-11-20T22:30")])}
    assert f"{items['heat_sun_ok'].fire_at:%a %H:%M}" == "Mon 08:00"
    assert "session_day" not in items, "00:30 is quiet; by 08:00 'tonight' is over"


def test_quiet_hours_of_the_patient_are_respected_and_may_drop_what_comes_too_late():
    early = Settings(quiet_start=time(17, 0), quiet_end=time(9, 30))
    items = {r.rule: r for r in schedule(Course(), [local("2026-11-20T10:00")], settings=early)}
    assert "heat_day1" not in items  # 18:00 is quiet; 09:30 next day is past that evening
    assert "checkin_day1" not in items
    assert f"{items['sun_day1'].fire_at:%H:%M}" == "09:30"  # moved out of the quiet morning


def test_an_evening_session_gets_its_reminder_before_the_quiet_hours():
    """2 h after 19:30 is quiet (from 21:00): it comes 30 minutes before, at 20:30."""
    items = {r.rule: r for r in schedule(Course(), [local("2026-11-20T19:30")])}
    assert table([items["session_day"]]) == [(1, "session_day", "Fri 20 20:30", "Sat 21 00:00")]
    assert {"sun_day1", "heat_day1"} <= set(items)


@pytest.mark.parametrize(
    ("session", "quiet", "fire"),
    [
        ("2026-11-20T10:00", ("21:00", "08:00"), "2026-11-20T12:00"),  # 2 h after
        ("2026-11-20T18:00", ("21:00", "08:00"), "2026-11-20T20:00"),  # 2 h after, just
        ("2026-11-20T18:45", ("21:00", "08:00"), "2026-11-20T20:30"),  # 30 min before quiet
        ("2026-11-20T19:30", ("22:30", "07:00"), "2026-11-20T21:30"),  # later quiet hours
        ("2026-11-20T16:00", ("17:30", "07:00"), "2026-11-20T17:00"),
        ("2026-11-20T10:00", ("13:00", "15:00"), "2026-11-20T12:00"),  # an afternoon nap
        ("2026-11-20T11:30", ("13:00", "15:00"), "2026-11-20T12:30"),
        ("2026-11-20T20:00", ("21:00", "08:00"), "2026-11-20T20:30"),  # as they leave
        ("2026-11-20T19:30", ("00:00", "00:00"), "2026-11-20T21:30"),  # no quiet hours
    ],
)
def test_the_session_day_reminder_comes_at_the_earlier_of_2h_and_30min_before_quiet(
    session, quiet, fire
):
    chosen = Settings(quiet_start=reminders.parse_clock(quiet[0]),
                      quiet_end=reminders.parse_clock(quiet[1]), morning=time(9, 0))
    items = {r.rule: r for r in schedule(Course(), [local(session)], settings=chosen)}
    assert items["session_day"].fire_at == local(fire)


def test_a_session_too_close_to_the_quiet_hours_gets_no_session_day_reminder():
    """Never before 30 minutes after the start: 21:15 is quiet, and by morning it is late."""
    items = {r.rule for r in schedule(Course(), [local("2026-11-20T20:45")])}
    assert "session_day" not in items


def test_nothing_is_planned_after_the_window_it_speaks_of_has_ended():
    short = p.DEFAULT_PROTOCOL.with_overrides({"heat": 20, "sun": 12, "exfoliants": 48})
    items = {r.rule: r for r in schedule(Course(), [local("2026-11-20T10:00")], short)}
    assert "heat_day1" not in items  # heat is fine from Sat 06:00, before that evening
    assert "sun_day1" not in items  # sun is fine from Fri 22:00
    assert "exfoliants_day3" not in items  # exfoliants are fine from Sun 10:00
    assert items["session_day"].expires_at == local("2026-11-20T22:00")  # the sun's end
    # Heat and sun end apart: each has its own "OK again", at its end or when quiet ends.
    assert "heat_sun_ok" not in items
    assert items["sun_ok"].fire_at == local("2026-11-21T08:00")  # Fri 22:00 is quiet
    assert items["heat_ok"].fire_at == local("2026-11-21T08:00")  # Sat 06:00 is quiet


def test_a_longer_clinic_window_moves_its_own_ok_again_reminder():
    long_heat = p.DEFAULT_PROTOCOL.with_overrides({"heat": 72})
    items = {r.rule: r for r in schedule(Course(), [local("2026-11-20T10:00")], long_heat)}
    assert "heat_sun_ok" not in items
    assert items["sun_ok"].fire_at == local("2026-11-22T10:00")
    assert items["heat_ok"].fire_at == local("2026-11-23T10:00")
    assert items["heat_day1"].params["heat_until"] == local("2026-11-23T10:00")


def test_retinol_and_acids_ending_apart_get_one_ok_again_each():
    apart = p.DEFAULT_PROTOCOL.with_overrides({"vitamin_a": 18 * 24, "acids_peels": 10 * 24})
    items = {r.rule: r for r in schedule(Course(), [local("2026-11-20T10:00")], apart)}
    assert "vitamin_a_ok" not in items
    assert items["acids_ok"].fire_at == local("2026-11-30T10:00")
    assert items["acids_ok"].still, "retinol still waits when acids are fine again"
    assert items["retinol_ok"].fire_at == local("2026-12-08T10:00")
    assert not items["retinol_ok"].still


def test_the_tanning_bed_reminder_comes_as_its_window_starts():
    """A clinic's 10-day tanning-bed window: the reminder comes 10 days before the session."""
    sessions = [local("2026-11-20T10:00"), local("2026-12-11T15:30")]
    ten_days = p.DEFAULT_PROTOCOL.with_overrides({"tanning_beds": 240})
    items = [r for r in schedule(Course(), sessions, ten_days) if r.rule == "tanning_beds"]
    assert table(items) == [(1, "tanning_beds", "Tue 10 10:00", "Tue 10 22:00"),
                            (2, "tanning_beds", "Tue 01 15:30", "Wed 02 03:30")]
    none = p.DEFAULT_PROTOCOL.with_overrides({"tanning_beds": 0})
    assert "tanning_beds" not in {r.rule for r in schedule(Course(), sessions, none)}


def test_a_zero_window_means_no_ok_again_reminder():
    none = p.DEFAULT_PROTOCOL.with_overrides({"exfoliants": 0})
    rules = {r.rule for r in schedule(Course(), [local("2026-11-20T10:00")], none)}
    assert not {"exfoliants_ok", "exfoliants_day3"} & rules


def test_categories_switched_off_are_not_planned_and_shared_texts_drop_their_part():
    no_sun = Settings(categories=frozenset({"heat", "exfoliants"}))
    items = {r.rule: r for r in schedule(Course(), [local("2026-11-20T10:00")], settings=no_sun)}
    assert "sun_day1" not in items and not any(r.startswith("checkin") for r in items)
    assert items["session_day"].categories == ("heat",)
    assert "sun" not in reminders.text_for(items["session_day"]).body
    assert schedule(Course(), [local("2026-11-20T10:00")], settings=Settings(frozenset())) == []


def test_re_planning_after_a_moved_session_follows_the_new_date():
    first = local("2026-11-20T10:00")
    booked = schedule(Course(), [first, local("2026-11-30T10:00")])
    moved = schedule(Course(), [first, local("2026-12-11T10:00")])
    # Ten days apart, session 2 restarts the 14-day windows: session 1 never says "OK again".
    assert ("vitamin_a_ok" not in {r.rule for r in booked if r.session == 1})
    assert (1, "vitamin_a_ok", "Fri 04 10:00", "Sat 05 10:00") in table(moved)
    assert [r for r in booked if r.session == 1 and r.expires_at > local("2026-11-30T10:00")] == []
    session_two = [r for r in moved if r.session == 2 and r.rule == "session_day"]
    assert table(session_two) == [(2, "session_day", "Fri 11 12:00", "Sat 12 00:00")]


def test_ok_again_reminders_match_the_timelines_ends():
    """One truth: every "OK again" reminder fires when the Timeline says a window ends."""
    course, sessions = Course(), [local("2026-11-20T10:00"), local("2026-12-11T10:00")]
    ends = {(e.key, e.at) for day in recovery.timeline(course, sessions) for e in day.events
            if e.kind == "ends"}
    for item in schedule(course, sessions):
        rule = p.REMINDER_RULES[item.rule]
        if rule.anchor == "end":
            assert any((key, item.fire_at) in ends for key in rule.windows), item


ZONES = ["Europe/Rome", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31),
                       timezones=st.just(UTC)),
    zone=st.sampled_from(ZONES),
    gap_days=st.integers(1, 30),
    quiet_start=st.integers(18, 23),
    quiet_end=st.integers(5, 10),
    morning=st.integers(6, 12),
)
def test_properties_never_quiet_never_after_expiry_never_after_the_window(
    start, zone, gap_days, quiet_start, quiet_end, morning
):
    chosen = Settings(morning=time(morning), quiet_start=time(quiet_start),
                      quiet_end=time(quiet_end))
    sessions = [start, start + timedelta(days=gap_days)]
    items = schedule(Course(timezone=zone, planned_sessions=2), sessions, settings=chosen)
    keys = [r.key for r in items]
    assert len(keys) == len(set(keys)), "one row per (session, rule)"
    for item in items:
        rule = p.REMINDER_RULES[item.rule]
        assert not reminders.in_quiet_hours(item.fire_at, chosen), item
        assert item.fire_at < item.expires_at
        ends = reminders.window_ends(item.anchor_at, p.DEFAULT_PROTOCOL)
        for key in rule.while_open:
            assert item.expires_at <= ends[key]
        if rule.anchor != "before":
            following = [s for s in sessions if s > item.anchor_at]
            assert not following or item.expires_at <= following[0]
        else:
            assert item.expires_at <= item.anchor_at


def test_every_text_fits_its_placeholders_and_topics_are_valid():
    values = reminder_texts.text_values(local("2026-11-20T10:00"), p.DEFAULT_PROTOCOL, ROME)
    for rule in p.REMINDER_RULES.values():
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", rule.key)
        assert rule.urgency in ("very-low", "low", "normal", "high")
        for categories, text in rule.texts.items():
            assert set(categories) <= set(rule.categories)
            for part in (text.title, text.body, text.discreet_body, text.still):
                part % values
        assert tuple(rule.categories) in rule.texts


TREATMENT_WORDS = ("session", "treat", "meso", "inject", "needle", "skin", "clinic",
                   "recover", "aftercare", "practitioner", "therapy")


def test_discreet_texts_have_no_treatment_words():
    discreet = [p.DISCREET_TITLE] + [
        part for r in p.REMINDER_RULES.values() for t in r.texts.values()
        for part in (t.discreet_body, t.still)
    ]
    for text in discreet:
        words = re.sub(r"%\(\w+\)s", "", text).lower()
        words = words.translate(str.maketrans("", "", string.punctuation))
        assert not [w for w in TREATMENT_WORDS if w in words], text


def test_quiet_hours_helpers_handle_midnight_and_no_quiet_hours():
    night = Settings(quiet_start=time(21), quiet_end=time(8))
    assert reminders.in_quiet_hours(local("2026-11-20T23:59"), night)
    assert reminders.in_quiet_hours(local("2026-11-20T07:59"), night)
    assert not reminders.in_quiet_hours(local("2026-11-20T08:00"), night)
    assert reminders.after_quiet_hours(local("2026-11-20T23:00"), night) == local(
        "2026-11-21T08:00")
    assert reminders.after_quiet_hours(local("2026-11-21T03:00"), night) == local(
        "2026-11-21T08:00")
    afternoon = replace(night, quiet_start=time(13), quiet_end=time(15))
    assert reminders.after_quiet_hours(local("2026-11-20T14:00"), afternoon) == local(
        "2026-11-20T15:00")
    never = replace(night, quiet_start=time(0), quiet_end=time(0))
    assert not reminders.in_quiet_hours(local("2026-11-20T03:00"), never)
