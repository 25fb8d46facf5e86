"""What applies to one patient: the protocol with their clinic's and their own windows, their
reminder settings, and so their plan.

The protocol's defaults meet a clinic's settings and a patient's choices here, and nowhere
else: the pages, the JSON API, the reminder outbox and the worker all ask this module, so a
window changed by a clinic reaches every one of them. Reads only; changes are services
(courses, clinics).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from meso import protocol, recovery, reminders
from meso.extensions import db
from meso.models import (
    Clinic,
    ClinicSettings,
    Patient,
    ReminderSettings,
    WindowOverride,
    utcnow,
)
from meso.sql_lists import among


def clinic_settings(clinic: Clinic) -> ClinicSettings:
    """Return the clinic's settings: its row (loaded with the clinic when the query asked for
    it, as a patient's pages do), or the defaults."""
    return clinic.settings or ClinicSettings.defaults(clinic.id)


def clinic_protocol(clinic: Clinic) -> protocol.Protocol:
    """Return the clinic's effective protocol: the defaults with the clinic's settings."""
    settings = clinic_settings(clinic)
    merged = protocol.DEFAULT_PROTOCOL.with_overrides(settings.window_hours or {})
    return replace(merged, first_weeks=timedelta(days=settings.first_weeks_days))


def clinic_window_hours(settings: ClinicSettings) -> dict[str, int]:
    """Return every restriction's window in hours for the clinic (defaults filled in)."""
    stored = settings.window_hours or {}
    return {key: stored.get(key, default) for key, default in default_window_hours().items()}


def default_window_hours() -> dict[str, int]:
    """Return the protocol's default window of every restriction, in hours."""
    return {key: rule.default // timedelta(hours=1) for key, rule in protocol.RESTRICTIONS.items()}


def window_overrides(patient: Patient) -> dict[str, int]:
    """Return the patient's own windows, {restriction key: hours}."""
    rows = db.session.execute(
        sa.select(WindowOverride.key, WindowOverride.hours).where(
            WindowOverride.patient_id == patient.id)
    )
    return {key: hours for key, hours in rows}


def protocol_for(patient: Patient) -> protocol.Protocol:
    """Return the patient's protocol: their clinic's, with their own window overrides."""
    return with_own_windows(clinic_protocol(patient.clinic), window_overrides(patient))


def with_own_windows(clinic_rules: protocol.Protocol,
                     overrides: dict[str, int]) -> protocol.Protocol:
    """The clinic's protocol with a patient's own windows (protocol_for, from loaded rows)."""
    return clinic_rules.with_overrides(overrides) if overrides else clinic_rules


def zone_for(patient: Patient) -> ZoneInfo:
    """Return the patient's time zone: their course's (set at enrolment), else their clinic's."""
    return ZoneInfo(patient.course.timezone if patient.course else patient.clinic.timezone)


def local_now(patient: Patient) -> datetime:
    """Return now on the patient's wall clock."""
    return utcnow().astimezone(zone_for(patient))


def reminder_settings_for(patient: Patient) -> reminders.Settings:
    """Return the patient's reminder settings; without their own, the clinic's defaults."""
    return reminder_settings_from(patient, db.session.get(ReminderSettings, patient.id))


def reminder_settings_from(patient: Patient, row: ReminderSettings | None,
                           clinic: ClinicSettings | None = None) -> reminders.Settings:
    """The patient's reminder settings from their row, loaded already (None: they have none);
    ``clinic``: their clinic's settings, when the caller has them."""
    if row is None:
        clinic = clinic or clinic_settings(patient.clinic)
        return reminders.Settings(
            morning=clinic.reminder_time,
            quiet_start=clinic.quiet_start,
            quiet_end=clinic.quiet_end,
        )
    return reminders.Settings(
        categories=frozenset(c for c in protocol.REMINDER_CATEGORIES if getattr(row, c)),
        morning=row.morning,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        discreet=row.discreet,
    )


def reminder_contexts(patients: list[Patient]) -> dict[int, tuple[reminders.Settings, ZoneInfo,
                                                                    protocol.Protocol]]:
    """Each patient's reminder settings, time zone and protocol, as reminder_settings_for,
    zone_for and protocol_for give them, in two queries for any number of patients (the
    reminder worker's batch; one query each per patient was most of its database time).
    The patients' clinics (with their settings) and courses should be loaded with them."""
    ids = [patient.id for patient in patients]
    if not ids:
        return {}
    rows = {row.patient_id: row for row in db.session.scalars(
        sa.select(ReminderSettings).where(among(ReminderSettings.patient_id, ids)))}
    overrides: dict[int, dict[str, int]] = {}
    for patient_id, key, hours in db.session.execute(
            sa.select(WindowOverride.patient_id, WindowOverride.key, WindowOverride.hours)
            .where(among(WindowOverride.patient_id, ids))):
        overrides.setdefault(patient_id, {})[key] = hours
    by_clinic: dict[int, tuple[ClinicSettings, protocol.Protocol]] = {}
    contexts = {}
    for patient in patients:
        if patient.clinic_id not in by_clinic:
            by_clinic[patient.clinic_id] = (clinic_settings(patient.clinic),
                                            clinic_protocol(patient.clinic))
        clinic, clinic_rules = by_clinic[patient.clinic_id]
        contexts[patient.id] = (reminder_settings_from(patient, rows.get(patient.id), clinic),
                                zone_for(patient),
                                with_own_windows(clinic_rules, overrides.get(patient.id, {})))
    return contexts


def plan_for(patient: Patient, at: datetime | None = None,
             rules: protocol.Protocol | None = None) -> recovery.DayPlan:
    """Return the patient's plan at ``at`` (default now), under their own protocol (``rules``,
    when the caller has it already)."""
    course = patient.course
    return recovery.plan_day(
        course, course.session_starts, at or utcnow(), rules or protocol_for(patient)
    )


def next_change_for(patient: Patient, at: datetime,
                    rules: protocol.Protocol | None = None) -> datetime:
    """Return the first instant after ``at`` at which the patient's plan may change."""
    course = patient.course
    return recovery.next_change(course, course.session_starts, at, rules or protocol_for(patient))


def timeline_for(patient: Patient,
                 rules: protocol.Protocol | None = None) -> list[recovery.TimelineDay]:
    """Return the patient's course day by day, from enrolment, under their own protocol."""
    course = patient.course
    return recovery.timeline(
        course, course.session_starts, patient.created_at, rules or protocol_for(patient)
    )
