"""The course as the patient's pages show it, through the test client: the phase strip on
Today (a progress line with dates) and the Timeline (the current cycle open, every other
session one line, quiet days and one instant's events merged)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from conftest import create_clinic, enrol_patient, open_invite
from helpers import frozen, page_html, text_of

from meso import courses
from meso.extensions import db
from meso.models import ClinicSettings

pytestmark = pytest.mark.usefixtures("client")

# First session Fri 2026-11-20 10:00 in Rome (09:00 UTC), 4 sessions every 3 weeks: session 2
# is projected for Fri 11 Dec, 3 for Fri 1 Jan, 4 for Fri 22 Jan.
SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DAY_1 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # Sat 09:00 in Rome
TO = "\u2013"  # the en dash between two days


@pytest.fixture
def clinic(app):
    return create_clinic()


def phone(app, clinic, at=DAY_1, **enrol):
    """Enrol a patient at ``at`` and open their link on a fresh phone; return (patient, phone)."""
    with frozen(at):
        patient, token = enrol_patient(clinic, **enrol)
        client = app.test_client()
        assert open_invite(client, token).status_code == 303
    return patient, client


def page(client, path, at):
    with frozen(at):
        response = client.get(path)
    assert response.status_code == 200
    return page_html(response)


def strip(html) -> list[str]:
    return [text_of(step) for step in html.select("ol.phases > li.phase")]


def current_step(html) -> str:
    [step] = html.select('ol.phases > li.phase[aria-current="step"]')
    return text_of(step)


def cycle_lines(html) -> list[tuple[str, str, str]]:
    """(data-session, state, heading) of each cycle of the Timeline."""
    return [(c["data-session"], c["class"][-1], text_of(c.select_one("h2")))
            for c in html.select("section.cycle")]


def change_clinic(clinic, first_weeks_days=28, **window_hours):
    settings = ClinicSettings.of(clinic.id)
    settings.first_weeks_days = first_weeks_days
    settings.window_hours = window_hours
    db.session.add(settings)
    db.session.commit()


# -- the phase strip on Today ----------------------------------------------------------------


@pytest.mark.parametrize("area", ["face", "scalp", "body"])
def test_the_strip_reads_as_a_progress_line_with_dates(app, clinic, area):
    _, client = phone(app, clinic, area=area)
    html = page(client, "/today", DAY_1)
    assert strip(html) == ["Settling · to Sun 22 Nov", "Recovering · to 10 Dec",
                           "Session 2 · week of 11 Dec"]
    assert current_step(html) == "Settling · to Sun 22 Nov"
    assert [li["class"] for li in html.select("ol.phases > li")] == [
        ["phase", "phase-immediate", "current"], ["phase", "phase-first_weeks", "ahead"],
        ["phase", "phase-session", "ahead"]]
    assert html.select_one("ol.phases")["aria-label"] == "Your aftercare, step by step"
    assert html.select_one("p.phase-summary")["data-phase"] == "immediate"


@pytest.mark.parametrize("area", ["face", "scalp", "body"])
def test_the_strip_in_the_second_week_and_after_the_course(app, clinic, area):
    _, client = phone(app, clinic, area=area, sessions=1)
    html = page(client, "/today", SESSION + timedelta(days=8))
    assert strip(html) == ["Settling (done)", "Recovering · to 18 Dec",
                           "Over your course · from 18 Dec"]
    html = page(client, "/today", SESSION + timedelta(days=40))
    assert strip(html) == ["Settling (done)", "Recovering (done)", "Over your course"]
    assert current_step(html) == "Over your course"


def test_the_strip_follows_the_clinics_first_weeks(app, clinic):
    """The clinic's first weeks are 14 days: "Over your course" fills the week before the next
    session, and a date within the coming week carries its weekday."""
    change_clinic(clinic, first_weeks_days=14, heat=72)
    _, client = phone(app, clinic)
    assert strip(page(client, "/today", DAY_1)) == [
        "Settling · to Sun 22 Nov", "Recovering · to 4 Dec", "Over your course · to 10 Dec",
        "Session 2 · week of 11 Dec"]
    html = page(client, "/today", SESSION + timedelta(days=16))  # Sun 6 Dec
    assert strip(html) == ["Settling (done)", "Recovering (done)",
                           "Over your course · to Thu 10 Dec", "Session 2 · week of 11 Dec"]
    assert current_step(html) == "Over your course · to Thu 10 Dec"


def test_the_strip_before_the_first_session_and_with_a_booked_one(app, clinic):
    patient, client = phone(app, clinic, at=SESSION - timedelta(days=2))
    html = page(client, "/today", SESSION - timedelta(days=2))
    assert strip(html) == ["Getting ready", "Session 1 · Fri 20 Nov", "Settling · to Sun 22 Nov"]
    assert current_step(html) == "Getting ready"
    with frozen(DAY_1):
        courses.record_session(patient, datetime(2026, 12, 12, 14, 30, tzinfo=UTC), None)
        db.session.commit()
    assert strip(page(client, "/today", DAY_1))[1:] == ["Recovering · to 11 Dec",
                                                        "Session 2 · 12 Dec"]


def test_an_overdue_session_is_not_booked_yet(app, clinic):
    _, client = phone(app, clinic)
    html = page(client, "/today", datetime(2026, 12, 14, 8, 0, tzinfo=UTC))
    assert strip(html) == ["Settling (done)", "Recovering · to Fri 18 Dec",
                           "Over your course · from Fri 18 Dec", "Session 2 · not booked yet"]


# -- the Timeline ----------------------------------------------------------------------------


def test_the_current_cycle_is_open_and_the_others_are_one_line(app, clinic):
    _, client = phone(app, clinic, at=SESSION - timedelta(days=5))
    html = page(client, "/timeline", DAY_1)
    assert cycle_lines(html) == [
        ("0", "past", f"Before your first session · 15{TO}19 Nov"),
        ("1", "current", "After session 1 · Fri 20 Nov"),
        ("2", "future", "Session 2 · week of 11 Dec · same aftercare"),
        ("3", "future", "Session 3 · week of 1 Jan · same aftercare"),
        ("4", "future", "Session 4 · week of 22 Jan · same aftercare"),
    ]
    [current] = html.select("section.cycle.current")
    assert current.select_one("details") is None
    assert current.select_one('li.day[aria-current="date"]') is not None
    for closed in html.select("section.cycle.past, section.cycle.future"):
        details = closed.select_one(":scope > details")
        assert details is not None and not details.has_attr("open")
        assert details.select_one(":scope > summary > h2") is not None
        assert details.select("li.day")  # its days, one tap away
        assert not closed.select(":scope > ol.days")
    # Every cycle's heading names its section.
    for cycle in html.select("section.cycle"):
        assert cycle.select_one(f"h2#{cycle['aria-labelledby']}") is not None


def test_the_current_cycles_rows_merge_quiet_days_and_one_instants_events(app, clinic):
    _, client = phone(app, clinic)
    html = page(client, "/timeline", DAY_1)
    [current] = html.select("section.cycle.current")
    rows = [text_of(row.select_one(".date")) + " | " + text_of(row.select_one(".daynum"))
            for row in current.select("li.day")]
    assert rows == [
        "Fri 20 Nov | Day 0 · Settling (past)",
        "Sat 21 Nov | Day 1 · Settling Today",
        "Sun 22 Nov | Day 2 · Recovering",
        f"Mon 23 Nov {TO} Thu 26 Nov | Days 3{TO}6 · Recovering",
        "Fri 27 Nov | Day 7 · Recovering",
        f"Sat 28 Nov {TO} Thu 3 Dec | Days 8{TO}13 · Recovering",
        "Fri 4 Dec | Day 14 · Recovering",
        f"Sat 5 Dec {TO} Thu 10 Dec | Days 15{TO}20 · Recovering",
    ]
    sunday = current.select("li.day")[2]
    [event] = sunday.select("li.event")
    assert event["data-keys"] == "heat sun makeup"
    assert text_of(event) == ("OK again from 10:00: Sauna, hot baths and workouts · Time outdoors "
                              "with sunscreen (still no sunbathing) · Your usual makeup")
    friday = current.select("li.day")[6]
    assert [(e["class"], e["data-keys"]) for e in friday.select("li.event")] == [
        (["event", "event-ends"], "vitamin_a acids_peels"),
        (["event", "event-starts"], "tanning_beds")]
    assert text_of(friday.select("li.event")[1]) == (
        "From 10:00 until your next session, avoid: Tanning beds")
    # No two rows in a row without anything to say in the same phase, anywhere in the course.
    for cycle in html.select("section.cycle"):
        quiet = [" ".join(row["class"]) if not row.select("li.event") else None
                 for row in cycle.select("li.day")]
        assert not any(a and a == b for a, b in itertools.pairwise(quiet))


def test_the_clinics_windows_split_what_ends_at_different_times(app, clinic):
    change_clinic(clinic, heat=72)
    _, client = phone(app, clinic)
    [current] = page(client, "/timeline", DAY_1).select("section.cycle.current")
    ends = {text_of(row.select_one(".date")): [e.get("data-keys") for e in row.select("li.event")]
            for row in current.select("li.day") if row.select("li.event")}
    assert ends["Sun 22 Nov"] == ["sun makeup"]
    assert ends["Mon 23 Nov"] == ["heat"]


def test_later_in_the_course_past_sessions_are_done_and_booked_ones_have_their_time(app,
                                                                                  clinic):
    patient, client = phone(app, clinic)
    with frozen(datetime(2026, 12, 11, 12, 0, tzinfo=UTC)):
        courses.record_session(patient, datetime(2026, 12, 11, 9, 0, tzinfo=UTC), None)
        courses.record_session(patient, datetime(2027, 1, 2, 14, 0, tzinfo=UTC), None)
        db.session.commit()
    html = page(client, "/timeline", datetime(2026, 12, 14, 8, 0, tzinfo=UTC))
    assert cycle_lines(html) == [
        ("1", "past", "Session 1 · 20 Nov · done"),
        ("2", "current", "After session 2 · Fri 11 Dec"),
        ("3", "future", "Session 3 · Sat 2 Jan, 15:00 · same aftercare"),
        ("4", "future", "Session 4 · week of 23 Jan · same aftercare"),
    ]
    assert text_of(html.select_one(".hero")).count("Session 2 of 4 done.") == 1


def test_after_the_course_the_last_session_stays_open(app, clinic):
    _, client = phone(app, clinic, sessions=2)
    html = page(client, "/timeline", datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    assert [(n, state) for n, state, _ in cycle_lines(html)] == [("1", "past"), ("2", "current")]
    assert html.select('[aria-current="date"]') == []


@pytest.mark.parametrize("days", [0, 1, 5, 12, 30, 70])
def test_no_cumulative_jargon_on_the_patients_pages(app, clinic, days):
    _, client = phone(app, clinic, sessions=2, interval=6)
    at = SESSION + timedelta(days=days, hours=3)
    for path in ("/today", "/timeline"):
        shown = text_of(page(client, path, at).select_one("main"))
        assert "cumulative" not in shown.lower(), (path, days)


def test_before_the_first_session_the_days_before_it_are_open(app, clinic):
    _, client = phone(app, clinic, at=SESSION - timedelta(days=5))
    html = page(client, "/timeline", SESSION - timedelta(days=5))
    assert cycle_lines(html) == [
        ("0", "current", "Before your first session"),
        ("1", "future", "Session 1 · Fri 20 Nov, 10:00"),  # nothing yet to be the same as
        ("2", "future", "Session 2 · week of 11 Dec · same aftercare"),
        ("3", "future", "Session 3 · week of 1 Jan · same aftercare"),
        ("4", "future", "Session 4 · week of 22 Jan · same aftercare"),
    ]
    [current] = html.select("section.cycle.current")
    assert [text_of(row) for row in current.select("li.day")] == [
        "Sun 15 Nov 5 days before · Getting ready Today",
        f"Mon 16 Nov {TO} Thu 19 Nov 1 to 4 days before · "
        "Getting ready"]
