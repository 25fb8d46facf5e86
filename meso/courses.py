"""Course services: enrol a patient, and compute their plan with their clinic's protocol.

Services add and flush; the request (or the CLI command) commits, once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from meso import accesscode, audit, protocol, recovery
from meso.extensions import db
from meso.formatting import when
from meso.models import (
    Clinic,
    ClinicSettings,
    Course,
    Patient,
    StaffUser,
    TreatmentSession,
    WindowOverride,
    utcnow,
)

SESSIONS_RANGE = (1, 12)
INTERVAL_RANGE = (1, 12)


@dataclass(frozen=True)
class Enrolment:
    """Validated enrolment data: the first session is an aware instant."""

    name: str
    area: str
    first_session: datetime
    timezone: str
    planned_sessions: int = 4
    interval_weeks: int = 3


def enrol(
    clinic: Clinic, data: Enrolment, invite_days: int, actor: StaffUser | None = None,
    via: str = "staff",
) -> tuple[Patient, str]:
    """Create the patient, their course and first session; return them with the invite token.

    ``actor`` is the staff member enrolling (None from the command line), for the audit log.
    """
    patient = Patient(clinic=clinic, name=data.name.strip())
    token = patient.issue_invite(utcnow(), invite_days)
    patient.course = Course(
        area=data.area,
        planned_sessions=data.planned_sessions,
        interval_weeks=data.interval_weeks,
        timezone=data.timezone,
        sessions=[TreatmentSession(number=1, starts_at=data.first_session)],
    )
    db.session.add(patient)
    db.session.flush()
    accesscode.issue(patient)
    audit.by(actor, "patient.enrolled", patient, via=via)
    after_course_change(patient)
    return patient, token


def after_course_change(patient: Patient) -> None:
    """Bring what depends on the course up to date after its sessions or plan changed.

    Called in the same transaction by every change (enrolment, session recorded, moved or
    cancelled, plan or settings changed); the reminder outbox is re-planned here.
    """
    from meso import outbox  # outbox plans with this module's protocol_for: import late

    outbox.replan(patient)


def clinic_protocol(clinic: Clinic) -> protocol.Protocol:
    """Return the clinic's effective protocol: the defaults with the clinic's settings."""
    settings = ClinicSettings.of(clinic.id)
    merged = protocol.DEFAULT_PROTOCOL.with_overrides(settings.window_hours or {})
    return replace(merged, first_weeks=timedelta(days=settings.first_weeks_days))


def protocol_for(patient: Patient) -> protocol.Protocol:
    """Return the patient's protocol: their clinic's, with their own window overrides."""
    return clinic_protocol(patient.clinic).with_overrides(window_overrides(patient))


def window_overrides(patient: Patient) -> dict[str, int]:
    """Return the patient's own windows, {restriction key: hours}."""
    rows = db.session.execute(
        sa.select(WindowOverride.key, WindowOverride.hours).where(
            WindowOverride.patient_id == patient.id)
    )
    return {key: hours for key, hours in rows}


def plan_for(patient: Patient, at: datetime | None = None) -> recovery.DayPlan:
    course = patient.course
    return recovery.plan_day(
        course, course.session_starts, at or utcnow(), protocol_for(patient)
    )


def timeline_for(patient: Patient) -> list[recovery.TimelineDay]:
    course = patient.course
    return recovery.timeline(
        course, course.session_starts, patient.created_at, protocol_for(patient)
    )


def get_or_create_clinic(name: str, timezone: str = "Europe/Rome") -> Clinic:
    clinic = db.session.scalar(sa.select(Clinic).where(Clinic.name == name))
    if clinic is None:
        clinic = Clinic(name=name, timezone=timezone)
        db.session.add(clinic)
        db.session.flush()
    return clinic


# -- Session and plan changes (staff) ---------------------------------------------------------
# Each validates, changes the course, records who did it, and calls after_course_change in
# the same transaction. A CourseChangeError's message is shown next to the field.

# Sessions of one course are weeks apart; two within a day are one session entered twice.
MIN_GAP = timedelta(days=1)
SESSION_PAST = timedelta(days=365)
SESSION_AHEAD = timedelta(days=730)


class CourseChangeError(ValueError):
    """A change that cannot be made; the message says why, to the person who tried."""


def record_session(patient: Patient, starts_at: datetime, actor: StaffUser | None):
    """Add a session (held if in the past, booked if in the future) and renumber them."""
    course = patient.course
    if len(course.sessions) >= course.planned_sessions:
        raise CourseChangeError(_(
            "All %(n)d planned sessions are already recorded or booked. Change the plan to "
            "add another.", n=course.planned_sessions))
    check_session_time(course, starts_at)
    session = TreatmentSession(number=-len(course.sessions) - 1, starts_at=starts_at)
    course.sessions.append(session)
    _renumber(course)
    audit.by(actor, "session.recorded", patient, number=session.number,
             at=starts_at.isoformat(), booked=starts_at > utcnow())
    after_course_change(patient)
    return session


def move_session(patient: Patient, session: TreatmentSession, starts_at: datetime,
                 actor: StaffUser | None) -> None:
    check_session_time(patient.course, starts_at, ignore=session)
    before = session.starts_at
    session.starts_at = starts_at
    _renumber(patient.course)
    audit.by(actor, "session.moved", patient, number=session.number,
             before=before.isoformat(), at=starts_at.isoformat())
    after_course_change(patient)


def cancel_session(patient: Patient, session: TreatmentSession, actor: StaffUser | None):
    course = patient.course
    if len(course.sessions) <= 1:
        raise CourseChangeError(_("A course needs at least one session: move it instead."))
    number, starts_at = session.number, session.starts_at
    course.sessions.remove(session)
    db.session.flush()
    _renumber(course)
    audit.by(actor, "session.cancelled", patient, number=number, at=starts_at.isoformat())
    after_course_change(patient)


def change_plan(patient: Patient, planned: int, interval: int, actor: StaffUser | None):
    course = patient.course
    for value, (low, high) in ((planned, SESSIONS_RANGE), (interval, INTERVAL_RANGE)):
        if not low <= value <= high:
            raise CourseChangeError(_("Enter a number from %(low)d to %(high)d.",
                                      low=low, high=high))
    if planned < len(course.sessions):
        raise CourseChangeError(_(
            "%(n)d sessions are recorded or booked: cancel one before planning fewer.",
            n=len(course.sessions)))
    before = [course.planned_sessions, course.interval_weeks]
    if before == [planned, interval]:
        return
    course.planned_sessions, course.interval_weeks = planned, interval
    db.session.flush()
    audit.by(actor, "plan.changed", patient, sessions=[before[0], planned],
             interval_weeks=[before[1], interval])
    after_course_change(patient)


def set_window_overrides(patient: Patient, hours: dict[str, int | None], actor):
    """Set the patient's own windows; None goes back to the clinic's. Raises ValueError."""
    protocol.validate_overrides({k: v for k, v in hours.items() if v is not None})
    current = window_overrides(patient)
    changes = {k: [current.get(k), v] for k, v in hours.items() if current.get(k) != v}
    if not changes:
        return
    db.session.execute(sa.delete(WindowOverride).where(
        WindowOverride.patient_id == patient.id, WindowOverride.key.in_(changes)))
    for key, (_old, new) in changes.items():
        if new is not None:
            db.session.add(WindowOverride(patient_id=patient.id, key=key, hours=new))
    db.session.flush()
    audit.by(actor, "windows.changed", patient, hours=changes)
    after_course_change(patient)


def after_settings_change(clinic: Clinic) -> None:
    """Re-plan what depends on the protocol for every current patient of the clinic."""
    patients = db.session.scalars(sa.select(Patient).where(
        Patient.clinic_id == clinic.id, Patient.archived_at.is_(None)))
    for patient in patients:
        after_course_change(patient)


def check_session_time(course: Course, starts_at: datetime, ignore=None) -> None:
    """Refuse a session time that is surely a typo, or a day from another session."""
    now = utcnow()
    if not now - SESSION_PAST <= starts_at <= now + SESSION_AHEAD:
        raise CourseChangeError(
            _("Check the date: it must be within a year before or two years after today."))
    zone = ZoneInfo(course.timezone)
    for other in course.sessions:
        if other is not ignore and abs(other.starts_at - starts_at) < MIN_GAP:
            raise CourseChangeError(_(
                "Session %(n)d is at %(when)s, less than a day from this time. Move that "
                "session instead.", n=other.number, when=when(other.starts_at.astimezone(zone))))


def _renumber(course: Course) -> None:
    """Number the sessions 1..n by time, through negatives: (course, number) stays unique."""
    ordered = sorted(course.sessions, key=lambda s: s.starts_at)
    for index, session in enumerate(ordered, 1):
        session.number = -index
    db.session.flush()
    for index, session in enumerate(ordered, 1):
        session.number = index
    db.session.flush()
