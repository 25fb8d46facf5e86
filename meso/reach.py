"""How a patient is reached: push, e-mail, their calendar, or nothing (issue 13, for staff).

One place says what each channel means, twice over: as pure functions of a patient's facts
(for the patient page and the tests) and as SQL expressions over ``Patient`` (for the roster,
which must sort and filter a whole clinic in the database, one statement a page).

- push: a live push subscription (one whose device was not signed out; the worker deletes the
  ones a push service refused for good);
- e-mail: an address on file with the patient's consent (Patient.email and email_consent_at);
- calendar: a live calendar link (meso/calendar_feeds.py);
- none: none of these.

Reminders are carried by push or e-mail only: a calendar holds the sessions (with an alarm
where the calendar keeps one), not the aftercare reminders. So a patient's reminders are off
when neither push nor e-mail reaches them, or when they turned every kind of reminder off.

A patient reached by nothing in their first hours (FIRST_HOURS after their first session,
the evening and the day after it being when reminders matter most; or after enrolment while
no session has been held, while the desk can still help them set up) needs attention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from meso import protocol
from meso.extensions import db
from meso.models import CalendarFeed, Patient, PatientDevice, PushSubscription, ReminderSettings
from meso.protocol_base import N_

CHANNELS = ("push", "email", "calendar")
CHANNEL_NAMES = {"push": N_("Push"), "email": N_("E-mail"), "calendar": N_("Calendar")}
FIRST_HOURS = timedelta(hours=48)


@dataclass(frozen=True)
class Reach:
    """Which channels reach a patient."""

    push: bool
    email: bool
    calendar: bool

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels that reach the patient, in CHANNELS order; () when none does."""
        return tuple(key for key in CHANNELS if getattr(self, key))

    @property
    def reminders_possible(self) -> bool:
        """Whether a reminder can get to the patient at all (push or e-mail)."""
        return self.push or self.email


NOTHING = Reach(push=False, email=False, calendar=False)


def email_on(email: str | None, consent_at: datetime | None) -> bool:
    """An address the patient agreed to get reminders at."""
    return bool(email) and consent_at is not None


def reminders_off(reach: Reach, categories_on: int) -> bool:
    """No reminder gets through: no channel carries one, or every kind is turned off."""
    return not reach.reminders_possible or categories_on == 0


def first_hours_start(first_session: datetime | None, enrolled: datetime,
                      now: datetime) -> datetime:
    """When the patient's first hours began: their first session once held, else enrolment."""
    if first_session is not None and first_session <= now:
        return first_session
    return enrolled


def unreached_early(reach: Reach, first_session: datetime | None, enrolled: datetime,
                    now: datetime) -> bool:
    """Reached by nothing within FIRST_HOURS of first_hours_start(): staff should call."""
    start = first_hours_start(first_session, enrolled, now)
    return not reach.channels and start <= now < start + FIRST_HOURS


# -- the same in SQL, over Patient ------------------------------------------------------------


def push_sql() -> sa.ColumnElement[bool]:
    """SQL: the patient has a push subscription on a device still signed in."""
    return (
        sa.select(PushSubscription.id)
        .outerjoin(PatientDevice, PatientDevice.id == PushSubscription.device_id)
        .where(PushSubscription.patient_id == Patient.id, PatientDevice.revoked_at.is_(None))
        .exists()
    )


def email_sql() -> sa.ColumnElement[bool]:
    """SQL: email_on()."""
    return sa.and_(Patient.email.is_not(None), Patient.email != "",
                   Patient.email_consent_at.is_not(None))


def calendar_sql() -> sa.ColumnElement[bool]:
    """SQL: the patient's calendar link is live."""
    return sa.exists().where(CalendarFeed.patient_id == Patient.id,
                             CalendarFeed.token_hash.is_not(None))


def categories_on_sql() -> sa.ColumnElement[int]:
    """SQL: how many kinds of reminder the patient keeps on (all of them without a row)."""
    on: sa.ColumnElement[int] = sa.literal(0)
    for key in protocol.REMINDER_CATEGORIES:
        on = on + sa.case((getattr(ReminderSettings, key).is_(sa.false()), 0), else_=1)
    row = sa.select(on).where(ReminderSettings.patient_id == Patient.id).scalar_subquery()
    return sa.func.coalesce(row, len(protocol.REMINDER_CATEGORIES))


def unreached_early_sql(first_session, now: datetime) -> sa.ColumnElement[bool]:
    """SQL: unreached_early(), ``first_session`` a column of the earliest session's start.

    Never NULL. The channels are probed per row, by index, and only for patients in their
    first hours (an EXISTS here lets PostgreSQL hash every clinic's subscriptions instead).
    """
    held = sa.and_(first_session.is_not(None), first_session <= now)
    start_after = now - FIRST_HOURS
    in_first_hours = sa.or_(
        sa.and_(held, first_session > start_after),
        sa.and_(~held, Patient.created_at > start_after, Patient.created_at <= now),
    )
    push = (sa.select(PushSubscription.id)
            .outerjoin(PatientDevice, PatientDevice.id == PushSubscription.device_id)
            .where(PushSubscription.patient_id == Patient.id, PatientDevice.revoked_at.is_(None))
            .limit(1).scalar_subquery())
    calendar = (sa.select(CalendarFeed.patient_id).where(CalendarFeed.patient_id == Patient.id,
                                                 CalendarFeed.token_hash.is_not(None))
                .limit(1).scalar_subquery())
    return sa.and_(in_first_hours, ~email_sql(), push.is_(None), calendar.is_(None))


def of_patient(patient: Patient) -> Reach:
    """How one patient is reached (one statement)."""
    row = db.session.execute(
        sa.select(push_sql().label("push"), calendar_sql().label("calendar"))
        .where(Patient.id == patient.id)
    ).one()
    return Reach(bool(row.push), email_on(patient.email, patient.email_consent_at),
                 bool(row.calendar))
