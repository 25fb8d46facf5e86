"""Patient.version: bumped by every write that a patient's pages could show, so that a page
kept from before it (meso/page_cache.py) is never shown again.

Writes through the ORM are seen here: a flush that adds, changes or deletes a row belonging
to a patient (the patient, their course and sessions, their windows, check-ins, reminder
settings, push subscriptions, and any table added later with a ``patient_id``) bumps that
patient, in the same transaction. A bulk statement (``sa.update``/``sa.delete``) bypasses the
ORM: the service issuing one that changes what a page shows calls ``changed`` itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy import event

from meso.extensions import db
from meso.models import Patient, TreatmentSession

# Rows no patient page shows: writing them leaves the pages as they are. (A device's
# last-seen time is written once an hour by the pages themselves; the worker's outbox rows,
# reminders and e-mails to staff, change with every send and are never on a patient page.)
NEUTRAL = frozenset({"AuditEvent", "OutboundEmail", "PatientDevice", "RateLimit", "Reminder"})


def changed(patient_ids: Iterable[int]) -> None:
    """Bump these patients' version (after a bulk statement that changed their pages)."""
    ids = sorted(set(patient_ids))
    if ids:
        db.session.execute(sa.update(Patient).where(Patient.id.in_(ids))
                           .values(version=Patient.version + 1)
                           .execution_options(synchronize_session=False))


def owners(row) -> set[int]:
    """The patients a row belongs to: now, and before this flush if it moved."""
    if isinstance(row, Patient):
        return {row.id} if row.id is not None else set()
    if isinstance(row, TreatmentSession):
        course = row.course
        return {course.patient_id} if course is not None and course.patient_id else set()
    found: set[int] = set()
    if "patient_id" in so.class_mapper(type(row)).attrs:
        history = so.attributes.get_history(row, "patient_id")
        found.update(pid for pid in chain(history.added, history.unchanged, history.deleted)
                     if pid is not None)
    owner = getattr(row, "patient", None)
    if isinstance(owner, Patient) and owner.id is not None:
        found.add(owner.id)
    return found


def init_app(app) -> None:
    """Bump versions on every flush from now on (the listener is the Session class's: once a
    process, however many apps it makes)."""
    if not event.contains(so.Session, "before_flush", _bump_versions):
        event.listen(so.Session, "before_flush", _bump_versions)


def _bump_versions(session: so.Session, flush_context, instances) -> None:
    rows = [row for row in chain(session.new, session.deleted,
                                 (r for r in session.dirty if session.is_modified(r)))
            if type(row).__name__ not in NEUTRAL]
    if not rows:
        return
    with session.no_autoflush:
        ids = set().union(*(owners(row) for row in rows))
        for pid in sorted(ids):
            patient = session.get(Patient, pid)
            if patient is not None and patient not in session.deleted:
                # In SQL, so that two writes at once both count.
                patient.version = Patient.version + 1
