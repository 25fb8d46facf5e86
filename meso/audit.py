"""The audit log: who did what to which record, when. Services and views call record().

Details are small facts (a session number, a time, a setting's old and new value); never a
token, an access code, a password or a patient's name: the trail must be safe to show an
admin and to keep after the patient is erased.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from meso.extensions import db
from meso.models import AuditEvent, utcnow

# Every action the app records, with how the audit pages name it.
ACTIONS = {
    "staff.sign_in": _l("Signed in"),
    "staff.sign_in_failed": _l("Sign-in failed"),
    "staff.sign_out": _l("Signed out"),
    "staff.invited": _l("Invited a colleague"),
    "staff.invite_cancelled": _l("Cancelled an invite"),
    "staff.reset_link": _l("Made a password link"),
    "staff.joined": _l("Set a password"),
    "staff.deactivated": _l("Deactivated an account"),
    "staff.activated": _l("Reactivated an account"),
    "staff.role_changed": _l("Changed a role"),
    "staff.language_changed": _l("Changed their own language"),
    "settings.changed": _l("Changed the clinic settings"),
    "patient.viewed": _l("Viewed the patient"),
    "patient.enrolled": _l("Enrolled the patient"),
    "patients.imported": _l("Imported patients"),
    "session.recorded": _l("Recorded a session"),
    "session.moved": _l("Moved a session"),
    "session.cancelled": _l("Cancelled a session"),
    "plan.changed": _l("Changed the plan"),
    "windows.changed": _l("Changed the patient's windows"),
    "patient.language_changed": _l("Changed the patient's language"),
    "invite.reissued": _l("Made a new invite link"),
    "access_code.rotated": _l("Made a new access code"),
    "devices.revoked": _l("Signed out everywhere (devices, link, access code)"),
    "patient.archived": _l("Archived the patient"),
    "patient.restored": _l("Restored the patient"),
    "checkin.acknowledged": _l("Acknowledged a check-in that needed attention"),
    "patient.exported": _l("Downloaded the patient's data"),
    # Never which address: only that one was set (at the desk, or confirmed by its link),
    # removed (by staff, the patient or an unsubscribe link) or dropped after it bounced.
    "email.set": _l("Set the e-mail address for reminders"),
    "email.removed": _l("Removed the e-mail address for reminders"),
    "email.dropped": _l("The e-mail address for reminders bounced and was removed"),
    # Recorded without a staff member: the patient asked (or withdrew), from their phone.
    "erasure.requested": _l("The patient asked for their data to be erased"),
    "erasure.withdrawn": _l("The patient withdrew their request for erasure"),
    "calendar.linked": _l("The patient made a calendar link"),
    "calendar.unlinked": _l("The patient stopped their calendar link"),
    # Recorded without a patient id or detail: all that remains of an erased patient.
    "patient.erased": _l("Erased a patient and everything stored about them"),
}

# A detail key that could carry a secret is a bug: refuse it loudly, in tests and in use.
_SECRET_WORDS = ("token", "password", "code", "secret", "link", "hash", "salt")


def record(
    action: str,
    *,
    clinic_id: int | None,
    staff_id: int | None = None,
    patient_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    for key in detail:
        if any(word in key.lower() for word in _SECRET_WORDS):
            raise ValueError(f"audit details must not hold secrets: {key!r}")
    event = AuditEvent(
        clinic_id=clinic_id,
        staff_user_id=staff_id,
        patient_id=patient_id,
        action=action,
        detail=detail,
        created_at=utcnow(),
    )
    db.session.add(event)
    return event


def by(staff, action: str, patient=None, **detail: Any) -> AuditEvent:
    """Record an action by a staff member (None: the command line) in their clinic."""
    clinic_id = patient.clinic_id if patient is not None else staff.clinic_id
    return record(
        action,
        clinic_id=clinic_id,
        staff_id=staff.id if staff is not None else None,
        patient_id=patient.id if patient is not None else None,
        **detail,
    )


def label(action: str) -> str:
    return str(ACTIONS.get(action, action))
