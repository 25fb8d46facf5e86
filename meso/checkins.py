"""Check-in services: read a submission, store it exactly once, and say what it means.

Services add and flush; the request commits, once.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from meso import policy, protocol
from meso.extensions import db
from meso.models import CheckIn, Patient

# What a phone makes for each submission (a UUID, or 32 hex digits where randomUUID is missing).
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
# A check-in filled in longer ago than this (a phone offline for a month) is refused, not
# dated to a day nobody remembers.
MAX_DELAY = timedelta(days=30)
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
    filled_at = _filled_at(data.get("at"), now)
    if filled_at is None:
        errors["at"] = _("This check-in is too old or has a wrong date, so it was not kept.")
    if errors:
        return None, errors
    assert isinstance(key, str) and feeling is not None and filled_at is not None  # no errors
    return Submission(key, feeling, frozenset(symptoms), filled_at), {}


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


def record(patient: Patient, submission: Submission, now: datetime) -> tuple[CheckIn, bool]:
    """Store the check-in unless its key was seen; return the stored row and whether it is new."""
    existing = _by_key(patient.id, submission.key)
    if existing is not None:
        return existing, False
    local_date = submission.filled_at.astimezone(policy.zone_for(patient)).date()
    if _count_on(patient.id, local_date) >= MAX_PER_DAY:
        raise DayFull(_("You have already sent %(n)d check-ins for this day, so this one was "
                        "not kept. If something worries you, call your clinic.", n=MAX_PER_DAY))
    checkin = CheckIn(
        patient_id=patient.id,
        local_date=local_date,
        feeling=submission.feeling,
        symptoms=",".join(sorted(submission.symptoms)),
        idempotency_key=submission.key,
        created_at=now,
    )
    try:
        # A savepoint: a twin request that stored the same key a moment ago makes this insert
        # fail on the unique key; answer with the twin's row, the rest of the transaction intact.
        with db.session.begin_nested():
            db.session.add(checkin)
    except IntegrityError:
        twin = _by_key(patient.id, submission.key)
        if twin is None:
            raise
        return twin, False
    return checkin, True


def _count_on(patient_id: int, day: date) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn).where(
        CheckIn.patient_id == patient_id, CheckIn.local_date == day)) or 0


def _by_key(patient_id: int, key: str) -> CheckIn | None:
    return db.session.scalar(
        sa.select(CheckIn).where(CheckIn.patient_id == patient_id, CheckIn.idempotency_key == key)
    )


def result(checkin: CheckIn) -> dict[str, Any]:
    """The answer to a submission, the same every time the same check-in is sent."""
    return {
        "key": checkin.idempotency_key,
        "date": checkin.local_date.isoformat(),
        "feeling": checkin.feeling,
        "symptoms": checkin.symptom_keys,
        "guidance": guidance(checkin),
    }


def guidance(checkin: CheckIn) -> str:
    return protocol.checkin_guidance(checkin.feeling, set(checkin.symptom_keys))


def latest_on(patient_id: int, day: date) -> CheckIn | None:
    """The patient's last check-in of a local day, or None: Today thanks them for it, and the
    check-in nudge of a day already checked in stays quiet."""
    return db.session.scalar(
        sa.select(CheckIn)
        .where(CheckIn.patient_id == patient_id, CheckIn.local_date == day)
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
        .limit(1)
    )


def owner_pseudonym(patient: Patient) -> str:
    """A pseudonym of the patient for the phone's check-in queue (not their id).

    A queued check-in carries it, so one made by patient A is never sent, or stored, under
    patient B when B later opens their own link on the same phone.
    """
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"checkin-owner:{patient.id}".encode(), "sha256").hexdigest()[:20]
