"""The test notification a patient asks for ("Send me a test notification"): an outbox row.

It travels the way every reminder does (the worker sends it, retries it, prunes dead devices),
so a web request never waits on a push service and a patient cannot make the server post
anywhere at will. One row per patient, re-used; a few requests per window at most.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from meso import outbox, ratelimit
from meso.extensions import db
from meso.models import Patient, Reminder

RULE = outbox.TRIAL_RULE  # not a protocol rule: re-planning leaves these rows alone
SESSION = 0  # not any session's reminder
LIFETIME = timedelta(minutes=10)  # a test that arrives later than this is only confusing
LIMIT: ratelimit.Limit = (3, timedelta(minutes=10))


def limit_key(patient_id: int) -> str:
    return f"push-test:{patient_id}"


def wait_seconds(patient_id: int, now: datetime) -> int | None:
    """Return how long the patient must wait before asking again, or None if they may now."""
    return ratelimit.retry_after([(limit_key(patient_id), LIMIT)], now)


def queue(patient: Patient, now: datetime) -> None:
    """Make the patient's test notification due now, and count the request."""
    values = {"anchor_at": now, "fire_at": now, "next_attempt_at": now,
              "expires_at": now + LIFETIME, "status": "pending", "attempts": 0,
              "lease_until": None, "sent_at": None, "last_error": None, "updated_at": now}
    row = _row(patient.id)
    if row is None:
        try:
            with db.session.begin_nested():  # a second device may ask at the same moment
                db.session.add(Reminder(patient_id=patient.id, session=SESSION, rule=RULE,
                                        category=RULE, topic=RULE, created_at=now, **values))
        except sa.exc.IntegrityError:
            row = _row(patient.id)
    if row is not None:
        for name, value in values.items():
            setattr(row, name, value)
    # The counter counts requests here, not failures: each queued test uses one.
    ratelimit.count_failure(limit_key(patient.id), LIMIT, now)
    db.session.flush()


def _row(patient_id: int) -> Reminder | None:
    return db.session.scalar(sa.select(Reminder).where(
        Reminder.patient_id == patient_id, Reminder.session == SESSION, Reminder.rule == RULE))
