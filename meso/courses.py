"""Course services: enrol a patient, record, move or cancel sessions, change the plan and the
patient's windows, archive and restore.

Each change records who made it and re-plans what depends on the course (after_course_change)
in the same transaction. Services add and flush; the request (or the CLI command) commits, once.
What the course means for the patient (their protocol, their plan) is read in meso/policy.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from meso import (
    access,
    accesscode,
    audit,
    calendar_feeds,
    next_session,
    outbox,
    page_versions,
    policy,
    protocol,
)
from meso.extensions import db
from meso.formatting import when
from meso.models import (
    Clinic,
    Course,
    Patient,
    StaffUser,
    TreatmentSession,
    WindowOverride,
    utcnow,
)


@dataclass(frozen=True)
class Enrolment:
    """Validated enrolment data: the first session is an aware instant."""

    name: str
    area: str
    first_session: datetime
    timezone: str
    planned_sessions: int = protocol.DEFAULT_SESSIONS
    interval_weeks: int = protocol.DEFAULT_INTERVAL_WEEKS
    lang: str | None = None  # a supported language (meso/locales.py); None: the clinic's


def enrol(
    clinic: Clinic, data: Enrolment, invite_days: int, actor: StaffUser | None = None,
    via: str = "staff",
) -> tuple[Patient, str]:
    """Create the patient, their course and first session; return them with the invite token.

    ``actor`` is the staff member enrolling (None from the command line), for the audit log.
    """
    # The language is stored, not followed: a clinic changing its own later changes what
    # its new patients get, not what a patient already reads.
    patient = Patient(clinic=clinic, name=data.name.strip(), lang=data.lang or clinic.lang)
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
    cancelled, plan or settings changed, archived or restored; a clinic's settings change by
    way of the reminder worker, meso/clinic_replans.py); the reminder outbox is
    re-planned here, and the calendar feed takes a new revision (its events' SEQUENCE).
    """
    after_courses_change([patient])


def after_courses_change(patients: Sequence[Patient]) -> None:
    """``after_course_change`` for many patients at once, in a few statements for all of them
    (a clinic's settings change, meso/clinic_replans.py). Their courses with their sessions,
    and their clinics, should be loaded with them."""
    outbox.replan_all(patients)
    calendar_feeds.after_courses_change([patient.id for patient in patients])
    now = utcnow()
    for patient in patients:
        next_session.stamp(patient, now)  # the roster's sort key


# -- Session and plan changes (staff) ---------------------------------------------------------
# Each validates, changes the course, records who did it, and calls after_course_change in
# the same transaction. A CourseChangeError's message is shown next to the field.

# Sessions of one course are weeks apart; two within a day are one session entered twice.
MIN_GAP = timedelta(days=1)
# A session further off than this is surely a typo in the year.
SESSION_PAST = timedelta(days=365)
SESSION_AHEAD = timedelta(days=730)


class CourseChangeError(ValueError):
    """A change that cannot be made; the message says why, to the person who tried."""


def plausible_session_time(starts_at: datetime, now: datetime) -> bool:
    """Return whether a session time is within a year before or two years after ``now``."""
    return now - SESSION_PAST <= starts_at <= now + SESSION_AHEAD


def check_plausible(starts_at: datetime) -> None:
    """Refuse a session time that is surely a typo in the year (enrolment and changes)."""
    if not plausible_session_time(starts_at, utcnow()):
        raise CourseChangeError(
            _("Check the date: it must be within a year before or two years after today."))


def check_new_session(patient: Patient, starts_at: datetime) -> int:
    """Return the number a session at ``starts_at`` would get, or raise CourseChangeError
    for one record_session would refuse (so staff confirm only what will be saved)."""
    course = patient.course
    if len(course.sessions) >= course.planned_sessions:
        raise CourseChangeError(_(
            "All %(n)d planned sessions are already recorded or booked. Change the plan to "
            "add another.", n=course.planned_sessions))
    check_session_time(course, starts_at)
    return 1 + sum(1 for s in course.sessions if s.starts_at < starts_at)


def record_session(patient: Patient, starts_at: datetime, actor: StaffUser | None):
    """Add a session (held if in the past, booked if in the future) and renumber them."""
    course = patient.course
    check_new_session(patient, starts_at)
    session = TreatmentSession(number=-len(course.sessions) - 1, starts_at=starts_at)
    course.sessions.append(session)
    course.time_requested_at = None  # a booked or held session answers "Ask for a time"
    _renumber(course)
    audit.by(actor, "session.recorded", patient, number=session.number,
             at=starts_at.isoformat(), booked=starts_at > utcnow())
    after_course_change(patient)
    return session


def ask_for_time(patient: Patient, now: datetime) -> None:
    """The patient asks the clinic for a time for their next, not yet booked, session. Asking
    twice keeps the first request; recording or moving a session answers it."""
    course = patient.course
    if course.time_requested_at is None:
        course.time_requested_at = now


def move_session(patient: Patient, session: TreatmentSession, starts_at: datetime,
                 actor: StaffUser | None) -> None:
    check_session_time(patient.course, starts_at, ignore=session)
    before = session.starts_at
    session.starts_at = starts_at
    patient.course.time_requested_at = None
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
    bounds = (protocol.SESSIONS_RANGE, protocol.INTERVAL_RANGE)
    for value, (low, high) in zip((planned, interval), bounds, strict=True):
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
    """Set the patient's own windows; None goes back to the clinic's."""
    try:
        protocol.validate_overrides({k: v for k, v in hours.items() if v is not None})
    except ValueError as exc:
        raise CourseChangeError(str(exc)) from None
    current = policy.window_overrides(patient)
    changes = {k: [current.get(k), v] for k, v in hours.items() if current.get(k) != v}
    if not changes:
        return
    db.session.execute(sa.delete(WindowOverride).where(
        WindowOverride.patient_id == patient.id, WindowOverride.key.in_(changes)))
    page_versions.changed([patient.id])
    for key, (_old, new) in changes.items():
        if new is not None:
            db.session.add(WindowOverride(patient_id=patient.id, key=key, hours=new))
    db.session.flush()
    audit.by(actor, "windows.changed", patient, hours=changes)
    after_course_change(patient)


def check_session_time(course: Course, starts_at: datetime, ignore=None) -> None:
    """Refuse a session time that is surely a typo, or a day from another session."""
    check_plausible(starts_at)
    zone = ZoneInfo(course.timezone)
    for other in course.sessions:
        if other is not ignore and abs(other.starts_at - starts_at) < MIN_GAP:
            raise CourseChangeError(_(
                "Session %(n)d is at %(when)s, less than a day from this time. Move that "
                "session instead.", n=other.number, when=when(other.starts_at.astimezone(zone))))


def archive(patient: Patient, actor: StaffUser | None) -> None:
    """Close the patient's file: their link, code and devices stop working, reminders stop."""
    if patient.archived_at is not None:
        return
    now = utcnow()
    patient.archived_at = now
    access.sign_out_everywhere(patient, now)
    audit.by(actor, "patient.archived", patient)
    after_course_change(patient)


def restore(patient: Patient, actor: StaffUser | None) -> None:
    """Reopen an archived file (staff then make a new link to hand over)."""
    if patient.archived_at is None:
        return
    patient.archived_at = None
    # Start from nothing: whatever link or code existed before the archive stays dead.
    access.sign_out_everywhere(patient, utcnow())
    audit.by(actor, "patient.restored", patient)
    after_course_change(patient)


def _renumber(course: Course) -> None:
    """Number the sessions 1..n by time, through negatives: (course, number) stays unique."""
    ordered = sorted(course.sessions, key=lambda s: s.starts_at)
    for index, session in enumerate(ordered, 1):
        session.number = -index
    db.session.flush()
    for index, session in enumerate(ordered, 1):
        session.number = index
    db.session.flush()
