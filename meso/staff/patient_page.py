"""The patient's page for staff: their course, their check-ins and open alerts, their Today as
they see it, the reminders they will receive, and the forms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale
from flask_login import current_user

from meso import (
    accesscode,
    attention,
    formatting,
    locales,
    patient_email,
    photo_store,
    policy,
    protocol,
    reach,
    recovery,
    reminders,
)
from meso.extensions import db
from meso.models import (
    AuditEvent,
    CheckIn,
    ClinicSettings,
    Patient,
    PatientDevice,
    Photo,
    PushSubscription,
    TreatmentSession,
    utcnow,
)
from meso.patient import presenters
from meso.staff.forms import (
    AcknowledgeForm,
    PatientEmailForm,
    PatientLanguageForm,
    PatientWindowsForm,
    PlanForm,
    SessionTimeForm,
)

RECENT_EVENTS = 8
RECENT_CHECKINS = 20


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


@dataclass(frozen=True)
class CheckInRow:
    """One check-in as staff read it: its answers, in the protocol's order."""

    checkin: CheckIn
    at: datetime  # local: when it reached the clinic
    day: int | None  # the day after the latest session on or before it (None: before any)
    signs: list[tuple[str, str]]  # (sign key, level key); [] when sent without signs
    flags: list[str]  # red-flag keys ticked, in the protocol's order
    photos: tuple[Photo, ...] = ()  # sent with it (POST /checkins), oldest first


def checkin_row(checkin: CheckIn, session_days: list[date], zone: ZoneInfo,
                photos: list[Photo] | None = None) -> CheckInRow:
    held = [d for d in session_days if d <= checkin.local_date]
    ticked = set(checkin.symptom_keys)
    signs = checkin.signs or {}
    return CheckInRow(
        checkin=checkin, at=checkin.created_at.astimezone(zone),
        day=(checkin.local_date - held[-1]).days if held else None,
        signs=[(key, signs[key]) for key in protocol.CHECKIN_SIGNS if key in signs],
        flags=[key for key in protocol.CHECKIN_FLAGS if key in ticked],
        photos=tuple(photos or ()),
    )


def follow_up(patient: Patient, rows: list[SessionRow], now: datetime, zone: ZoneInfo) -> dict:
    """The clinic's follow-up: open alerts (oldest first), the other recent check-ins (newest
    first), and the missed days with their local dates."""
    held = [row.at.date() for row in rows if row.state == "held"]
    alerts = attention.open_alerts(patient)
    recent = attention.recent_checkins(patient, RECENT_CHECKINS)
    missed = [(day, held[-1] + timedelta(days=day)) for day in attention.missed_days(patient, now)]
    photos = photo_store.of_check_ins([c.id for c in (*alerts, *recent)])

    def row(checkin: CheckIn) -> CheckInRow:
        return checkin_row(checkin, held, zone, photos.get(checkin.id))

    return {
        "alerts": [row(c) for c in alerts],
        "level": "emergency" if any(c.advice == "emergency" for c in alerts) else "call_clinic",
        "seen_up_to": max((c.id for c in alerts), default=None),
        # The history below them: the rest, newest first (an open one is read at the top).
        "checkins": [row(c) for c in recent if not c.needs_attention],
        "missed": missed,
    }


@dataclass(frozen=True)
class PlannedReminder:
    key: str  # the reminder rule
    at: datetime  # local
    title: str
    body: str


def planned_reminders(patient: Patient, now: datetime, device_rows: list[dict]) -> dict:
    """What this patient will receive: reminders.preview() of their recorded and booked
    sessions (as the outbox plans them), with their protocol, settings and wording.

    ``upcoming`` are still to come; ``earlier`` counts those whose time has passed.
    """
    course = patient.course
    settings = policy.reminder_settings_for(patient)
    # In the patient's language: what they will read, as the worker words it.
    with force_locale(locales.patient_locale(patient)):
        items = reminders.preview(course, course.session_starts, policy.protocol_for(patient),
                                  settings, formatting.wording())
    timed = [PlannedReminder(item["key"], datetime.fromisoformat(item["at"]), item["title"],
                             item["body"]) for item in items]
    return {
        "upcoming": [item for item in timed if item.at > now],
        "earlier": sum(1 for item in timed if item.at <= now),
        # Whether push reaches them is meso/reach.py's answer (the page's `reached`).
        "opened": any(not d["device"].revoked_at for d in device_rows),
        "categories_off": [c for c in protocol.REMINDER_CATEGORIES if c not in settings.categories],
        "settings": settings,
    }


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
    plan = policy.plan_for(patient, now)
    acknowledge = forms.get("acknowledge") or AcknowledgeForm(prefix="attention", formdata=None)
    language = forms.get("language") or PatientLanguageForm(
        prefix="language", formdata=None, lang=locales.patient_lang(patient))
    device_rows = devices(patient)
    planned = planned_reminders(patient, now, device_rows)
    reached = reach.of_patient(patient)
    first = min(course.session_starts, default=None)
    moves = {
        row.session.id: (forms.get("move") if forms.get("move_id") == row.session.id else None)
        or SessionTimeForm(course.timezone, prefix=f"move{row.session.id}", formdata=None,
                           starts_at=local_input(row.session.starts_at, zone))
        for row in rows if row.session is not None
    }
    email_form = forms.get("email") or PatientEmailForm(prefix="email", formdata=None)
    return render_template(
        "staff/patient.html", patient=patient, plan=plan,
        avoid_rows=presenters.avoid_rows(plan), allowed_rows=presenters.allowed_rows(plan),
        email_form=email_form, email_pending=patient_email.pending(patient, now),
        rows=rows, record=record, plan_form=plan_form, windows=windows, moves=moves,
        errors=forms.get("errors", {}), window_table=window_table(patient, overrides),
        access_code=accesscode.ensure(patient), devices=device_rows,
        events=recent_events(patient) if current_user.role == "admin" else None,
        zone=zone, now=now.astimezone(zone), follow_up=follow_up(patient, rows, now, zone),
        acknowledge=acknowledge, language=language, advice_labels=attention.ADVICE_LABELS,
        note_max=attention.NOTE_MAX,
        planned=planned, reached=reached, channel_names=reach.CHANNEL_NAMES,
        reminders_off=reach.reminders_off(reached, len(planned["settings"].categories)),
        unreached=(patient.archived_at is None
                   and reach.unreached_early(reached, first, patient.created_at, now)),
        gallery=photo_store.gallery_of(patient),
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
