"""What the roster filters attention by, stored on the patient's row (meso/attention_watch.py):
the missed check-in interval against attention.py's own rule (DST weeks, a midnight that does
not exist), the watch flag and its review instant, every write that marks a patient for review,
the refresh once an instant has passed, and the roster's attention filter agreeing with the
reasons each row shows. Runs on SQLite and on PostgreSQL (`make pytest-postgres`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import create_clinic, enrol_patient
from helpers import frozen
from staff_helpers import add_checkin

from meso import access, attention, attention_watch, courses, policy, roster_query
from meso.attention import MISSED_DAYS
from meso.extensions import db
from meso.models import Patient, PatientDevice
from meso.models.core import ATTENTION_STALE
from meso.roster_query import roster_page

ROME = ZoneInfo("Europe/Rome")
SANTIAGO = ZoneInfo("America/Santiago")  # its clocks change at midnight: 2026-09-06 has none
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def rule(latest: datetime, zone: ZoneInfo, checked: set[date], now: datetime) -> bool:
    """attention.py's rule, as it reads: a day of MISSED_DAYS over and not checked in."""
    days = attention._days_over(latest, zone, now)
    return any(day not in checked for day in days.values())


@pytest.mark.parametrize("zone, latest", [
    (ROME, datetime(2026, 10, 24, 10, 0, tzinfo=ROME)),  # day 1 is 25 hours long
    (ROME, datetime(2026, 3, 28, 23, 30, tzinfo=ROME)),  # day 1 is 23 hours long
    (ROME, datetime(2026, 11, 23, 0, 0, tzinfo=ROME)),  # at midnight itself
    (SANTIAGO, datetime(2026, 9, 4, 18, 0, tzinfo=SANTIAGO)),  # day 2 starts at 01:00
    (SANTIAGO, datetime(2026, 4, 3, 9, 0, tzinfo=SANTIAGO)),  # day 1 repeats 23:00
    (ZoneInfo("UTC"), datetime(2026, 11, 22, 23, 59, tzinfo=UTC)),
])
@pytest.mark.parametrize("checked_days", [(), (1,), (2,), (1, 2), (1, 3), (1, 2, 3)])
def test_the_missed_interval_is_the_rule_at_every_instant(zone, latest, checked_days):
    session_day = latest.astimezone(zone).date()
    checked = {session_day + timedelta(days=d) for d in checked_days}
    start, until = attention_watch.missed_window(latest.astimezone(UTC), zone, checked)
    assert (start is None) == (set(checked_days) == set(MISSED_DAYS))
    now = latest.astimezone(UTC)
    while now < latest + timedelta(days=7):
        stored = start is not None and until is not None and start <= now < until
        assert stored == rule(latest, zone, checked, now), now
        # Either side of each boundary, to the second.
        now += timedelta(minutes=10) if now.minute % 60 else timedelta(minutes=1)
    for edge in (start, until):
        if edge is not None:
            for instant in (edge - timedelta(seconds=1), edge):
                assert (start <= instant < until) == rule(latest, zone, checked, instant)


def test_a_local_day_that_starts_in_a_dst_gap_starts_when_the_gap_ends():
    start = attention_watch.day_start(date(2026, 9, 6), SANTIAGO)
    assert start.astimezone(SANTIAGO).date() == date(2026, 9, 6)
    assert (start - timedelta(seconds=1)).astimezone(SANTIAGO).date() == date(2026, 9, 5)


SCENARIOS = [
    # (created, session starts, planned, interval, opened, checked day numbers)
    (NOW - timedelta(days=1), [NOW + timedelta(days=2)], 4, 3, False, ()),
    (NOW - timedelta(days=10), [NOW - timedelta(days=9), NOW - timedelta(days=2)], 4, 1,
     True, (1,)),
    (NOW - timedelta(days=30), [NOW - timedelta(days=29)], 4, 3, True, ()),  # overdue soon
    (NOW - timedelta(days=3), [NOW - timedelta(hours=30), NOW + timedelta(days=20)], 4, 3,
     True, ()),
    (NOW - timedelta(days=90), [NOW - timedelta(days=80), NOW - timedelta(days=59),
                                NOW - timedelta(days=38)], 3, 3, True, ()),  # course done
]


@pytest.mark.parametrize("created, starts, planned, interval, opened, checked_days", SCENARIOS)
def test_the_stored_values_hold_until_the_review_instant(created, starts, planned, interval,
                                                         opened, checked_days):
    """Between one computation and its review instant nothing stored changes: what is
    computed at any instant up to it is the same (sampled every 20 minutes for 10 days)."""
    from meso import next_session

    def at(now):
        held = [s for s in starts if s <= now]
        day = max(held).astimezone(ROME).date() if held else None
        checked = {day + timedelta(days=d) for d in checked_days} if day else set()
        next_at, booked = next_session.due(starts, planned, interval, now)
        return attention_watch.compute(now, created, starts, ROME, checked, next_at, booked,
                                       opened)

    now = NOW - timedelta(days=3)
    while now < NOW + timedelta(days=7):
        found = at(now)
        assert found.review_at is None or found.review_at > now
        following = now + timedelta(minutes=20)
        if found.review_at is None or following < found.review_at:
            later = at(following)
            assert (later.watch, later.missed_from, later.missed_until) == \
                (found.watch, found.missed_from, found.missed_until), (now, following)
        now = following


# -- in the database --------------------------------------------------------------------------


@pytest.fixture
def clinic(app):
    with frozen(NOW):
        yield create_clinic()


def stored(patient: Patient) -> Patient:
    db.session.refresh(patient)
    return patient


def settled(patient: Patient, now: datetime = NOW) -> Patient:
    """The patient as the roster leaves them: due rows recomputed and committed."""
    attention_watch.refresh(patient.clinic_id, now)
    db.session.commit()
    return stored(patient)


def test_every_write_it_depends_on_marks_the_patient_for_review(clinic):
    with frozen(NOW):
        patient, _ = enrol_patient(clinic, first_session=NOW - timedelta(days=2))
        assert stored(patient).attention_review_at == ATTENTION_STALE  # new: due at once
        assert settled(patient).attention_review_at > NOW
        add_checkin(patient, NOW)
        assert stored(patient).attention_review_at == ATTENTION_STALE
        assert settled(patient).attention_review_at > NOW
        access.add_device(patient, NOW)
        db.session.commit()
        assert stored(patient).attention_review_at == ATTENTION_STALE
        assert settled(patient).attention_review_at > NOW
        courses.record_session(patient, NOW + timedelta(days=20), None)
        db.session.commit()
        assert stored(patient).attention_review_at == ATTENTION_STALE
        settled(patient)
        # A device's last-seen time (written by the pages once an hour) changes nothing.
        device = db.session.scalars(sa.select(PatientDevice)).one()
        device.last_seen_at = NOW + HOUR
        db.session.commit()
        assert stored(patient).attention_review_at > NOW


def test_the_stored_values_follow_the_course_the_check_ins_and_the_devices(clinic):
    session = datetime(2026, 11, 23, 10, 0, tzinfo=ROME)
    with frozen(NOW):
        patient, _ = enrol_patient(clinic, first_session=session)
        patient = settled(patient)
        assert patient.first_session_at == session
        # Wednesday 25 at noon: day 1 (Tuesday 24) is over with no check-in.
        assert patient.missed_from == datetime(2026, 11, 25, 0, 0, tzinfo=ROME)
        assert patient.missed_until == datetime(2026, 11, 28, 0, 0, tzinfo=ROME)
        assert patient.attention_watch
        add_checkin(patient, datetime(2026, 11, 24, 20, 0, tzinfo=ROME))  # day 1
        patient = settled(patient)
        assert patient.missed_from == datetime(2026, 11, 26, 0, 0, tzinfo=ROME)  # day 2's end
        assert patient.attention_watch  # the link was never opened
        access.add_device(patient, NOW)
        patient.email, patient.email_consent_at = "maria@example.com", NOW
        db.session.commit()
        patient = settled(patient)
        # Opened, reached, not overdue, day 2 not over yet: nothing until Thursday 00:00.
        assert not patient.attention_watch
        assert patient.attention_review_at == datetime(2026, 11, 26, 0, 0, tzinfo=ROME)


def in_attention_list(clinic, now: datetime) -> set[int]:
    page = roster_page(clinic.id, policy.clinic_protocol(clinic), now, attention_only=True)
    db.session.commit()
    return {row.id for row in page.rows}


def test_the_attention_filter_follows_the_clock_across_midnight_and_dst(clinic):
    """A patient reached, opened and booked: only missed check-ins can list them, from the
    end of day 1 (local midnight, a 25-hour day in Rome) to the end of day 4."""
    session = datetime(2026, 10, 24, 10, 0, tzinfo=ROME)  # Saturday; Sunday has 25 hours
    with frozen(session - timedelta(days=1)):
        patient, _ = enrol_patient(clinic, first_session=session)
        access.add_device(patient, session)
        patient.email, patient.email_consent_at = "maria@example.com", session
        courses.record_session(patient, session + timedelta(weeks=3), None)
        db.session.commit()
    day_one_over = datetime(2026, 10, 26, 0, 0, tzinfo=ROME)  # 2026-10-25 23:00 UTC
    shown_until = datetime(2026, 10, 29, 0, 0, tzinfo=ROME)
    for now, listed in ((day_one_over - timedelta(seconds=1), False), (day_one_over, True),
                        (shown_until - timedelta(seconds=1), True), (shown_until, False)):
        now = now.astimezone(UTC)
        with frozen(now):
            assert (patient.id in in_attention_list(clinic, now)) is listed, now
            assert bool(attention.missed_days(patient, now)) is listed
    with frozen(day_one_over + HOUR):
        add_checkin(patient, datetime(2026, 10, 25, 21, 0, tzinfo=ROME))  # day 1, late
        assert patient.id not in in_attention_list(clinic, day_one_over + HOUR)


def test_the_attention_filter_lists_exactly_the_patients_whose_rows_show_a_reason(clinic):
    """Old and new ways agree: at each instant of a week, the "needs attention" list holds
    the patients whose row shows a reason (worked out per row, in Python), and the default
    order puts them before everyone else."""
    with frozen(NOW - timedelta(days=4)):
        start = NOW - timedelta(days=4)
        people = []
        for n, (first, opened, reached) in enumerate([
                (start - timedelta(days=20), True, True),  # overdue in a few days
                (start + timedelta(hours=30), True, True),  # missed days after its session
                (start + timedelta(days=2), False, True),  # never opened
                (start + timedelta(hours=2), True, False),  # unreached in the first hours
                (start - timedelta(days=1), True, True),  # checks in every day
                (start + timedelta(days=40), True, True)]):  # nothing at all, for weeks
            patient, _ = enrol_patient(clinic, name=f"Patient {n}", first_session=first,
                                       sessions=3, interval=3)
            if opened:
                access.add_device(patient, start)
            if reached:
                patient.email, patient.email_consent_at = f"p{n}@example.com", start
            people.append(patient)
        db.session.commit()
    diligent = people[4]
    for hours in range(0, 24 * 7, 5):
        now = start + timedelta(hours=hours)
        with frozen(now):
            if hours % 24 < 5:
                add_checkin(diligent, now)
            page = roster_page(clinic.id, policy.clinic_protocol(clinic), now)
            db.session.commit()
            shown = {row.id for row in page.rows if row.attention}
            assert in_attention_list(clinic, now) == shown, now
            order = [bool(row.attention) for row in page.rows]
            assert order == sorted(order, reverse=True), now  # those who need it first


def test_the_count_stops_past_the_page_and_every_page_still_comes(clinic, monkeypatch):
    with frozen(NOW):
        for n in range(8):
            enrol_patient(clinic, name=f"Patient {n}", first_session=NOW - timedelta(days=n))
        protocol = policy.clinic_protocol(clinic)
        everyone = [row.id for row in roster_page(clinic.id, protocol, NOW, sort="name").rows]
        monkeypatch.setattr(roster_query, "PER_PAGE", 2)
        monkeypatch.setattr(roster_query, "COUNT_CAP", 3)
        first = roster_page(clinic.id, protocol, NOW, sort="name")
        assert (first.total, first.pages, first.more) == (3, 2, True)
        seen = []
        for number in range(1, 5):
            page = roster_page(clinic.id, protocol, NOW, sort="name", page=number)
            assert page.page == number
            seen += [row.id for row in page.rows]
        assert seen == everyone
        last = roster_page(clinic.id, protocol, NOW, sort="name", page=4)
        assert (last.total, last.pages, last.more) == (8, 4, False)
        assert roster_page(clinic.id, protocol, NOW, sort="name", page=99).page == 4


def test_a_name_search_counts_to_its_own_smaller_cap(clinic, monkeypatch):
    """SEARCH_CAP: a common name's matches stop being counted sooner than the roster's."""
    with frozen(NOW):
        for n in range(6):
            enrol_patient(clinic, name=f"Rossi {n}", first_session=NOW - timedelta(days=n))
        enrol_patient(clinic, name="Bianchi", first_session=NOW)
        protocol = policy.clinic_protocol(clinic)
        monkeypatch.setattr(roster_query, "PER_PAGE", 2)
        monkeypatch.setattr(roster_query, "COUNT_CAP", 5)
        monkeypatch.setattr(roster_query, "SEARCH_CAP", 3)
        everyone = roster_page(clinic.id, protocol, NOW, sort="name")
        assert (everyone.total, everyone.more) == (5, True)
        found = roster_page(clinic.id, protocol, NOW, query="ross", sort="name")
        assert (found.total, found.pages, found.more) == (3, 2, True)
        last = roster_page(clinic.id, protocol, NOW, query="ross", sort="name", page=3)
        assert (last.total, last.more) == (6, False)
        assert [row.name for row in last.rows] == ["Rossi 4", "Rossi 5"]


def test_a_count_reads_its_rows_in_the_page_s_order(clinic):
    """The count of a group is limited in the page's order, so that PostgreSQL walks the order's
    index and stops at the limit (a common name's trigram matches are not all read first); not
    the archived list's, which no index has in that order (ordered, it would sort them all)."""
    from test_page_cache import statements

    with frozen(NOW):
        for n in range(4):
            enrol_patient(clinic, name=f"Rossi {n}", first_session=NOW - timedelta(days=n))
        archived = enrol_patient(clinic, name="Rossi archived", first_session=NOW)[0]
        courses.archive(archived, None)
        db.session.commit()
        protocol = policy.clinic_protocol(clinic)
        for kwargs in ({"query": "ross"}, {"query": "ross", "sort": "name"}, {"sort": "recent"},
                       {"attention_only": True}, {"archived": True},
                       {"archived": True, "query": "ross"}):
            with statements() as seen:
                assert roster_page(clinic.id, protocol, NOW, **kwargs).rows, kwargs
            counts = [" ".join(s.split()) for s in seen
                      if s.lstrip().upper().startswith("SELECT COUNT(*)")]
            pages = [s for s in seen if "LIMIT" in s and "count(" not in s.lower()
                     and s.lstrip().startswith("SELECT patient.id")]
            assert counts and pages, kwargs
            order = pages[-1].split("ORDER BY", 1)[1].split("LIMIT", 1)[0].strip()
            for count in counts:
                if kwargs.get("archived"):
                    assert "ORDER BY" not in count, (kwargs, count)
                else:
                    assert f"ORDER BY {order}" in count, (kwargs, count)


def test_the_archived_list_reads_the_clinic_s_archived_patients_from_their_index(clinic):
    """ix_patient_roster_archived: on PostgreSQL the archived list's count and page find a
    clinic's archived patients without reading its current ones (before, a scan of every
    patient row; the tables here are small enough to scan, so scans are turned off to ask).
    SQLite, without statistics, reads the clinic's rows by its clinic index: never a scan."""
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    with frozen(NOW):
        for n in range(3):
            enrol_patient(clinic, name=f"Current {n}", first_session=NOW)
        gone = enrol_patient(clinic, name="Archived", first_session=NOW)[0]
        courses.archive(gone, None)
        db.session.commit()
        sa.event.listen(db.engine, "before_cursor_execute", keep)
        try:
            page = roster_page(clinic.id, policy.clinic_protocol(clinic), NOW, archived=True)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", keep)
    assert [row.name for row in page.rows] == ["Archived"]
    listed = [(statement, parameters) for statement, parameters in seen
              if "archived_at IS NOT NULL" in statement and "LIMIT" in statement]
    assert len(listed) >= 2, "a count and a page"
    postgres = db.engine.dialect.name == "postgresql"
    with db.engine.connect() as connection:
        if postgres:  # its statistics of these few rows, whatever earlier tests left
            connection.exec_driver_sql("ANALYZE patient")
            connection.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in listed:
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            plan = " ".join(str(row[-1]) for row in
                            connection.exec_driver_sql(explain + statement, parameters))
            if postgres:
                assert "ix_patient_roster_archived" in plan, (statement, plan)
            else:
                assert "SCAN patient" not in plan and "SEARCH patient USING" in plan, plan


def test_the_roster_says_more_than_the_count(app, clinic, monkeypatch):
    from staff_helpers import signed_in_client
    with frozen(NOW):
        for n in range(5):
            enrol_patient(clinic, name=f"Patient {n}", first_session=NOW - timedelta(days=n))
        client = signed_in_client(app, clinic)
        monkeypatch.setattr(roster_query, "PER_PAGE", 2)
        monkeypatch.setattr(roster_query, "COUNT_CAP", 3)
        html = client.get("/staff/?sort=name").get_data(as_text=True)
        assert "More than 3 patients" in html
        assert "Page 1 of more than 2" in html
        html = client.get("/staff/?sort=name&page=3").get_data(as_text=True)
        assert "5 patients" in html and "Page 3 of 3" in html


def test_the_worker_settles_rows_due_in_every_clinic_a_few_at_a_time(clinic):
    other = create_clinic(name="Clinica Milano")
    with frozen(NOW):
        patients = [enrol_patient(each, name=name, first_session=NOW - timedelta(days=2))[0]
                    for each, name in ((clinic, "Anna"), (other, "Bea"), (clinic, "Carla"))]
        assert attention_watch.refresh_some(NOW, limit=2) == 2
        db.session.commit()
        assert attention_watch.refresh_some(NOW, limit=2) == 1
        db.session.commit()
        assert attention_watch.refresh_some(NOW, limit=2) == 0  # nothing due: nothing done
        assert all(stored(patient).attention_review_at > NOW for patient in patients)
