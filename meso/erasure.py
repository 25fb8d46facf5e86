"""Erasing a patient: every row that is theirs, in one transaction, leaving one audit event.

Every table whose rows lead to the patient (meso/patient_rows.py: course and sessions,
check-ins, photos, devices, push subscriptions, reminder settings and queued reminders,
e-mails to staff about them, access code, windows, the audit events about them) loses those
rows, children first, by explicit deletes: the same on SQLite and PostgreSQL, whatever each
foreign key's ON DELETE says. What stays is one "patient.erased" event: the clinic, who
erased, and when; no patient id and no detail, so nothing leads back to the person.

The function only executes and adds: the view commits once, so an error leaves everything.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from meso import audit, clinic_mail
from meso.extensions import db
from meso.models import AuditEvent, Patient, StaffUser
from meso.patient_rows import owned_rows


def names_match(typed: str, name: str) -> bool:
    """Whether the staff member typed the patient's full name (case and spacing aside)."""
    def norm(text: str) -> str:
        return " ".join(text.split()).casefold()

    return bool(typed.strip()) and norm(typed) == norm(name)


def request_erasure(patient: Patient, now: datetime) -> bool:
    """The patient asks for erasure: the clinic sees it on the roster and the patient's page,
    and with SMTP_URL set its admins get an e-mail (they erase). Return False when they had
    already asked (the first time is kept)."""
    if patient.erasure_requested_at is not None:
        return False
    patient.erasure_requested_at = now
    audit.record("erasure.requested", clinic_id=patient.clinic_id, patient_id=patient.id)
    if current_app.config.get("SMTP_URL"):
        clinic_mail.notify_erasure_requested(patient, now)
    db.session.flush()
    return True


def withdraw_request(patient: Patient) -> bool:
    """The patient no longer wants to be erased: the request leaves the clinic's pages.
    Return False when there was none."""
    if patient.erasure_requested_at is None:
        return False
    patient.erasure_requested_at = None
    audit.record("erasure.withdrawn", clinic_id=patient.clinic_id, patient_id=patient.id)
    # An e-mail about the request that has not gone yet would send admins to erase a patient
    # who no longer wants it: it goes no further. One already sent is history.
    clinic_mail.cancel_erasure_notices(patient.id)
    db.session.flush()
    return True


def erase(patient: Patient, actor: StaffUser) -> AuditEvent:
    """Delete every row of the patient; return the one audit event that remains of them."""
    clinic_id, patient_id = patient.clinic_id, patient.id
    db.session.flush()  # nothing pending may land after the deletes
    for owned in reversed(owned_rows(patient_id)):  # children first
        db.session.execute(sa.delete(owned.table).where(owned.where))
    db.session.expunge(patient)  # its row is gone: the session must not write it back
    return audit.record("patient.erased", clinic_id=clinic_id, staff_id=actor.id)
