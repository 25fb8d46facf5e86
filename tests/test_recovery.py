"""Table and property tests of the recovery planner (meso/recovery.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from meso import protocol
from meso.recovery import next_change, plan_day, session_schedule, timeline

ROME = "Europe/Rome"
NEW_YORK = "America/New_York"
AREAS = ("face", "scalp", "body")
AFTER_KEYS = ("heat", "sun", "makeup", "hair_wash", "exfoliants", "vitamin_a", "acids_peels")
PHASE_ORDER = {name: rank for rank, name in enumerate(protocol.PHASES)}


def course(area="face", tz=ROME, planned=4, interval=3):
    """Return a plain course object with the fields the planner reads."""
    return SimpleNamespace(
        area=area, timezone=tz, planned_sessions=planned, interval_weeks=interval
    )


def local(tz, *fields, fold=0):
    """Return an aware local datetime in the IANA zone ``tz``."""
    return datetime(*fields, tzinfo=ZoneInfo(tz), fold=fold)


def iso(text):
    """Return the aware datetime of an ISO 8601 string with offset."""
    return datetime.fromisoformat(text)


def avoided(plan):
    """Return {key: until} of a plan's JSON."""
    return {a["key"]: a["until"] for a in plan.to_json()["avoid"]}


def allowed(plan):
    """Return {key: since} of a plan's JSON."""
    return {a["key"]: a["since"] for a in plan.to_json()["allowed_again"]}


# The reference course: face, first session Fri 2026-11-20 10:00 in Rome (+01:00, no DST
# change for months), 4 sessions every 3 weeks: 2026-12-11, 2027-01-01, 2027-01-22.
SESSION = local(ROME, 2026, 11, 20, 10, 0)
H48 = "2026-11-22T10:00:00+01:00"
D7 = "2026-11-27T10:00:00+01:00"
D14 = "2026-12-04T10:00:00+01:00"
SECOND = "2026-12-11T10:00:00+01:00"

# (what, at, day, key, "avoid" | "allowed" | "absent", expected instant)
WINDOW_EDGES = [
    ("heat 47h59m", SESSION + timedelta(hours=47, minutes=59), 2, "heat", "avoid", H48),
    ("heat 48h01m", SESSION + timedelta(hours=48, minutes=1), 2, "heat", "allowed", H48),
    ("sun 47h59m", SESSION + timedelta(hours=47, minutes=59), 2, "sun", "avoid", H48),
    ("sun 48h01m", SESSION + timedelta(hours=48, minutes=1), 2, "sun", "allowed", H48),
    ("makeup 47h59m", SESSION + timedelta(hours=47, minutes=59), 2, "makeup", "avoid", H48),
    ("makeup 48h01m", SESSION + timedelta(hours=48, minutes=1), 2, "makeup", "allowed", H48),
    ("exfoliants day 6", local(ROME, 2026, 11, 26, 23, 59), 6, "exfoliants", "avoid", D7),
    ("exfoliants day 8", local(ROME, 2026, 11, 28, 0, 0), 8, "exfoliants", "allowed", D7),
    ("vitamin_a day 13", local(ROME, 2026, 12, 3, 23, 59), 13, "vitamin_a", "avoid", D14),
    ("vitamin_a day 15", local(ROME, 2026, 12, 5, 0, 0), 15, "vitamin_a", "allowed", D14),
    ("acids day 13", local(ROME, 2026, 12, 3, 23, 59), 13, "acids_peels", "avoid", D14),
    ("acids day 15", local(ROME, 2026, 12, 5, 0, 0), 15, "acids_peels", "allowed", D14),
    ("tanning 8d before", local(ROME, 2026, 12, 3, 10, 0), 13, "tanning_beds", "absent", None),
    ("tanning 7d before", local(ROME, 2026, 12, 4, 10, 0), 14, "tanning_beds", "avoid", SECOND),
    ("tanning 6d before", local(ROME, 2026, 12, 5, 10, 0), 15, "tanning_beds", "avoid", SECOND),
]


@pytest.mark.parametrize("area", AREAS)
@pytest.mark.parametrize(
    ("at", "day", "key", "state", "instant"),
    [row[1:] for row in WINDOW_EDGES],
    ids=[row[0] for row in WINDOW_EDGES],
)
def test_window_edges(area, at, day, key, state, instant):
    """Each restriction is avoided until its exact end, then allowed again since that end."""
    plan = plan_day(course(area), [SESSION], at)
    assert plan.day == day
    assert plan.area == area
    if not protocol.RESTRICTIONS[key].applies_to(area):  # makeup, outside the face
        state = "absent"
    if state == "avoid":
        assert avoided(plan)[key] == instant
        assert key not in allowed(plan)
    elif state == "allowed":
        assert allowed(plan)[key] == instant
        assert key not in avoided(plan)
    else:
        assert key not in avoided(plan)
        assert key not in allowed(plan)


@pytest.mark.parametrize(
    ("at", "avoid", "allowed_again"),
    [
        (
            SESSION + timedelta(hours=47, minutes=59),
            {"heat": H48, "sun": H48, "makeup": H48, "exfoliants": D7, "vitamin_a": D14,
             "acids_peels": D14},
            {},
        ),
        (
            SESSION + timedelta(hours=48),
            {"exfoliants": D7, "vitamin_a": D14, "acids_peels": D14},
            {"heat": H48, "sun": H48, "makeup": H48},
        ),
        (
            local(ROME, 2026, 12, 5, 10, 0),
            {"tanning_beds": SECOND},
            {"heat": H48, "sun": H48, "makeup": H48, "exfoliants": D7, "vitamin_a": D14,
             "acids_peels": D14},
        ),
    ],
    ids=["47h59m", "48h exactly", "day 15"],
)
def test_full_lists(at, avoid, allowed_again):
    """The avoid and allowed-again lists hold exactly the expected keys, sorted by instant."""
    plan = plan_day(course(), [SESSION], at)
    assert avoided(plan) == avoid
    assert allowed(plan) == allowed_again
    untils = [a.until for a in plan.avoid]
    assert untils == sorted(untils)


def test_lists_are_ordered_by_instant():
    """Avoid is ordered by end, allowed-again by start, whatever the protocol's order."""
    booked = local(ROME, 2026, 12, 2, 10, 0)
    plan = plan_day(course(), [SESSION, booked], local(ROME, 2026, 11, 28, 12, 0))
    assert [a["key"] for a in plan.to_json()["avoid"]] == [
        "tanning_beds", "vitamin_a", "acids_peels",
    ]
    slow_heat = protocol.DEFAULT_PROTOCOL.with_overrides({"heat": 200})
    plan = plan_day(course(), [SESSION], local(ROME, 2026, 11, 30, 12, 0), slow_heat)
    assert [a["key"] for a in plan.to_json()["allowed_again"]] == [
        "sun", "makeup", "exfoliants", "heat",
    ]


def test_avoid_reports_its_start():
    """An after-session restriction runs from the session start; tanning beds from 7 days before."""
    plan = plan_day(course(), [SESSION], local(ROME, 2026, 12, 5, 10, 0))
    (tanning,) = plan.avoid
    assert tanning.since == iso("2026-12-04T10:00:00+01:00")
    plan = plan_day(course(), [SESSION], SESSION + timedelta(hours=1))
    assert {a.since for a in plan.avoid} == {SESSION}


@pytest.mark.parametrize("area", AREAS)
@pytest.mark.parametrize(
    ("at", "day", "hours"),
    [
        (local(ROME, 2026, 11, 10, 10, 0), -10, -240.0),
        (local(ROME, 2026, 11, 17, 10, 0), -3, -72.0),
        (local(ROME, 2026, 11, 17, 9, 0), -3, -73.0),
        (local(ROME, 2026, 11, 19, 23, 0), -1, -11.0),
        (local(ROME, 2026, 11, 20, 9, 59), 0, -0.02),
    ],
)
def test_preparation_counts_down(area, at, day, hours):
    """Before the first session: negative day and hours, session 0, next is the first session."""
    plan = plan_day(course(area), [SESSION], at)
    data = plan.to_json()
    assert data["phase"] == "preparation"
    assert data["day"] == day
    assert data["hours_since_session"] == hours
    assert data["session"] == {"number": 0, "of": 4}
    assert data["next_session"] == "2026-11-20T10:00:00+01:00"
    assert plan.next_session.number == 1
    assert plan.next_session.booked is True
    assert data["allowed_again"] == []
    assert plan.prepare == protocol.PREPARE


def test_preparation_tanning_beds_only_in_the_last_week():
    """Before the first session only tanning beds are avoided, and only in the 7 days before."""
    far = plan_day(course(), [SESSION], local(ROME, 2026, 11, 12, 10, 0))
    near = plan_day(course(), [SESSION], local(ROME, 2026, 11, 14, 10, 0))
    assert avoided(far) == {}
    assert avoided(near) == {"tanning_beds": "2026-11-20T10:00:00+01:00"}


# 2 sessions every 5 weeks so that the cumulative phase is reached between them.
FIVE_WEEKS = course(planned=2, interval=5)


@pytest.mark.parametrize(
    ("at", "phase", "number", "day"),
    [
        (SESSION - timedelta(days=1), "preparation", 0, -1),
        (SESSION - timedelta(minutes=1), "preparation", 0, 0),
        (SESSION, "immediate", 1, 0),
        (SESSION + timedelta(hours=47, minutes=59), "immediate", 1, 2),
        (SESSION + timedelta(hours=48), "first_weeks", 1, 2),
        (SESSION + timedelta(days=27, hours=23, minutes=59), "first_weeks", 1, 28),
        (SESSION + timedelta(days=28), "cumulative", 1, 28),
        (SESSION + timedelta(weeks=5) - timedelta(minutes=1), "cumulative", 1, 35),
        (SESSION + timedelta(weeks=5), "immediate", 2, 0),
        (SESSION + timedelta(weeks=5, hours=48), "first_weeks", 2, 2),
        (SESSION + timedelta(weeks=5, days=28), "cumulative", 2, 28),
        (SESSION + timedelta(weeks=5, days=400), "cumulative", 2, 400),
    ],
)
def test_phases(at, phase, number, day):
    """preparation → immediate → first_weeks → cumulative, reset by the second session."""
    plan = plan_day(FIVE_WEEKS, kept(FIVE_WEEKS), at)
    assert (plan.phase, plan.sessions_done, plan.day) == (phase, number, day)
    assert plan.sessions_planned == 2


def kept(c, first=None):
    """The whole plan's sessions, as if every one was held on its projected date."""
    return session_schedule([first or SESSION], c.planned_sessions, c.interval_weeks,
                            ZoneInfo(c.timezone))


def test_second_session_on_plan_resets_windows():
    """At the second session (held on its planned date) the windows restart from it."""
    second = SESSION + timedelta(weeks=5)
    plan = plan_day(FIVE_WEEKS, kept(FIVE_WEEKS), second + timedelta(hours=1))
    assert plan.hours_since_session == 1.0
    assert avoided(plan)["heat"] == "2026-12-27T10:00:00+01:00"
    assert allowed(plan) == {}
    assert plan.to_json()["next_session"] is None


def test_explicit_second_session():
    """A second session given by the clinic (off the plan's interval) is the new anchor."""
    second = local(ROME, 2026, 11, 30, 15, 0)
    plan = plan_day(course(), [second, SESSION], local(ROME, 2026, 12, 1, 9, 0))
    data = plan.to_json()
    assert data["phase"] == "immediate"
    assert data["day"] == 1
    assert data["hours_since_session"] == 18.0
    assert data["session"] == {"number": 2, "of": 4}
    assert avoided(plan)["heat"] == "2026-12-02T15:00:00+01:00"
    # The third session is projected three weeks after the last known one.
    assert data["next_session"] == "2026-12-21T15:00:00+01:00"
    assert plan.next_session.number == 3
    assert plan.next_session.booked is False


def test_booked_future_session_is_the_next_one():
    """A booked future session is the next session, ahead of the interval's projection."""
    booked = local(ROME, 2026, 12, 7, 16, 30)
    plan = plan_day(course(), [SESSION, booked], local(ROME, 2026, 12, 2, 12, 0))
    assert plan.next_session.starts_at == booked
    assert plan.next_session.number == 2
    assert plan.next_session.booked is True
    assert avoided(plan)["tanning_beds"] == "2026-12-07T16:30:00+01:00"


@pytest.mark.parametrize(
    ("at", "number", "next_session"),
    [
        (SESSION + timedelta(days=1), 2, "2026-12-04T10:00:00+01:00"),
        (SESSION + timedelta(weeks=2), 3, "2026-12-18T10:00:00+01:00"),
        (SESSION + timedelta(weeks=4, days=1), 4, "2027-01-01T10:00:00+01:00"),
    ],
)
def test_next_session_projection(at, number, next_session):
    """Next sessions are projected every interval_weeks after the first one."""
    plan = plan_day(course(planned=4, interval=2), kept(course(planned=4, interval=2)), at)
    assert plan.to_json()["next_session"] == next_session
    assert plan.next_session.number == number
    assert plan.sessions_done == number - 1


def test_an_unrecorded_projected_session_did_not_happen():
    """Past its projected date, an unrecorded session is still the next one, marked overdue."""
    at = SESSION + timedelta(weeks=3, days=2)
    plan = plan_day(course(planned=4, interval=3), [SESSION], at)
    assert plan.sessions_done == 1
    assert plan.day == 23
    assert plan.phase == "first_weeks"
    assert plan.next_session.number == 2
    assert plan.next_session.overdue is True
    assert plan.to_json()["next_session"] == "2026-12-11T10:00:00+01:00"
    on_time = plan_day(course(planned=4, interval=3), [SESSION], SESSION + timedelta(days=1))
    assert on_time.next_session.overdue is False


def test_no_next_session_after_the_last_one():
    """Once all planned sessions are done there is no next session and no tanning-bed window."""
    plan = plan_day(course(planned=1), [SESSION], SESSION + timedelta(days=3))
    assert plan.next_session is None
    assert plan.course_complete is True
    assert plan.to_json()["next_session"] is None
    assert plan.to_json()["session"] == {"number": 1, "of": 1}
    late = plan_day(course(planned=1), [SESSION], SESSION + timedelta(days=8))
    assert "tanning_beds" not in avoided(late)
    assert late.prepare == ()


# --- DST -------------------------------------------------------------------------------------
# (zone, session, at, day, hours_since_session, key, "avoid"/"allowed", instant)
DST_CASES = [
    # Europe/Rome springs forward 2026-03-29 02:00 +01:00 → 03:00 +02:00.
    ("rome spring, eve", ROME, "2026-03-28T10:00:00+01:00", "2026-03-30T10:59:00+02:00",
     2, 47.98, "heat", "avoid", "2026-03-30T11:00:00+02:00"),
    ("rome spring, eve +48h", ROME, "2026-03-28T10:00:00+01:00", "2026-03-30T11:00:00+02:00",
     2, 48.0, "heat", "allowed", "2026-03-30T11:00:00+02:00"),
    ("rome spring, night of", ROME, "2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00",
     0, 1.0, "sun", "avoid", "2026-03-31T02:30:00+02:00"),
    ("rome spring, midnight", ROME, "2026-03-28T23:30:00+01:00", "2026-03-29T00:30:00+01:00",
     1, 1.0, "makeup", "avoid", "2026-03-31T00:30:00+02:00"),
    ("rome spring, week", ROME, "2026-03-25T10:00:00+01:00", "2026-04-01T10:30:00+02:00",
     7, 167.5, "exfoliants", "avoid", "2026-04-01T11:00:00+02:00"),
    # Europe/Rome falls back 2026-10-25 03:00 +02:00 → 02:00 +01:00.
    ("rome fall, eve", ROME, "2026-10-24T10:00:00+02:00", "2026-10-26T08:59:00+01:00",
     2, 47.98, "heat", "avoid", "2026-10-26T09:00:00+01:00"),
    ("rome fall, eve +48h", ROME, "2026-10-24T10:00:00+02:00", "2026-10-26T09:00:00+01:00",
     2, 48.0, "heat", "allowed", "2026-10-26T09:00:00+01:00"),
    ("rome fall, first 02:30", ROME, "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00",
     0, 1.0, "sun", "avoid", "2026-10-27T01:30:00+01:00"),
    ("rome fall, second 02:30", ROME, "2026-10-25T02:30:00+01:00", "2026-10-26T23:59:00+01:00",
     1, 45.48, "heat", "avoid", "2026-10-27T02:30:00+01:00"),
    ("rome fall, day 14", ROME, "2026-10-20T10:00:00+02:00", "2026-11-03T09:00:00+01:00",
     14, 336.0, "vitamin_a", "allowed", "2026-11-03T09:00:00+01:00"),
    # America/New_York springs forward 2026-03-08 02:00 -05:00 → 03:00 -04:00.
    ("ny spring, eve", NEW_YORK, "2026-03-07T10:00:00-05:00", "2026-03-09T10:59:00-04:00",
     2, 47.98, "heat", "avoid", "2026-03-09T11:00:00-04:00"),
    ("ny spring, eve +48h", NEW_YORK, "2026-03-07T10:00:00-05:00", "2026-03-09T11:01:00-04:00",
     2, 48.02, "sun", "allowed", "2026-03-09T11:00:00-04:00"),
    ("ny spring, night of", NEW_YORK, "2026-03-08T01:30:00-05:00", "2026-03-08T23:30:00-04:00",
     0, 21.0, "heat", "avoid", "2026-03-10T02:30:00-04:00"),
    # America/New_York falls back 2026-11-01 02:00 -04:00 → 01:00 -05:00.
    ("ny fall, eve", NEW_YORK, "2026-10-31T10:00:00-04:00", "2026-11-02T08:59:00-05:00",
     2, 47.98, "heat", "avoid", "2026-11-02T09:00:00-05:00"),
    ("ny fall, eve +48h", NEW_YORK, "2026-10-31T10:00:00-04:00", "2026-11-02T09:01:00-05:00",
     2, 48.02, "makeup", "allowed", "2026-11-02T09:00:00-05:00"),
    ("ny fall, first 01:30", NEW_YORK, "2026-11-01T01:30:00-04:00", "2026-11-01T23:30:00-05:00",
     0, 23.0, "heat", "avoid", "2026-11-03T00:30:00-05:00"),
    ("ny fall, week", NEW_YORK, "2026-10-28T10:00:00-04:00", "2026-11-04T08:30:00-05:00",
     7, 167.5, "exfoliants", "avoid", "2026-11-04T09:00:00-05:00"),
]


@pytest.mark.parametrize(
    ("tz", "session", "at", "day", "hours", "key", "state", "instant"),
    [row[1:] for row in DST_CASES],
    ids=[row[0] for row in DST_CASES],
)
def test_dst(tz, session, at, day, hours, key, state, instant):
    """Windows are real hours across DST; days are local calendar days; offsets are right."""
    plan = plan_day(course(tz=tz), [iso(session)], iso(at))
    assert plan.day == day
    assert plan.hours_since_session == hours
    if state == "avoid":
        assert avoided(plan)[key] == instant
    else:
        assert allowed(plan)[key] == instant
    assert plan.to_json()["phase"] == ("immediate" if hours < 48 else "first_weeks")


@pytest.mark.parametrize(
    ("tz", "session", "next_session"),
    [
        (ROME, local(ROME, 2026, 3, 20, 10, 0), "2026-04-03T10:00:00+02:00"),
        (ROME, local(ROME, 2026, 10, 16, 10, 0), "2026-10-30T10:00:00+01:00"),
        (NEW_YORK, local(NEW_YORK, 2026, 2, 27, 9, 30), "2026-03-13T09:30:00-04:00"),
        (NEW_YORK, local(NEW_YORK, 2026, 10, 23, 9, 30), "2026-11-06T09:30:00-05:00"),
    ],
)
def test_projected_session_keeps_local_time_across_dst(tz, session, next_session):
    """A projected session is at the same local clock time, with the offset of its date."""
    plan = plan_day(course(tz=tz, interval=2), [session], session + timedelta(hours=1))
    assert plan.to_json()["next_session"] == next_session


# --- JSON contract ---------------------------------------------------------------------------

def test_to_json_shape():
    """to_json has exactly the keys of DESIGN.md §5 with the right types."""
    data = plan_day(course("scalp"), [SESSION], SESSION + timedelta(hours=50)).to_json()
    assert set(data) == {
        "day", "hours_since_session", "phase", "area", "session", "avoid", "allowed_again",
        "next_session",
    }
    assert type(data["day"]) is int
    assert type(data["hours_since_session"]) is float
    assert data["hours_since_session"] == 50.0
    assert data["phase"] == "first_weeks"
    assert data["area"] == "scalp"
    assert data["session"] == {"number": 1, "of": 4}
    assert all(type(v) is int for v in data["session"].values())
    assert [set(a) for a in data["avoid"]] == [{"key", "until"}] * 3
    assert [set(a) for a in data["allowed_again"]] == [{"key", "since"}] * 3
    assert data["next_session"] == SECOND
    restriction_keys = set(protocol.RESTRICTIONS)
    for item in data["avoid"] + data["allowed_again"]:
        assert item["key"] in restriction_keys
        instant = iso(item.get("until") or item["since"])
        assert instant.utcoffset() == timedelta(hours=1)
    assert json.loads(json.dumps(data)) == data


def test_to_json_before_and_after_the_course():
    """Before the first session: negative numbers, session 0; after the last: next is null."""
    before = plan_day(course(planned=1), [SESSION], SESSION - timedelta(hours=5)).to_json()
    assert (before["day"], before["hours_since_session"]) == (0, -5.0)
    assert before["session"] == {"number": 0, "of": 1}
    after = plan_day(course(planned=1), [SESSION], SESSION + timedelta(days=60)).to_json()
    assert after["next_session"] is None
    assert after["avoid"] == []
    assert after["phase"] == "cumulative"


def test_naive_instants_are_refused():
    """A naive `at` or session is refused rather than guessed."""
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_day(course(), [SESSION], datetime(2026, 11, 21, 9, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_day(course(), [datetime(2026, 11, 20, 10, 0)], SESSION)
    with pytest.raises(ValueError, match="first session"):
        plan_day(course(), [], SESSION)


# --- timeline --------------------------------------------------------------------------------

def ends(days, key):
    """Return the local dates of the "ends" events of ``key`` on a timeline."""
    return [e.at.date() for d in days for e in d.events if e.kind == "ends" and e.key == key]


def test_timeline_span_and_sessions():
    """From enrolment to 28 days after the last planned session, one day at a time."""
    enrolled = local(ROME, 2026, 11, 15, 9, 0)
    days = timeline(course(planned=3), [SESSION], start=enrolled)
    assert days[0].date == date(2026, 11, 15)
    assert (days[0].day, days[0].phase, days[0].sessions_done) == (-5, "preparation", 0)
    # Sessions 2026-11-20, 2026-12-11, 2027-01-01; 28 days after the last is 2027-01-29.
    assert days[-1].date == date(2027, 1, 29)
    assert (days[-1].day, days[-1].phase) == (28, "cumulative")
    assert all(b.date - a.date == timedelta(days=1) for a, b in pairwise(days))
    sessions = [(d.date, e.number, e.booked, e.at.time().isoformat())
                for d in days for e in d.events if e.kind == "session"]
    assert sessions == [
        (date(2026, 11, 20), 1, True, "10:00:00"),
        (date(2026, 12, 11), 2, False, "10:00:00"),
        (date(2027, 1, 1), 3, False, "10:00:00"),
    ]
    by_date = {d.date: d for d in days}
    for session_day in (date(2026, 11, 20), date(2026, 12, 11), date(2027, 1, 1)):
        assert (by_date[session_day].day, by_date[session_day].phase) == (0, "immediate")
    assert by_date[date(2026, 11, 19)].phase == "preparation"
    assert by_date[date(2026, 12, 10)].sessions_done == 1
    assert by_date[date(2026, 12, 11)].sessions_done == 2


def test_timeline_starts_at_first_session_without_enrolment():
    """Without a start the timeline begins on the first session's local date."""
    days = timeline(course(planned=1), [local(ROME, 2026, 11, 20, 0, 30)])
    assert [days[0].date, days[-1].date] == [date(2026, 11, 20), date(2026, 12, 18)]
    assert len(days) == 29
    assert days[0].events[0].kind == "session"


def test_timeline_ends_events():
    """An "ends" event only for windows that really end before the next session restarts them."""
    days = timeline(course(planned=3, interval=1), [SESSION])
    # Sessions 2026-11-20, 11-27, 12-04 (weekly).
    assert ends(days, "heat") == [date(2026, 11, 22), date(2026, 11, 29), date(2026, 12, 6)]
    assert ends(days, "vitamin_a") == [date(2026, 12, 18)]
    assert ends(days, "acids_peels") == [date(2026, 12, 18)]
    # A 7-day window ends exactly as the next weekly session restarts it: never OK in between.
    assert ends(days, "exfoliants") == [date(2026, 12, 11)]
    assert ends(days, "tanning_beds") == []
    starts = [(e.at, e.key) for d in days for e in d.events if e.kind == "starts"]
    assert (iso("2026-11-20T10:00:00+01:00"), "tanning_beds") in starts
    assert (iso("2026-11-27T10:00:00+01:00"), "tanning_beds") in starts


def test_timeline_ends_event_agrees_with_plan_day():
    """Every "ends" event is a moment plan_day reports the restriction as allowed again."""
    c = course(planned=3, interval=2)
    days = timeline(c, [SESSION])
    events = [e for d in days for e in d.events if e.kind == "ends"]
    assert len(events) == 3 * 3 + 3 + 2  # heat/sun/makeup and exfoliants thrice, A and AHA once
    for event in events:
        plan = plan_day(c, kept(c), event.at)  # the timeline shows the plan as if kept
        assert allowed(plan)[event.key] == event.at.isoformat()


def test_timeline_across_dst():
    """Across spring-forward the days stay consecutive and the weekly session stays at 10:00."""
    days = timeline(course(planned=2, interval=1), [local(ROME, 2026, 3, 22, 10, 0)])
    assert all(b.date - a.date == timedelta(days=1) for a, b in pairwise(days))
    session_times = [e.at.isoformat() for d in days for e in d.events if e.kind == "session"]
    assert session_times == ["2026-03-22T10:00:00+01:00", "2026-03-29T10:00:00+02:00"]
    assert days[-1].date == date(2026, 4, 26)


# --- properties ------------------------------------------------------------------------------

ZONES = (
    "UTC",
    "Europe/Rome",
    "America/New_York",
    "America/Santiago",  # changes at midnight
    "America/St_Johns",  # -03:30 with DST
    "Asia/Kolkata",  # +05:30, no DST
    "Asia/Kathmandu",  # +05:45
    "Australia/Adelaide",  # +09:30 with southern DST
    "Australia/Lord_Howe",  # half-hour DST shift
    "Pacific/Chatham",  # +12:45 with DST
)
# Some DST changes, to aim sessions at gaps and folds.
TRANSITIONS = tuple(
    datetime.fromisoformat(t)
    for t in (
        "2026-03-29T01:00+00:00",
        "2026-10-25T01:00+00:00",
        "2026-03-08T07:00+00:00",
        "2026-11-01T06:00+00:00",
        "2026-04-05T03:00+00:00",
        "2026-09-06T04:00+00:00",
    )
)

instants = st.one_of(
    st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31), timezones=st.just(UTC)),
    st.builds(
        lambda t, minutes: t + timedelta(minutes=minutes),
        st.sampled_from(TRANSITIONS),
        st.integers(-3 * 24 * 60, 3 * 24 * 60),
    ),
)
courses = st.builds(
    course,
    area=st.sampled_from(AREAS),
    tz=st.sampled_from(ZONES),
    planned=st.integers(1, 12),
    interval=st.integers(1, 12),
)
# Offsets from the first session, aimed at window edges as well as anywhere in the course.
EDGES = (timedelta(hours=48), timedelta(days=7), timedelta(days=14), timedelta(days=28))
offsets = st.one_of(
    st.timedeltas(timedelta(days=-30), timedelta(weeks=12 * 12 + 8)),
    st.builds(
        lambda edge, weeks, seconds: edge + timedelta(weeks=weeks, seconds=seconds),
        st.sampled_from((*EDGES, timedelta(0), -timedelta(days=7))),
        st.integers(0, 12 * 12),
        st.integers(-120, 120),
    ),
)


@st.composite
def session_lists(draw):
    """Draw a course's known sessions: the first, maybe a few more at irregular gaps."""
    first = draw(instants)
    gaps = draw(st.lists(st.timedeltas(timedelta(days=1), timedelta(weeks=12)), max_size=2))
    sessions = [first]
    for gap in gaps:
        sessions.append(sessions[-1] + gap)
    return sessions


@settings(max_examples=300, deadline=None)
@given(c=courses, sessions=session_lists(), offset=offsets)
@example(  # a window ending in St John's repeated fall-back hour (found by hypothesis)
    c=course(area="face", tz="America/St_Johns", planned=1, interval=1),
    sessions=[datetime(2026, 10, 25, 3, 30, tzinfo=UTC)],
    offset=timedelta(0),
)
def test_property_windows(c, sessions, offset):
    """Nothing is avoided outside its window; allowed-again is in the past; windows are exact."""
    at = sessions[0] + offset
    plan = plan_day(c, sessions, at)
    zone = ZoneInfo(c.timezone)
    windows = protocol.DEFAULT_PROTOCOL.windows
    for item in plan.avoid:
        assert item.since <= at < item.until
        assert item.until.astimezone(UTC) - item.since.astimezone(UTC) == windows[item.key]
        assert item.until.tzinfo is zone
    for item in plan.allowed_again:
        assert item.since <= at
        assert item.key in AFTER_KEYS
    assert not {a.key for a in plan.avoid} & {a.key for a in plan.allowed_again}
    first = min(sessions)
    assert (plan.phase == "preparation") == (at < first)
    assert (plan.sessions_done == 0) == (at < first)
    if at >= first:
        assert plan.day >= 0
        assert plan.hours_since_session >= 0
    elif at < first - timedelta(minutes=1):
        assert plan.hours_since_session < 0
    for item, data in zip(plan.avoid, plan.to_json()["avoid"], strict=True):
        # Compared in UTC: Python never calls an instant in a repeated (fall-back) hour equal
        # to one in another tzinfo, even when they are the same instant.
        until = item.until.replace(microsecond=0).astimezone(UTC)
        assert iso(data["until"]).astimezone(UTC) == until
        assert iso(data["until"]).utcoffset() == item.until.utcoffset()


@settings(max_examples=300, deadline=None)
@given(
    c=courses,
    sessions=session_lists(),
    offset=offsets,
    step=st.timedeltas(timedelta(0), timedelta(days=40)),
)
def test_property_monotonic(c, sessions, offset, step):
    """Between two consecutive sessions the phase and day never go backwards."""
    earlier_at = sessions[0] + offset
    earlier = plan_day(c, sessions, earlier_at)
    later = plan_day(c, sessions, earlier_at + step)
    assert later.sessions_done >= earlier.sessions_done
    if earlier.sessions_done:
        assert later.phase != "preparation"
    if later.sessions_done == earlier.sessions_done:
        assert PHASE_ORDER[later.phase] >= PHASE_ORDER[earlier.phase]
        assert later.day >= earlier.day
        assert later.hours_since_session >= earlier.hours_since_session


def without_the_moment(plan):
    """A plan without what changes every moment: the instant and the hours since the session."""
    return replace(plan, at=None, hours_since_session=None)


protocols = st.sampled_from([
    protocol.DEFAULT_PROTOCOL,
    protocol.DEFAULT_PROTOCOL.with_overrides({"heat": 72, "sun": 1, "tanning_beds": 24 * 21}),
    replace(protocol.DEFAULT_PROTOCOL, first_weeks=timedelta(days=10)),
])


@settings(max_examples=300, deadline=None)
@given(c=courses, sessions=session_lists(), offset=offsets, rules=protocols,
       fraction=st.floats(0, 1, exclude_max=True))
def test_property_the_plan_holds_until_its_next_change(c, sessions, offset, rules, fraction):
    """Kept pages rely on it (meso/page_cache.py): from ``at`` until next_change, plan_day
    says the same, but for the instant itself."""
    at = sessions[0] + offset
    change = next_change(c, sessions, at, rules)
    assert at < change <= at + timedelta(days=1, hours=1)  # local midnight comes at the latest
    plan = without_the_moment(plan_day(c, sessions, at, rules))
    last = change - timedelta(microseconds=1)
    for instant in (min(at + (change - at) * fraction, last), last):  # (a float rounds up)
        assert without_the_moment(plan_day(c, sessions, instant, rules)) == plan


def test_the_next_change_is_the_first_window_to_end():
    face = course()
    session = local(ROME, 2026, 11, 20, 10, 0)
    at = session + timedelta(hours=3)
    change = next_change(face, [session], at)
    assert change == local(ROME, 2026, 11, 21, 0, 0)  # midnight comes before any window ends
    at = local(ROME, 2026, 11, 22, 9, 0)
    assert next_change(face, [session], at) == session + timedelta(hours=48)  # heat, sun, ...
