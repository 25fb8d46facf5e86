"""Check-in services: read a submission, store it exactly once, and say what it means.

Services add and flush; the request commits, once.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from meso import advice, attention, photo_store, policy, protocol
from meso.extensions import db
from meso.models import ALERT_LEVELS, CheckIn, Patient
from meso.sql_lists import among

# What a phone makes for each submission (a UUID, or 32 hex digits where randomUUID is missing).
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
# A check-in filled in longer ago than this (a phone offline for a month) is refused, not
# dated to a day nobody remembers.
MAX_DELAY = timedelta(days=30)
# What "guidance" said before check-ins had an advice: an offline copy of an older page
# still shows its answer by this key, so every answer keeps carrying it.
OLD_GUIDANCE = {"expected": "ok", "watch": "low", "call_clinic": "contact",
                "emergency": "emergency"}
# Form fields carry the signs as sign_<key>=<level>.
SIGN_FIELD = "sign_"
# Versions a patient may send for one local day: a few corrections are normal, hundreds are
# a script filling the database.
MAX_PER_DAY = 10


class DayFull(ValueError):
    """The patient already sent MAX_PER_DAY check-ins for that day; the message says so."""


@dataclass(frozen=True)
class Submission:
    """A valid check-in as the patient sent it."""

    key: str
    feeling: int
    symptoms: frozenset[str]
    filled_at: datetime  # when the patient filled it in (aware; never after the server's now)
    # {sign: level} with all five signs, or None when the phone did not ask (an older page).
    signs: dict[str, str] | None = None
    trend: str | None = None
    no_flags: bool = False  # "None of these" chosen for the red flags


def parse(data: Mapping[str, Any], now: datetime) -> tuple[Submission | None, dict[str, str]]:
    """Validate a submission (JSON or form fields); return it, or the errors by field."""
    errors: dict[str, str] = {}
    key = data.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        errors["key"] = _("This check-in has no valid key. Please reload the page and try again.")
    feeling = _feeling(data.get("feeling"))
    if feeling is None:
        errors["feeling"] = _("Choose how the treated area feels.")
    symptoms = data.get("symptoms") or []
    if isinstance(symptoms, str):
        symptoms = [symptoms]
    if not isinstance(symptoms, list) or not all(
        isinstance(s, str) and s in protocol.CHECKIN_FLAGS for s in symptoms
    ):
        errors["symptoms"] = _("Tick only the signs listed.")
    no_flags = data.get("no_flags", False)
    if no_flags in (None, ""):
        no_flags = False
    if not isinstance(no_flags, bool):
        errors["no_flags"] = _("Answer “None of these” with yes or no.")
    elif no_flags and symptoms and "symptoms" not in errors:
        errors["symptoms"] = _("Tick the signs you notice, or “None of these”, not both.")
    signs = None
    try:
        signs = _signs(data.get("signs"))
    except ValueError:
        errors["signs"] = _("Choose None, Mild, Moderate or Strong for each sign.")
    trend = data.get("trend")
    if trend == "":  # a form's empty choice
        trend = None
    if trend is not None and (not isinstance(trend, str) or trend not in protocol.CHECKIN_TRENDS):
        errors["trend"] = _("Choose Better, The same or Worse.")
    filled_at = _filled_at(data.get("at"), now)
    if filled_at is None:
        errors["at"] = _("This check-in is too old or has a wrong date, so it was not kept.")
    if errors:
        return None, errors
    assert isinstance(key, str) and feeling is not None and filled_at is not None  # no errors
    return Submission(key, feeling, frozenset(symptoms), filled_at, signs, trend,
                      no_flags is True), {}


def _signs(value: Any) -> dict[str, str] | None:
    """The five signs with a level each (a sign left out is "none"), or None when not sent at
    all; ValueError for anything but an object of known signs to known levels."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        key in protocol.CHECKIN_SIGNS and isinstance(level, str) and level in protocol.SIGN_LEVELS
        for key, level in value.items()
    ):
        raise ValueError("not an object of signs to levels")
    return {key: value.get(key, "none") for key in protocol.CHECKIN_SIGNS}


def _feeling(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 3:
        value = int(value)
    return value if isinstance(value, int) and value in protocol.CHECKIN_FEELINGS else None


def _filled_at(value: Any, now: datetime) -> datetime | None:
    """The instant the phone says the check-in was filled in; a clock ahead counts as now."""
    if value in (None, ""):
        return now
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    if instant.tzinfo is None or instant < now - MAX_DELAY:
        return None
    return min(instant, now)


def record(patient: Patient, submission: Submission, now: datetime,
           photo: bytes | None = None) -> tuple[CheckIn, bool]:
    """Store the check-in unless its key was seen; return the stored row and whether it is new.

    ``photo`` (as sent) is stored with a new check-in, tied to it, or not at all: it is
    checked and cleaned before anything is written (photos.PhotoError when refused), and
    written in the check-in's own savepoint. A repeat never looks at it: the first answer
    stands, with the photo it had or not.
    """
    existing = _by_key(patient.id, submission.key)
    if existing is not None:
        return existing, False
    local_date = submission.filled_at.astimezone(policy.zone_for(patient)).date()
    if _count_on(patient.id, local_date) >= MAX_PER_DAY:
        raise DayFull(_("You have already sent %(n)d check-ins for this day, so this one was "
                        "not kept. If something worries you, call your clinic.", n=MAX_PER_DAY))
    # Filed on the day the check-in was filled in: a photo taken offline belongs to that day,
    # not to the day the network came back.
    picture = photo_store.prepare(patient, photo, submission.filled_at) if photo is not None \
        else None
    told = advise(patient, submission.feeling, submission.signs or {}, submission.trend,
                  submission.symptoms, submission.filled_at)
    checkin = CheckIn(
        patient_id=patient.id,
        local_date=local_date,
        feeling=submission.feeling,
        symptoms=",".join(sorted(submission.symptoms)),
        no_flags=submission.no_flags,
        signs=submission.signs or {},
        trend=submission.trend,
        advice=told.advice,
        idempotency_key=submission.key,
        created_at=now,
    )
    try:
        # A savepoint: a twin request that stored the same key a moment ago makes this insert
        # fail on the unique key; answer with the twin's row, the rest of the transaction intact.
        # The photo in the same savepoint, so both are kept or neither is. (With pysqlite a
        # savepoint opened before any write is the transaction itself, and its release
        # commits: whatever could refuse the check-in must come before it.)
        with db.session.begin_nested():
            db.session.add(checkin)
            if picture is not None:
                db.session.flush()  # the check-in's id, for its photo
                picture.check_in_id = checkin.id
                db.session.add(picture)
    except IntegrityError:
        twin = _by_key(patient.id, submission.key)
        if twin is None:
            raise
        return twin, False
    if checkin.advice in ALERT_LEVELS:
        attention.checkin_needs_attention(checkin, now)
    return checkin, True


def advise(patient: Patient, feeling: int, signs: dict[str, str], trend: str | None,
           symptoms: frozenset[str], at: datetime) -> advice.Advice:
    """The advice for these answers, by the patient's area and their day at ``at`` (local
    days since the latest session, negative before the first)."""
    plan = policy.plan_for(patient, at)
    return advice.advise(plan.area, plan.day, feeling, signs, trend, symptoms)


def _count_on(patient_id: int, day: date) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn).where(
        CheckIn.patient_id == patient_id, CheckIn.local_date == day)) or 0


def _by_key(patient_id: int, key: str) -> CheckIn | None:
    return db.session.scalar(
        sa.select(CheckIn).where(CheckIn.patient_id == patient_id, CheckIn.idempotency_key == key)
    )


def reasons(checkin: CheckIn, filled_at: datetime | None = None) -> tuple[str, ...]:
    """Why the check-in got its advice: the reasons of the rules that called for it, translated.

    The advice is stored as the patient was told; the reasons are worked out again from the
    stored answers, on the day the check-in was filled in (``filled_at`` when known, else its
    own local day). Rules changed since then give no reasons rather than another advice's.
    """
    patient = checkin.patient
    zone = policy.zone_for(patient)
    at = filled_at
    if at is None or at.astimezone(zone).date() != checkin.local_date:
        day_end = datetime.combine(checkin.local_date, time.max, zone)
        at = min(checkin.created_at, day_end)
    again = advise(patient, checkin.feeling, checkin.signs or {}, checkin.trend,
                   frozenset(checkin.symptom_keys), at)
    if again.advice != checkin.advice:
        return ()
    # Only the rules of the advice given: "check again tomorrow" under "call your clinic
    # today" would say two things at once.
    return tuple(_(rule.reason) for rule in again.reasons if rule.advice == again.advice)


def result(checkin: CheckIn, filled_at: datetime | None = None) -> dict[str, Any]:
    """The answer to a submission, the same every time the same check-in is sent."""
    return {
        "key": checkin.idempotency_key,
        "date": checkin.local_date.isoformat(),
        "feeling": checkin.feeling,
        "symptoms": checkin.symptom_keys,
        "no_flags": checkin.no_flags,
        "signs": checkin.signs or {},
        "trend": checkin.trend,
        "advice": checkin.advice,
        "reasons": list(reasons(checkin, filled_at)),
        "guidance": OLD_GUIDANCE[checkin.advice],
    }


def latest_on(patient_id: int, day: date) -> CheckIn | None:
    """The patient's last check-in of a local day, or None: Today thanks them for it, and the
    check-in nudge of a day already checked in stays quiet."""
    return db.session.scalar(
        sa.select(CheckIn)
        .where(CheckIn.patient_id == patient_id, CheckIn.local_date == day)
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
        .limit(1)
    )


def checked_in_days(days: Collection[tuple[int, date]]) -> set[tuple[int, date]]:
    """Which of these (patient id, local day) pairs have a check-in: the reminder worker asks
    once for a batch's check-in nudges (a day already checked in stays quiet), not once a row.
    The query reads the pairs' patients on the pairs' days (the index on patient and day); a
    patient's other day among them is dropped here."""
    if not days:
        return set()
    found = db.session.execute(
        sa.select(CheckIn.patient_id, CheckIn.local_date).distinct()
        .where(among(CheckIn.patient_id, {pid for pid, _ in days}),
               among(CheckIn.local_date, {day for _, day in days})))
    return {(pid, day) for pid, day in found} & set(days)


def owner_pseudonym(patient: Patient) -> str:
    """A pseudonym of the patient for the phone's check-in queue (not their id).

    A queued check-in carries it, so one made by patient A is never sent, or stored, under
    patient B when B later opens their own link on the same phone.
    """
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"checkin-owner:{patient.id}".encode(), "sha256").hexdigest()[:20]
