"""A clinic's settings changed: its patients' reminders are re-planned by the worker.

A settings save touches every current patient's reminder plan (windows, morning time, quiet
hours); done inline, a clinic of thousands would hold the request for seconds. So the request
only stamps the clinic's ClinicReplan row (``request``: one upsert), and the reminder worker
(meso/worker.py) calls ``run_batch`` each round: it leases one clinic's row, re-plans the next
``size`` patients in id order (courses.after_courses_change, as a change of their own course
would, the whole batch at once), and records how far it got, all in one transaction, fenced by
its lease and the row's generation. So each patient is re-planned once per change even with
several workers on PostgreSQL (the claim is FOR UPDATE SKIP LOCKED, then leased, like the
outbox); a worker that dies leaves its batch to the next one once the lease ends; a change
arriving mid-pass restarts the pass, and a batch made under the older settings is rolled back,
never recorded.

Until its turn comes, a queued reminder is still checked against the current settings when it
is sent (worker.decide: categories, quiet hours), and patients' pages read the settings
directly (page_cache.key), so the pass only moves the outbox rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql, sqlite

from meso import courses
from meso.extensions import db
from meso.models import ClinicReplan, Course, Patient, utcnow
from meso.sql_lists import on_postgresql

BATCH = 200


def request(clinic_id: int, now: datetime | None = None) -> None:
    """Queue a re-plan of the clinic's patients (the caller commits, with the change)."""
    now = now or utcnow()
    dialect = postgresql if on_postgresql() else sqlite
    insert = dialect.insert(ClinicReplan).values(
        clinic_id=clinic_id, requested_at=now, generation=1, after_patient_id=0)
    # A pass under way starts again from the first patient: those done had the old settings.
    db.session.execute(insert.on_conflict_do_update(
        index_elements=[ClinicReplan.clinic_id],
        set_={"requested_at": now, "generation": ClinicReplan.generation + 1,
              "after_patient_id": 0}))


def pending(clinic_id: int) -> bool:
    """Whether the clinic's patients still wait for a re-plan."""
    return db.session.get(ClinicReplan, clinic_id, populate_existing=True) is not None


@dataclass(frozen=True)
class Claim:
    clinic_id: int
    generation: int
    after_patient_id: int
    token: datetime  # the lease's end, and the fencing token of what is recorded


def claim(now: datetime, lease: timedelta) -> Claim | None:
    """Lease the clinic waiting longest (none leased by another worker) and commit."""
    free = sa.or_(ClinicReplan.lease_until.is_(None), ClinicReplan.lease_until <= now)
    oldest = (sa.select(ClinicReplan.clinic_id).where(free)
              .order_by(ClinicReplan.requested_at, ClinicReplan.clinic_id).limit(1))
    token = now + lease
    if on_postgresql():
        oldest = oldest.with_for_update(skip_locked=True)
    # SQLite has one worker (cli_reminders.single_sqlite_worker), and one writer at a time.
    row = db.session.execute(
        sa.update(ClinicReplan).where(ClinicReplan.clinic_id == oldest.scalar_subquery())
        .values(lease_until=token)
        .returning(ClinicReplan.clinic_id, ClinicReplan.generation,
                   ClinicReplan.after_patient_id)
        .execution_options(synchronize_session=False)).first()
    db.session.commit()
    return None if row is None else Claim(row[0], row[1], row[2], token)


def run_batch(now: datetime, lease: timedelta, size: int = BATCH) -> int:
    """Re-plan the next ``size`` patients of one waiting clinic; return how many were done
    (and recorded: 0 when a newer change came meanwhile, which starts the pass again)."""
    held = claim(now, lease)
    if held is None:
        return 0
    patients = db.session.scalars(
        sa.select(Patient)
        .where(Patient.clinic_id == held.clinic_id, Patient.archived_at.is_(None),
               Patient.id > held.after_patient_id)
        .order_by(Patient.id).limit(size)
        .options(so.selectinload(Patient.course).selectinload(Course.sessions),
                 so.joinedload(Patient.clinic))).all()
    courses.after_courses_change(patients)
    mine = sa.and_(ClinicReplan.clinic_id == held.clinic_id,
                   ClinicReplan.generation == held.generation,
                   ClinicReplan.lease_until == held.token)
    if len(patients) < size:  # the last batch: the clinic is done
        done = db.session.execute(sa.delete(ClinicReplan).where(mine))
    else:
        done = db.session.execute(
            sa.update(ClinicReplan).where(mine)
            .values(after_patient_id=patients[-1].id, lease_until=None)
            .execution_options(synchronize_session=False))
    if cast(sa.CursorResult, done).rowcount == 1:
        db.session.commit()
        return len(patients)
    # The settings changed while we worked (or our lease ran out and another worker has the
    # clinic): nothing of this batch stands, and our lease, if still ours, is given back.
    db.session.rollback()
    db.session.execute(
        sa.update(ClinicReplan)
        .where(ClinicReplan.clinic_id == held.clinic_id, ClinicReplan.lease_until == held.token)
        .values(lease_until=None).execution_options(synchronize_session=False))
    db.session.commit()
    return 0
