"""A patient's next session as the roster sorts by it, stored on the patient's row.

Computing it in SQL for every patient of a clinic (an aggregate over all their sessions) made
the roster's first page take half a second at 100,000 patients; stored, the page is read in
order from an index (Patient.__table_args__). ``stamp`` keeps it: courses.after_course_change
calls it with every change of the course, in the same transaction.

The value is the next booked session, else the projected one (the last known session plus
the interval, an estimate in UTC as the roster has always sorted) while sessions remain,
else None. Time changes only the booked case: once that session has passed, the next one is
another. ``refresh_passed`` recomputes those rows (few: the sessions held since the clinic's
roster was last read) before the roster reads the column.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa

from meso.extensions import db
from meso.models import Course, Patient, TreatmentSession


def due(starts: Iterable[datetime], planned: int, interval_weeks: int,
        now: datetime) -> tuple[datetime | None, bool]:
    """(when, booked): the first session after ``now``, or the projected one, or None."""
    known = list(starts)
    booked = [start for start in known if start > now]
    if booked:
        return min(booked), True
    if known and len(known) < planned:
        return max(known) + timedelta(weeks=interval_weeks), False
    return None, False


def stamp(patient: Patient, now: datetime) -> None:
    """Store the patient's next session from their course as it now is."""
    course = patient.course
    if course is None:
        patient.next_session_at, patient.next_session_booked = None, False
        return
    patient.next_session_at, patient.next_session_booked = due(
        (s.starts_at for s in course.sessions), course.planned_sessions,
        course.interval_weeks, now)


def refresh_passed(clinic_id: int, now: datetime) -> int:
    """Recompute the clinic's stored next sessions whose booked session has passed; return
    how many. Bulk statements (four, whatever the number): no page shows this column."""
    stale = Patient.next_session_booked & (Patient.next_session_at <= now)
    # The stale rows first, from their partial index; then their courses by key (joined in
    # one statement, PostgreSQL's estimate of the stale rows made it read every course).
    ids = db.session.scalars(
        sa.select(Patient.id).where(Patient.clinic_id == clinic_id, stale)).all()
    if not ids:
        return 0
    rows = db.session.execute(
        sa.select(Course.patient_id, Course.id, Course.planned_sessions, Course.interval_weeks)
        .where(Course.patient_id.in_(ids))).all()
    starts: dict[int, list[datetime]] = defaultdict(list)
    for course_id, start in db.session.execute(
            sa.select(TreatmentSession.course_id, TreatmentSession.starts_at)
            .where(TreatmentSession.course_id.in_([row[1] for row in rows]))):
        starts[course_id].append(start)
    values = []
    for patient_id, course_id, planned, interval in rows:
        when, booked = due(starts[course_id], planned, interval, now)
        values.append({"id": patient_id, "next_session_at": when, "next_session_booked": booked})
    db.session.execute(sa.update(Patient), values)
    return len(values)
