"""The reminder outbox: the plan stored as rows, claimed by workers, outcomes recorded.

Rows are keyed (patient, session, rule), so planning again never duplicates: it updates the
pending rows, revives cancelled ones and cancels those the plan no longer holds. Workers claim
due rows under a lease (on PostgreSQL with FOR UPDATE SKIP LOCKED, so any number of them never
claim one row twice); a worker that dies leaves its rows to the next one once the lease ends.
Services flush; the caller commits (the worker commits its own claims and outcomes).

The e-mail outbox (OutboundEmail, clinic_mail.py) has the same lease columns: claiming,
recording and the backoff here serve both tables (``model=``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa

from meso import page_versions, policy, reminders
from meso.extensions import db
from meso.models import OutboundEmail, Patient, PushSubscription, Reminder, utcnow
from meso.sql_lists import among, on_postgresql

MAX_ATTEMPTS = 6
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
NO_DEVICE = "no device"
TRIAL_RULE = "trial"  # the patient's test notification (trial_push.py), outside the plan

# The tables workers claim rows of: each has status, next_attempt_at and lease_until.
Outbox = type[Reminder] | type[OutboundEmail]


def plan(patient: Patient) -> list[reminders.Planned]:
    """Return the patient's reminder plan from their course, protocol and settings."""
    return plans([patient])[patient.id]


def plans(patients: Sequence[Patient]) -> defaultdict[int, list[reminders.Planned]]:
    """Each patient's plan (none for an archived patient or one without a course), their
    settings, windows and protocols read in one query each for all (policy.reminder_contexts).
    The patients' courses with their sessions, and their clinics, should be loaded with them."""
    planned = [(p, course) for p in patients
               if (course := p.course) is not None and p.archived_at is None]
    contexts = policy.reminder_contexts([patient for patient, _ in planned])
    made: defaultdict[int, list[reminders.Planned]] = defaultdict(list)
    for patient, course in planned:
        settings, _, rules = contexts[patient.id]
        made[patient.id] = reminders.schedule(course, course.session_starts, rules, settings)
    return made


@dataclass
class ReplanCounts:
    added: int = 0
    updated: int = 0
    cancelled: int = 0


def replan(patient: Patient, now: datetime | None = None) -> ReplanCounts:
    """Bring the patient's outbox rows in line with their plan (same transaction as the change).

    Sent, failed and skipped rows are history and stay, unless the session they spoke of has
    moved: then the reminder is news again and goes back to pending.
    """
    return replan_all([patient], now)


def replan_all(patients: Sequence[Patient], now: datetime | None = None) -> ReplanCounts:
    """``replan`` for many patients at once (a clinic's re-plan, meso/clinic_replans.py): their
    settings, windows and outbox rows are read in one query each for all of them (``plans``),
    and the changes flushed once. (One patient at a time, a batch of 200 cost about 900
    statements.)"""
    now = now or utcnow()
    patients = list({patient.id: patient for patient in patients}.values())  # each once
    planned = plans(patients)
    rows: dict[int, dict[tuple[int, str], Reminder]] = defaultdict(dict)
    if patients:
        for row in db.session.scalars(sa.select(Reminder).where(
                among(Reminder.patient_id, [p.id for p in patients]),
                Reminder.rule != TRIAL_RULE)):  # not planned
            rows[row.patient_id][(row.session, row.rule)] = row
    counts = ReplanCounts()
    for patient in patients:
        wanted = {item.key: item for item in planned[patient.id]
                  if reminders.useful(item.expires_at, now)}
        _reconcile(patient.id, wanted, rows[patient.id], now, counts)
    db.session.flush()
    return counts


def _reconcile(patient_id: int, wanted: dict, rows: dict[tuple[int, str], Reminder],
               now: datetime, counts: ReplanCounts) -> None:
    """Add, update and cancel one patient's rows so that the pending ones are ``wanted``."""
    for key, item in wanted.items():
        row = rows.get(key)
        if row is None:
            db.session.add(Reminder(patient_id=patient_id, **_fields(item), **_fresh(item, now)))
            counts.added += 1
        elif _needs_update(row, item):
            _apply(row, {**_fields(item), **_fresh(item, now)})
            counts.updated += 1
    for key, row in rows.items():
        if key not in wanted and row.status == "pending":
            _apply(row, {"status": "cancelled", "lease_until": None, "updated_at": now})
            counts.cancelled += 1


def _fields(item: reminders.Planned) -> dict:
    return {
        "session": item.session,
        "rule": item.rule,
        "category": item.category,
        "anchor_at": item.anchor_at,
        "fire_at": item.fire_at,
        "expires_at": item.expires_at,
        "topic": item.topic,
    }


def _fresh(item: reminders.Planned, now: datetime) -> dict:
    return {
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": item.fire_at,
        "lease_until": None,  # a worker holding the old version will find its lease gone
        "sent_at": None,
        "last_error": None,
        "channel": None,
        "updated_at": now,
    }


def _needs_update(row: Reminder, item: reminders.Planned) -> bool:
    if row.anchor_at != item.anchor_at or row.status == "cancelled":
        return True
    if row.status != "pending":
        return False
    return (row.fire_at, row.expires_at, row.category) != (
        item.fire_at, item.expires_at, item.category
    )


def _apply(row: Reminder, values: dict) -> None:
    for name, value in values.items():
        setattr(row, name, value)


def rearm(patient: Patient, now: datetime | None = None) -> int:
    """Make reminders skipped for want of a device pending again, while still useful.

    Called when the patient turns reminders on: what is still true reaches the new device.
    """
    now = now or utcnow()
    result = db.session.execute(
        sa.update(Reminder)
        .where(
            Reminder.patient_id == patient.id,
            Reminder.status == "skipped",
            Reminder.last_error == NO_DEVICE,
            reminders.useful(Reminder.expires_at, now),
        )
        .values(status="pending", attempts=0, next_attempt_at=now, lease_until=None,
                last_error=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return cast(sa.CursorResult, result).rowcount


def claim_due(now: datetime, limit: int, lease: timedelta,
              model: Outbox = Reminder) -> tuple[list[int], datetime]:
    """Lease up to ``limit`` due rows and commit; return their ids and the lease token.

    PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED, then UPDATE those ids, in one transaction, so
    concurrent workers skip each other's rows instead of waiting or taking them twice. (Not a
    single UPDATE … WHERE id IN (SELECT … SKIP LOCKED): the planner may re-run the subquery,
    which then skips the rows it just updated and claims more than ``limit``.)
    SQLite has one worker: a single UPDATE … RETURNING is one write, never a stale read.
    The lease's end doubles as a fencing token: outcomes are written only while it holds.
    """
    token = now + lease
    lease_rows = sa.update(model).values(lease_until=token).execution_options(
        synchronize_session=False)
    if on_postgresql():
        ids = lock_due(db.session, now, limit, model)
        if ids:
            db.session.execute(lease_rows.where(among(model.id, ids)))
    else:
        ids = list(db.session.scalars(
            lease_rows.where(model.id.in_(due_rows(now, limit, model))).returning(model.id)
        ))
    db.session.commit()
    return sorted(ids), token


def lock_due(connection, now: datetime, limit: int, model: Outbox = Reminder) -> list[int]:
    """PostgreSQL: lock the next due rows for this transaction, skipping rows others hold."""
    return connection.execute(
        due_rows(now, limit, model).with_for_update(skip_locked=True)
    ).scalars().all()


def due_rows(now: datetime, limit: int, model: Outbox = Reminder) -> sa.Select:
    """The ids of the next due, unleased rows, oldest first."""
    return (
        sa.select(model.id)
        .where(
            model.status == "pending",
            model.next_attempt_at <= now,
            sa.or_(model.lease_until.is_(None), model.lease_until <= now),
        )
        .order_by(model.next_attempt_at, model.id)
        .limit(limit)
    )


def record(row_id: int, token: datetime, values: dict, model: Outbox = Reminder) -> bool:
    """Write an outcome if our lease still holds (else another worker or a re-plan owns it)."""
    result = db.session.execute(
        sa.update(model)
        .where(model.id == row_id, model.lease_until == token)
        .values(lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return cast(sa.CursorResult, result).rowcount == 1


def record_many(token: datetime, outcomes: list[tuple[int, dict]],
                model: Outbox = Reminder) -> None:
    """Write many outcomes, as ``record`` writes one (only where our lease still holds): one
    UPDATE … WHERE id IN (…) for the rows given the same values. A batch's sends mostly are
    (sent at the same instant, on their first attempt), so a batch costs a statement or two,
    not one per row (an executemany still sent and answered each row on its own)."""
    alike: dict[tuple, list[int]] = {}
    for row_id, values in outcomes:
        alike.setdefault(tuple(sorted(values.items())), []).append(row_id)
    table = cast(sa.Table, model.__table__)
    for shared, ids in alike.items():
        db.session.execute(
            sa.update(table)
            .where(among(table.c.id, ids), table.c.lease_until == token)
            .values(lease_until=None, **dict(shared))
        )


def sent(now: datetime, attempts: int) -> dict:
    return {"status": "sent", "sent_at": now, "attempts": attempts, "last_error": None,
            "updated_at": now}


def closed(status: str, reason: str, now: datetime, attempts: int | None = None) -> dict:
    values = {"status": status, "last_error": reason[:200], "updated_at": now}
    if attempts is not None:
        values["attempts"] = attempts
    return values


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: BACKOFF_FIRST, doubling, at most
    BACKOFF_MAX."""
    return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (attempts - 1))


def retry(attempts_before: int, expires_at: datetime | None, now: datetime,
          retry_after: float | None, reason: str) -> dict:
    """Back off exponentially, or as long as the push service asked (Retry-After), whichever
    is longer; give up after MAX_ATTEMPTS, or when the next try would come too late (never,
    for a row without ``expires_at``: an e-mail to the clinic)."""
    attempts = attempts_before + 1
    delay = backoff(attempts)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=min(retry_after, 366 * 86400)))
    at = now + delay
    if attempts >= MAX_ATTEMPTS:
        return closed("failed", f"gave up after {attempts} attempts: {reason}", now, attempts)
    if expires_at is not None and not reminders.useful(expires_at, at):
        return closed("failed", f"pointless by the next try: {reason}", now, attempts)
    return {"attempts": attempts, "next_attempt_at": at, "last_error": reason[:200],
            "updated_at": now}


def postpone(until: datetime, now: datetime) -> dict:
    return {"next_attempt_at": until, "updated_at": now}


def prune(endpoints: list[str]) -> int:
    """Delete subscriptions the push service says are gone (404/410)."""
    if not endpoints:
        return 0
    owners = db.session.scalars(
        sa.delete(PushSubscription).where(among(PushSubscription.endpoint, endpoints))
        .returning(PushSubscription.patient_id)
    ).all()
    page_versions.changed(owners)  # Today counts the devices that get reminders
    return len(owners)


def mark_success(endpoints: list[str], now: datetime) -> None:
    if endpoints:
        db.session.execute(
            sa.update(PushSubscription)
            .where(among(PushSubscription.endpoint, endpoints))
            .values(last_success_at=now)
        )
