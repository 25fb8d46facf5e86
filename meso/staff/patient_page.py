"""The patient's page for staff: their course, their Today as they see it, and the forms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user

from meso import accesscode, policy, protocol, recovery
from meso.extensions import db
from meso.models import (
    AuditEvent,
    ClinicSettings,
    Patient,
    PatientDevice,
    PushSubscription,
    TreatmentSession,
    utcnow,
)
from meso.staff.forms import PatientWindowsForm, PlanForm, SessionTimeForm

RECENT_EVENTS = 8


@dataclass(frozen=True)
class SessionRow:
    number: int
    at: datetime  # local
    state: str  # "held" | "booked" | "projected"
    session: TreatmentSession | None  # None when projected from the plan


def session_rows(patient: Patient, now: datetime) -> list[SessionRow]:
    """The known sessions, then the ones the plan projects, numbered in order."""
    course = patient.course
    zone = ZoneInfo(course.timezone)
    known = sorted(course.sessions, key=lambda s: s.starts_at)
    schedule = recovery.session_schedule(
        [s.starts_at for s in known], course.planned_sessions, course.interval_weeks, zone)
    rows = []
    for number, at in enumerate(schedule, 1):
        session = known[number - 1] if number <= len(known) else None
        state = "projected" if session is None else "held" if at <= now else "booked"
        rows.append(SessionRow(number, at.astimezone(zone), state, session))
    return rows


def local_input(instant: datetime, zone: ZoneInfo) -> datetime:
    """A naive local minute, as a datetime-local field shows it."""
    return instant.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)


def render(patient: Patient, status: int = 200, **forms):
    """Render the patient's page; ``forms`` replaces the blank forms with submitted ones."""
    course, now = patient.course, utcnow()
    zone = ZoneInfo(course.timezone)
    record = forms.get("record") or SessionTimeForm(
        course.timezone, prefix="record", formdata=None, starts_at=local_input(now, zone))
    plan_form = forms.get("plan") or PlanForm(
        prefix="plan", formdata=None, planned_sessions=course.planned_sessions,
        interval_weeks=course.interval_weeks)
    overrides = policy.window_overrides(patient)
    windows = forms.get("windows") or PatientWindowsForm(
        prefix="windows", formdata=None, **overrides)
    rows = session_rows(patient, now)
    moves = {
        row.session.id: (forms.get("move") if forms.get("move_id") == row.session.id else None)
        or SessionTimeForm(course.timezone, prefix=f"move{row.session.id}", formdata=None,
                           starts_at=local_input(row.session.starts_at, zone))
        for row in rows if row.session is not None
    }
    return render_template(
        "staff/patient.html", patient=patient, plan=policy.plan_for(patient, now),
        rows=rows, record=record, plan_form=plan_form, windows=windows, moves=moves,
        errors=forms.get("errors", {}), window_table=window_table(patient, overrides),
        access_code=accesscode.ensure(patient), devices=devices(patient),
        events=recent_events(patient) if current_user.role == "admin" else None,
        zone=zone, now=now.astimezone(zone),
    ), status


def window_table(patient: Patient, overrides: dict[str, int]) -> list[dict]:
    """Each restriction: the clinic's window and the patient's own, in hours."""
    clinic_hours = policy.clinic_window_hours(ClinicSettings.of(patient.clinic_id))
    return [
        {"key": key, "name": rule.ok_name, "clinic": clinic_hours[key],
         "own": overrides.get(key)}
        for key, rule in protocol.RESTRICTIONS.items()
    ]


def devices(patient: Patient) -> list[dict]:
    """The patient's browsers, newest first, with whether each gets reminders."""
    rows = db.session.execute(
        sa.select(PatientDevice, sa.func.count(PushSubscription.id))
        .outerjoin(PushSubscription, PushSubscription.device_id == PatientDevice.id)
        .where(PatientDevice.patient_id == patient.id)
        .group_by(PatientDevice.id)
        .order_by(PatientDevice.created_at.desc())
    ).all()
    return [{"device": device, "push": bool(count)} for device, count in rows]


def recent_events(patient: Patient) -> list[tuple[AuditEvent, None]]:
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.patient_id == patient.id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(RECENT_EVENTS)
    ).all()
    return [(event, None) for event in events]
