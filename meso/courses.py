"""Course services: enrol a patient, and compute their plan with their clinic's protocol.

Services add and flush; the request (or the CLI command) commits, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from meso import protocol, recovery
from meso.extensions import db
from meso.models import Clinic, Course, Patient, TreatmentSession, utcnow

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


def enrol(clinic: Clinic, data: Enrolment, invite_days: int) -> tuple[Patient, str]:
    """Create the patient, their course and first session; return them with the invite token."""
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
    after_course_change(patient)
    return patient, token


def after_course_change(patient: Patient) -> None:
    """Bring what depends on the course up to date after its sessions or plan changed.

    Called in the same transaction by every change (enrolment, session recorded, moved or
    cancelled, plan or settings changed); the reminder outbox is re-planned here.
    """


def clinic_protocol(clinic: Clinic) -> protocol.Protocol:
    """Return the clinic's effective protocol (clinic overrides arrive with clinic settings)."""
    return protocol.DEFAULT_PROTOCOL


def plan_for(patient: Patient, at: datetime | None = None) -> recovery.DayPlan:
    course = patient.course
    return recovery.plan_day(
        course, course.session_starts, at or utcnow(), clinic_protocol(patient.clinic)
    )


def timeline_for(patient: Patient) -> list[recovery.TimelineDay]:
    course = patient.course
    return recovery.timeline(
        course, course.session_starts, patient.created_at, clinic_protocol(patient.clinic)
    )


def get_or_create_clinic(name: str, timezone: str = "Europe/Rome") -> Clinic:
    clinic = db.session.scalar(sa.select(Clinic).where(Clinic.name == name))
    if clinic is None:
        clinic = Clinic(name=name, timezone=timezone)
        db.session.add(clinic)
        db.session.flush()
    return clinic
