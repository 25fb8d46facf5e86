"""The clinic's follow-up of check-ins: who needs attention, acknowledging it, missed check-ins.

A check-in whose advice was ``call_clinic`` or ``emergency`` (models.ALERT_LEVELS) is an open
alert until a staff member acknowledges it with a short note; the patient stays first on the
roster until then. A patient who sent no check-in on one of the first days after their latest
session (MISSED_DAYS, local days in the patient's zone) is shown too, more quietly.

checkin_needs_attention() is called once for every new alert check-in, inside the request
that stored it. Reads and services only (add and flush; the request commits once). The audit
trail of an acknowledgement holds check-in ids and a count, never the note or the answers:
audit details hold no health data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import gettext as _

from meso import audit, clinic_mail, reach
from meso.extensions import db
from meso.models import (
    ALERT_LEVELS,
    CheckIn,
    Course,
    Patient,
    StaffUser,
    TreatmentSession,
    utcnow,
)
from meso.protocol_base import N_

# How staff read the advice a patient was given (the patient's own words live in checkin_rules).
ADVICE_LABELS = {
    "expected": N_("Expected for the day"),
    "watch": N_("Watch: told to check again tomorrow"),
    "call_clinic": N_("Told to call the clinic today"),
    "emergency": N_("Told to call emergency services"),
}
# The roster's badge for a patient with an open alert of that level.
ALERT_BADGES = {"call_clinic": N_("Call back"), "emergency": N_("Emergency advised")}

NOTE_MAX = 280  # CheckIn.acknowledgement_note's length
# The days after a session on which a check-in is expected (the reminders nudge on them).
MISSED_DAYS = (1, 2, 3)
# A missed day stays on the roster until the end of the day after the last of MISSED_DAYS (so
# a missed day 3 is seen on day 4); later, the course's other signs take over.
MISSED_SHOWN_UNTIL_DAY = MISSED_DAYS[-1] + 1


class NoteError(ValueError):
    """The acknowledgement note is missing or too long; the message says which."""


@dataclass(frozen=True)
class Attention:
    """A patient who needs attention: with open alerts, the worst advice among them and the
    oldest one's time; reached by nothing in their first hours (meso/reach.py), "unreached"
    and when those hours began."""

    patient_id: int
    level: str  # "emergency", "call_clinic" or "unreached"
    since: datetime  # UTC: the oldest open alert, or the start of the first hours


def checkin_needs_attention(checkin: CheckIn, now: datetime) -> None:
    """Tell the clinic. With SMTP_URL set, its admins get an e-mail within a minute (queued
    here, sent by the worker); without it nothing is queued. (The roster and the patient page
    read open alerts from the check-ins themselves.)"""
    if current_app.config.get("SMTP_URL"):
        clinic_mail.notify_admins(checkin, now)


# -- open alerts -------------------------------------------------------------------------------


def is_open() -> sa.ColumnElement[bool]:
    """SQL: the check-in is an open alert (CheckIn.needs_attention)."""
    return sa.and_(CheckIn.advice.in_(ALERT_LEVELS), CheckIn.acknowledged_at.is_(None))


def open_alerts_subquery(patients_of: sa.ColumnElement[bool]):
    """Per patient with open alerts: ``patient_id``, ``emergency`` (1 when one of them
    advised emergency services, else 0) and ``since`` (the oldest one's created_at).

    ``patients_of`` limits it to some patients (a clinic's, or a page's). A subquery, so that
    the roster joins it and sorts by it in the same statement.
    """
    return (
        sa.select(
            CheckIn.patient_id.label("patient_id"),
            sa.func.max(sa.case((CheckIn.advice == "emergency", 1), else_=0)).label("emergency"),
            sa.func.min(CheckIn.created_at).label("since"),
        )
        .join(Patient, Patient.id == CheckIn.patient_id)
        .where(patients_of, is_open())
        .group_by(CheckIn.patient_id)
        .subquery("open_alerts")
    )


def attention_order(alerts) -> list:
    """ORDER BY terms that put patients with open alerts first: emergency, then call_clinic,
    each oldest alert first; the others keep whatever order follows these terms."""
    rank = sa.case((alerts.c.emergency == 1, 0), (alerts.c.patient_id.is_not(None), 1), else_=2)
    return [rank, alerts.c.since.asc()]


def needing_attention(clinic_id: int, now: datetime | None = None) -> list[Attention]:
    """The clinic's patients (not archived) with open alerts, in the roster's order, then
    those reached by nothing in their first hours (reach.unreached_early), longest first."""
    alerts = open_alerts_subquery(Patient.clinic_id == clinic_id)
    rows = db.session.execute(
        sa.select(alerts.c.patient_id, alerts.c.emergency, alerts.c.since)
        .join(Patient, Patient.id == alerts.c.patient_id)
        .where(Patient.archived_at.is_(None))
        .order_by(*attention_order(alerts), alerts.c.patient_id)
    )
    found = [Attention(row.patient_id, "emergency" if row.emergency else "call_clinic",
                       row.since) for row in rows]
    return found + _unreached(clinic_id, now or utcnow(), {a.patient_id for a in found})


def _unreached(clinic_id: int, now: datetime, listed: set[int]) -> list[Attention]:
    first = (sa.select(sa.func.min(TreatmentSession.starts_at))
             .where(TreatmentSession.course_id == Course.id).scalar_subquery())
    rows = db.session.execute(
        sa.select(Patient.id, Patient.created_at, first.label("first_at"))
        .join(Course, Course.patient_id == Patient.id)
        .where(Patient.clinic_id == clinic_id, Patient.archived_at.is_(None),
               reach.unreached_early_sql(first, now))
        .order_by(sa.case((first <= now, first), else_=Patient.created_at), Patient.id)
    )
    return [Attention(row.id, "unreached",
                      reach.first_hours_start(row.first_at, row.created_at, now))
            for row in rows if row.id not in listed]


def open_alerts(patient: Patient) -> list[CheckIn]:
    """The patient's open alerts, oldest first."""
    return list(db.session.scalars(
        sa.select(CheckIn).where(CheckIn.patient_id == patient.id, is_open())
        .order_by(CheckIn.created_at, CheckIn.id)
    ))


def recent_checkins(patient: Patient, limit: int) -> list[CheckIn]:
    """The patient's latest check-ins, newest first, with who acknowledged each."""
    return list(db.session.scalars(
        sa.select(CheckIn).where(CheckIn.patient_id == patient.id)
        .options(so.joinedload(CheckIn.acknowledged_by))
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc()).limit(limit)
    ))


def clean_note(note: object) -> str:
    """Return the note trimmed, or raise NoteError: it is required, at most NOTE_MAX long."""
    text = note.strip() if isinstance(note, str) else ""
    if not text:
        raise NoteError(_("Write a short note: what was done, or why nothing is needed."))
    if len(text) > NOTE_MAX:
        raise NoteError(_("Keep the note to %(max)d characters (this one has %(n)d).",
                          max=NOTE_MAX, n=len(text)))
    return text


def acknowledge(patient: Patient, staff_user: StaffUser, note: object, now: datetime,
                seen_up_to: int | None = None) -> list[int]:
    """Mark the patient's open alerts acknowledged by ``staff_user`` with ``note``.

    Returns the ids acknowledged (none when a colleague was first). With ``seen_up_to`` (the
    newest check-in id the staff member had on screen), an alert that arrived after the page
    was shown stays open: nobody acknowledges what they have not read. One UPDATE guarded by
    ``acknowledged_at IS NULL``, so two colleagues at once never overwrite each other's note.
    Raises NoteError for a bad note, before anything changes.
    """
    text = clean_note(note)
    statement = (
        sa.update(CheckIn)
        .where(CheckIn.patient_id == patient.id, is_open())
        .values(acknowledged_at=now, acknowledged_by_id=staff_user.id,
                acknowledgement_note=text)
        .returning(CheckIn.id)
    )
    if seen_up_to is not None:
        statement = statement.where(CheckIn.id <= seen_up_to)
    ids = sorted(db.session.scalars(statement))
    if ids:
        audit.by(staff_user, "checkin.acknowledged", patient,
                 checkins=", ".join(map(str, ids)), count=len(ids))
    db.session.flush()
    return ids


# -- missed check-ins -------------------------------------------------------------------------


def missed_checkins(clinic_id: int, now: datetime, patient_id: int | None = None,
                    among: Collection[int] | None = None) -> dict[int, tuple[int, ...]]:
    """Map each of the clinic's current patients with missed check-ins to the days missed.

    A day counts when it is one of MISSED_DAYS after the patient's latest session, is over
    (before the patient's local today) and has no check-in dated to it; it is shown until the
    end of day MISSED_SHOWN_UNTIL_DAY. Local days are in the course's zone (the one
    policy.zone_for reads). Two queries, whatever the number of patients; ``among`` limits
    them to some patients (a roster page's).
    """
    # Only a session this recent can have a missed day still shown (a local day lasts at most
    # 25 hours, so a day-by-day bound would be a little shorter: this one is safe).
    horizon = now - timedelta(days=MISSED_SHOWN_UNTIL_DAY + 2)
    ts = TreatmentSession
    query = (
        sa.select(Patient.id, Course.timezone, sa.func.max(ts.starts_at).label("latest"))
        .join(Course, Course.patient_id == Patient.id)
        .join(ts, ts.course_id == Course.id)
        .where(Patient.clinic_id == clinic_id, Patient.archived_at.is_(None),
               ts.starts_at <= now, ts.starts_at > horizon)
        .group_by(Patient.id, Course.timezone)
    )
    if patient_id is not None:
        query = query.where(Patient.id == patient_id)
    if among is not None:  # one roster page's patients
        query = query.where(Patient.id.in_(list(among)))
    # A session in that span that was held is the latest held one: later ones are all later.
    return missed_after({row.id: (row.latest, ZoneInfo(row.timezone))
                         for row in db.session.execute(query)}, now)


def missed_after(latest: dict[int, tuple[datetime | None, ZoneInfo]],
                 now: datetime) -> dict[int, tuple[int, ...]]:
    """missed_checkins() for patients whose latest held session (and zone) is known: one
    query for their check-ins, none when no day can be missed (the roster's page passes
    what it read already)."""
    expected: dict[int, dict[int, date]] = {}  # patient id -> {day number: local date}
    for pid, (held, zone) in latest.items():
        days = _days_over(held, zone, now) if held is not None else {}
        if days:
            expected[pid] = days
    if not expected:
        return {}
    done: dict[int, set[date]] = defaultdict(set)
    earliest = min(day for days in expected.values() for day in days.values())
    for pid, local_date in db.session.execute(
        sa.select(CheckIn.patient_id, CheckIn.local_date).distinct()
        .where(CheckIn.patient_id.in_(list(expected)), CheckIn.local_date >= earliest)
    ):
        done[pid].add(local_date)
    missed = {}
    for pid, days in expected.items():
        gaps = tuple(number for number, day in days.items() if day not in done[pid])
        if gaps:
            missed[pid] = gaps
    return missed


def _days_over(latest: datetime, zone: ZoneInfo, now: datetime) -> dict[int, date]:
    """Those of MISSED_DAYS after the session at ``latest`` that are over, with their local
    dates, while today is at most MISSED_SHOWN_UNTIL_DAY; {} otherwise."""
    session_day = latest.astimezone(zone).date()
    today = (now.astimezone(zone).date() - session_day).days
    if today > MISSED_SHOWN_UNTIL_DAY:
        return {}
    return {d: session_day + timedelta(days=d) for d in MISSED_DAYS if d < today}


def missed_days(patient: Patient, now: datetime) -> tuple[int, ...]:
    """The days after the patient's latest session with a missed check-in (see above)."""
    return missed_checkins(patient.clinic_id, now, patient_id=patient.id).get(patient.id, ())
