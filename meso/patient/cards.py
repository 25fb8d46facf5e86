"""What the cards of the patient's pages show besides the plan, loaded by the views.

The templates only read what a view hands them: no template helper reaches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from meso import checkins, policy, subscriptions
from meso.models import CheckIn, Patient


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
