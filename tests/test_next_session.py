"""The roster's stored next session (meso/next_session.py): what it holds, kept by every
course change, refreshed once a booked session has passed, and the roster's order at the
page boundary with patients who have open alerts listed first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import create_clinic, enrol_patient
from helpers import frozen

from meso import courses, next_session, policy
from meso.extensions import db
from meso.models import CheckIn, Patient
from meso.roster_query import PER_PAGE, roster_page

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WEEK = timedelta(weeks=1)


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(NOW):
        yield


def test_the_next_session_is_the_first_booked_else_the_projected_else_none():
    past, soon, later = NOW - 3 * WEEK, NOW + WEEK, NOW + 4 * WEEK
    assert next_session.due([past, later, soon], 4, 3, NOW) == (soon, True)
    assert next_session.due([past - 3 * WEEK, past], 4, 3, NOW) == (past + 3 * WEEK, False)
    assert next_session.due([past, past + WEEK], 2, 3, NOW) == (None, False)  # all done
    assert next_session.due([], 4, 3, NOW) == (None, False)


def stored(patient: Patient) -> tuple:
    db.session.refresh(patient)
    return patient.next_session_at, patient.next_session_booked


def test_every_course_change_keeps_it(app):
    clinic = create_clinic()
    patient, _ = enrol_patient(clinic, first_session=NOW - 2 * WEEK, sessions=3, interval=3)
    first = patient.course.sessions[0].starts_at
    assert stored(patient) == (first + 3 * WEEK, False)
    courses.record_session(patient, NOW + 2 * WEEK, None)
    db.session.commit()
    assert stored(patient) == (NOW + 2 * WEEK, True)
    courses.record_session(patient, NOW + 5 * WEEK, None)  # all three known
    db.session.commit()
    assert stored(patient) == (NOW + 2 * WEEK, True)


def test_a_booked_session_that_passed_is_refreshed_before_the_roster_sorts(app):
    clinic = create_clinic()
    soon, _ = enrol_patient(clinic, name="Soon", first_session=NOW - 3 * WEEK, sessions=4)
    courses.record_session(soon, NOW + timedelta(hours=1), None)  # booked, about to pass
    enrol_patient(clinic, name="Later", first_session=NOW - 2 * WEEK, sessions=4)
    db.session.commit()
    protocol = policy.clinic_protocol(clinic)
    names = [row.name for row in roster_page(clinic.id, protocol, NOW).rows]
    assert names == ["Soon", "Later"]
    tomorrow = NOW + timedelta(days=1)
    # Soon's session was held an hour after NOW: next is three weeks after it, after Later's.
    names = [row.name for row in roster_page(clinic.id, protocol, tomorrow).rows]
    assert names == ["Later", "Soon"]
    assert stored(soon) == (NOW + timedelta(hours=1) + 3 * WEEK, False)


def test_open_alerts_come_first_across_the_page_boundary(app):
    clinic = create_clinic()
    everyone = [enrol_patient(clinic, name=f"Patient {n:03d}",
                              first_session=NOW - timedelta(days=5))[0]
                for n in range(PER_PAGE + 5)]
    alerted = [everyone[-1], everyone[10]]
    for n, patient in enumerate(alerted):
        db.session.add(CheckIn(patient_id=patient.id, local_date=date(2026, 11, 24),
                               feeling=1, symptoms="", idempotency_key=f"a{n}",
                               advice="call_clinic", created_at=NOW - timedelta(hours=5 - n)))
    db.session.commit()
    protocol = policy.clinic_protocol(clinic)
    first = roster_page(clinic.id, protocol, NOW, sort="name")
    second = roster_page(clinic.id, protocol, NOW, sort="name", page=2)
    others = [p.name for p in everyone if p not in alerted]
    assert [row.name for row in first.rows] == ["Patient 054", "Patient 010", *others[:48]]
    assert [row.name for row in second.rows] == others[48:]
    assert first.total == second.total == PER_PAGE + 5
    alerts_only = roster_page(clinic.id, protocol, NOW, attention_only=True)
    assert {row.name for row in alerts_only.rows} >= {"Patient 054", "Patient 010"}
