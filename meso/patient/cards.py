"""What the cards of the patient's pages show besides the plan, loaded by the views.

The templates only read what a view hands them: no template helper reaches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from meso import checkins, opening_hours, policy, subscriptions
from meso.formatting import EVENING_HOUR
from meso.models import CheckIn, Patient, utcnow
from meso.recovery import DayPlan


@dataclass(frozen=True)
class RemindersCard:
    """The "Turn on reminders" card: how many devices get them, and the quiet hours it names."""

    devices: int
    quiet_start: time
    quiet_end: time


def reminders_card(patient: Patient) -> RemindersCard:
    settings = policy.reminder_settings_for(patient)
    return RemindersCard(subscriptions.count(patient.id), settings.quiet_start,
                         settings.quiet_end)


def checkin_today(patient: Patient) -> CheckIn | None:
    """The patient's latest check-in of their local today (the check-in card thanks them)."""
    return checkins.latest_on(patient.id, policy.local_now(patient).date())


@dataclass(frozen=True)
class ClinicClosed:
    """The clinic is closed now (by its opening hours); when it opens next, on the patient's
    wall clock (None: no opening hours in the coming week)."""

    opens: datetime | None


def clinic_closed(patient: Patient, now: datetime | None = None) -> ClinicClosed | None:
    """ClinicClosed when the clinic's opening hours say it is closed now, else None (open, or
    no hours given: then nobody is told it is closed)."""
    week = clinic_week(patient)
    if week is None:
        return None
    at = (now or utcnow()).astimezone(ZoneInfo(patient.clinic.timezone))
    if opening_hours.is_open(week, at):
        return None
    opens = opening_hours.next_opening(week, at)
    return ClinicClosed(opens.astimezone(policy.zone_for(patient)) if opens else None)


def time_requested(patient: Patient, plan: DayPlan) -> datetime | None:
    """When the patient asked for a time for their next session (local), while it is still
    not booked; None otherwise (the "Ask for a time" button shows)."""
    asked = patient.course.time_requested_at
    if asked is None or plan.next_session is None or plan.next_session.booked:
        return None
    return asked.astimezone(policy.zone_for(patient))


def today_words_change(patient: Patient, now: datetime) -> datetime:
    """The next instant at which Today's own words change without any write or plan change:
    the evening hour ("Normal tonight"), or the clinic opening or closing (out-of-hours)."""
    local = now.astimezone(policy.zone_for(patient))
    evening = datetime.combine(local.date(), time(EVENING_HOUR), local.tzinfo)
    if evening <= local:
        evening = datetime.combine(local.date() + timedelta(days=1), time(EVENING_HOUR),
                                   local.tzinfo)
    candidates = [evening]
    week = clinic_week(patient)
    if week is not None:
        boundary = opening_hours.next_boundary(
            week, now.astimezone(ZoneInfo(patient.clinic.timezone)))
        if boundary is not None:
            candidates.append(boundary)
    return min(candidates)


def clinic_week(patient: Patient) -> opening_hours.Week | None:
    """The clinic's opening hours, from the settings loaded with the patient (no query)."""
    settings = patient.clinic.settings
    return opening_hours.parse(settings.opening_hours if settings is not None else None)
