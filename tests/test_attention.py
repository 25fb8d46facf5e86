"""The clinic's follow-up as services (meso/attention.py): who needs attention and in which
order, acknowledging with a note (audited without health data), and missed check-ins on the
first days after a session, counted in the patient's local days."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import create_clinic, create_staff, enrol_patient
from helpers import frozen
from staff_helpers import add_checkin

from meso import attention, courses
from meso.extensions import db
from meso.models import AuditEvent, CheckIn

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 13:00 in Rome
ROME = ZoneInfo("Europe/Rome")


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(NOW):
        yield


@pytest.fixture
def clinic(app):
    return create_clinic()


@pytest.fixture
def staff(clinic):
    return create_staff(clinic)


def enrol(clinic, name, first_session=NOW - timedelta(days=3), **kwargs):
    return enrol_patient(clinic, name=name, first_session=first_session, **kwargs)[0]


def listed(clinic) -> list[tuple[str, str]]:
    names = {p_id: name for p_id, name in db.session.execute(
        sa.text("SELECT id, name FROM patient"))}
    return [(names[a.patient_id], a.level) for a in attention.needing_attention(clinic.id)]


# -- who needs attention ------------------------------------------------------------------------


def test_emergency_first_then_call_clinic_each_oldest_first(clinic, staff):
    late_call = enrol(clinic, "Late Call")
    add_checkin(late_call, NOW - timedelta(hours=1), "call_clinic")
    early_call = enrol(clinic, "Early Call")
    add_checkin(early_call, NOW - timedelta(hours=5), "call_clinic")
    add_checkin(early_call, NOW - timedelta(hours=2), "call_clinic")
    emergency = enrol(clinic, "Emergency Now")
    add_checkin(emergency, NOW - timedelta(minutes=10), "emergency")
    # A call_clinic alert long ago, then an emergency: an emergency patient, waiting longest.
    both = enrol(clinic, "Both Kinds")
    add_checkin(both, NOW - timedelta(days=1), "call_clinic")
    add_checkin(both, NOW - timedelta(minutes=5), "emergency")
    # Not alerts: expected and watch, an acknowledged one, an archived patient's, another
    # clinic's.
    calm = enrol(clinic, "Calm Person")
    add_checkin(calm, NOW - timedelta(hours=9), "watch")
    add_checkin(calm, NOW - timedelta(hours=8), "expected")
    done = enrol(clinic, "Done Already")
    attention_done = add_checkin(done, NOW - timedelta(hours=9), "call_clinic")
    attention_done.acknowledged_at, attention_done.acknowledged_by_id = NOW, staff.id
    gone = enrol(clinic, "Archived Person")
    add_checkin(gone, NOW - timedelta(hours=9), "emergency")
    courses.archive(gone, staff)
    other = enrol(create_clinic(name="Clinica Napoli"), "Other Clinic")
    add_checkin(other, NOW - timedelta(days=2), "emergency")
    db.session.commit()

    assert listed(clinic) == [
        ("Both Kinds", "emergency"), ("Emergency Now", "emergency"),
        ("Early Call", "call_clinic"), ("Late Call", "call_clinic"),
    ]
    since = {a.patient_id: a.since for a in attention.needing_attention(clinic.id)}
    assert since[early_call.id] == NOW - timedelta(hours=5)
    assert [c.advice for c in attention.open_alerts(early_call)] == ["call_clinic"] * 2
    assert attention.open_alerts(calm) == [] and attention.open_alerts(done) == []


# -- acknowledging ------------------------------------------------------------------------------


def audit_rows() -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "checkin.acknowledged").order_by(AuditEvent.id)))


def test_acknowledge_closes_every_open_alert_and_audits_ids_only(clinic, staff):
    patient = enrol(clinic, "Maria Rossi")
    first = add_checkin(patient, NOW - timedelta(hours=4), "call_clinic", symptoms="fever",
                        signs={"swelling": "strong"}, trend="worse")
    second = add_checkin(patient, NOW - timedelta(hours=1), "emergency", symptoms="breathing")
    calm = add_checkin(patient, NOW - timedelta(hours=2), "watch")
    neighbour = enrol(clinic, "Luca Bianchi")
    theirs = add_checkin(neighbour, NOW - timedelta(hours=3), "call_clinic")
    note = "  Called back: fever gone, seen tomorrow 9:00.  "

    ids = attention.acknowledge(patient, staff, note, NOW + timedelta(minutes=1))
    db.session.commit()

    assert ids == [first.id, second.id]
    db.session.expire_all()
    for checkin in (first, second):
        assert checkin.acknowledged_at == NOW + timedelta(minutes=1)
        assert checkin.acknowledged_by.email == staff.email
        assert checkin.acknowledgement_note == "Called back: fever gone, seen tomorrow 9:00."
        assert not checkin.needs_attention
    assert calm.acknowledged_at is None and theirs.acknowledged_at is None
    # The patient leaves the top; the neighbour stays.
    assert listed(clinic) == [("Luca Bianchi", "call_clinic")]
    [event] = audit_rows()
    assert (event.staff_user_id, event.patient_id, event.clinic_id) == (
        staff.id, patient.id, clinic.id)
    assert event.detail == {"checkins": f"{first.id}, {second.id}", "count": 2}
    # No health data in the trail: neither the note nor an answer.
    stored = json.dumps(event.detail)
    for word in ("fever", "Called", "breathing", "swelling", "worse", "emergency"):
        assert word not in stored


@pytest.mark.parametrize("note", ["", "   \n\t ", None, 42, "x" * 281, " " + "y" * 281])
def test_a_missing_or_long_note_changes_nothing(clinic, staff, note):
    patient = enrol(clinic, "Maria Rossi")
    alert = add_checkin(patient, NOW - timedelta(hours=1), "call_clinic")
    with pytest.raises(attention.NoteError) as refused:
        attention.acknowledge(patient, staff, note, NOW)
    assert "note" in str(refused.value)
    db.session.commit()
    db.session.expire_all()
    assert alert.needs_attention and alert.acknowledgement_note == ""
    assert audit_rows() == []


def test_a_note_of_exactly_280_characters_is_kept(clinic, staff):
    patient = enrol(clinic, "Maria Rossi")
    alert = add_checkin(patient, NOW - timedelta(hours=1), "call_clinic")
    assert attention.acknowledge(patient, staff, " " + "n" * 280 + " ", NOW) == [alert.id]
    db.session.commit()
    db.session.expire_all()
    assert alert.acknowledgement_note == "n" * 280


def test_an_alert_newer_than_the_page_stays_open(clinic, staff):
    patient = enrol(clinic, "Maria Rossi")
    seen = add_checkin(patient, NOW - timedelta(hours=1), "call_clinic")
    newer = add_checkin(patient, NOW - timedelta(minutes=1), "emergency")
    assert attention.acknowledge(patient, staff, "Called back", NOW, seen_up_to=seen.id) == [
        seen.id]
    db.session.commit()
    assert [c.id for c in attention.open_alerts(patient)] == [newer.id]
    assert listed(clinic) == [("Maria Rossi", "emergency")]


def test_nothing_open_acknowledges_nothing_and_audits_nothing(clinic, staff):
    patient = enrol(clinic, "Maria Rossi")
    alert = add_checkin(patient, NOW - timedelta(hours=1), "call_clinic")
    colleague = create_staff(clinic, email="luca@clinic.example")
    assert attention.acknowledge(patient, colleague, "Called back first", NOW) == [alert.id]
    # A second acknowledgement (two colleagues at once) never overwrites the first note.
    assert attention.acknowledge(patient, staff, "Me too", NOW + timedelta(seconds=5)) == []
    db.session.commit()
    db.session.expire_all()
    assert alert.acknowledgement_note == "Called back first"
    assert alert.acknowledged_by_id == colleague.id
    assert len(audit_rows()) == 1


# -- missed check-ins ---------------------------------------------------------------------------

SESSION = datetime(2026, 11, 22, 10, 0, tzinfo=ROME)  # day 3 at NOW


def at_local(day: int, clock: str = "12:00") -> datetime:
    """The instant of a wall-clock time in Rome on day ``day`` after SESSION."""
    return datetime.combine(SESSION.date() + timedelta(days=day), time.fromisoformat(clock),
                            tzinfo=ROME).astimezone(UTC)


@pytest.mark.parametrize(("today", "checked_in", "expected"), [
    (0, [], ()),
    (1, [], ()),  # day 1 is not over yet
    (2, [], (1,)),
    (2, [1], ()),
    (3, [1], (2,)),
    (3, [0], (1, 2)),  # the session day's check-in is not day 1's
    (3, [3], (1, 2)),  # today's does not fill the gap either
    (4, [2], (1, 3)),  # a missed day 3 is seen on day 4
    (5, [], ()),  # from day 5, no longer shown
])
def test_missed_days_one_to_three(clinic, today, checked_in, expected):
    patient = enrol(clinic, "Maria Rossi", first_session=SESSION)
    for day in checked_in:
        add_checkin(patient, at_local(day, "08:00"))
    now = at_local(today, "00:30")
    assert attention.missed_days(patient, now) == expected
    assert attention.missed_checkins(clinic.id, now) == ({patient.id: expected} if expected
                                                         else {})


def test_missed_days_count_from_the_latest_session(clinic, staff):
    patient = enrol(clinic, "Maria Rossi", first_session=SESSION - timedelta(weeks=3))
    now = at_local(3, "09:00")
    # Long after session 1: nothing shown.
    assert attention.missed_days(patient, now) == ()
    courses.record_session(patient, SESSION.astimezone(UTC), staff)
    # A booked session in the future does not count.
    courses.record_session(patient, (SESSION + timedelta(weeks=3)).astimezone(UTC), staff)
    add_checkin(patient, at_local(2, "20:00"))
    db.session.commit()
    assert attention.missed_days(patient, now) == (1,)


def test_missed_days_in_a_daylight_saving_week_in_rome(clinic):
    # Session on Saturday 24 October 2026, 10:00; on Sunday 25 the clocks go back at 03:00, so
    # day 1 lasts 25 hours. Days are the patient's calendar days, not 24-hour blocks in UTC.
    session = datetime(2026, 10, 24, 10, 0, tzinfo=ROME)
    patient = enrol(clinic, "Maria Rossi", first_session=session)
    monday_0030 = datetime(2026, 10, 26, 0, 30, tzinfo=ROME)  # Sunday 23:30 UTC
    assert monday_0030.astimezone(UTC).date().isoformat() == "2026-10-25"
    assert attention.missed_days(patient, monday_0030) == (1,)
    # Sent at 00:15 on Monday in Rome (still Sunday in UTC): Monday's, day 2, not day 1.
    early = add_checkin(patient, datetime(2026, 10, 26, 0, 15, tzinfo=ROME))
    assert early.local_date.isoformat() == "2026-10-26"
    tuesday_0030 = datetime(2026, 10, 27, 0, 30, tzinfo=ROME)
    assert attention.missed_days(patient, tuesday_0030) == (1,)
    # Sunday's check-in, late in the long day (23:30 CET is 22:30 UTC), fills day 1.
    add_checkin(patient, datetime(2026, 10, 25, 23, 30, tzinfo=ROME))
    assert attention.missed_days(patient, tuesday_0030) == ()
    # Wednesday 28 at 23:59 is still day 4: day 3 (Tuesday) was missed.
    assert attention.missed_days(patient, datetime(2026, 10, 28, 23, 59, tzinfo=ROME)) == (3,)
    assert attention.missed_days(patient, datetime(2026, 10, 29, 0, 1, tzinfo=ROME)) == ()


def test_missed_days_use_each_patient_s_own_zone(clinic):
    # The same instant is day 2 in Rome but still day 1 in New York.
    rome = enrol(clinic, "Rome Patient", first_session=datetime(2026, 11, 22, 16, 0, tzinfo=UTC))
    york = enrol(clinic, "York Patient", first_session=datetime(2026, 11, 22, 16, 0, tzinfo=UTC),
                 timezone="America/New_York")
    now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 03:00 Tuesday in Rome, 21:00 Monday in NY
    assert attention.missed_checkins(clinic.id, now) == {rome.id: (1,)}
    assert york.id not in attention.missed_checkins(clinic.id, now + timedelta(hours=2))
    assert attention.missed_checkins(clinic.id, now + timedelta(hours=4)) == {
        rome.id: (1,), york.id: (1,)}


def test_missed_days_are_clinic_scoped_and_skip_archived_patients(clinic, staff):
    mine = enrol(clinic, "Maria Rossi", first_session=SESSION)
    gone = enrol(clinic, "Old Patient", first_session=SESSION)
    courses.archive(gone, staff)
    other = enrol(create_clinic(name="Clinica Napoli"), "Luca Napoli", first_session=SESSION)
    db.session.commit()
    now = at_local(3)
    assert attention.missed_checkins(clinic.id, now) == {mine.id: (1, 2)}
    assert attention.missed_days(other, now) == (1, 2)  # its own clinic's, asked directly
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 0
