"""E-mail to the clinic's admins: queued here, sent by the worker.

Two kinds, each one e-mail for each active admin of the patient's clinic, in the e-mail outbox
(OutboundEmail), due at once: the worker (worker.py) sends it at its next poll and retries it
like a push.

- An alert check-in (advice call_clinic or emergency): "a patient needs attention".
- A patient asks for their data to be erased (admins erase, meso/erasure.py): "a patient asked
  for their data to be erased".

Each says only that, with a link to the staff patient page. An inbox is read on lock screens,
forwarded and kept for years, and mail travels through servers we do not run: no name, no sign,
no answer, no advice level goes in it. The page behind the link shows them, to signed-in staff
of that clinic only.

Services add and flush; the request that stored the check-in (or the request) commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from flask_babel import gettext as _

from meso import clinics, links
from meso.extensions import db
from meso.models import ALERT_LEVELS, CheckIn, OutboundEmail, Patient, StaffUser

SUBJECT_MAX = 200  # OutboundEmail.subject


def attention_key(checkin_id: int, staff_id: int) -> str:
    """One e-mail per alert check-in and admin: queueing it again never sends it twice."""
    return f"attention:{checkin_id}:{staff_id}"


def erasure_key(patient_id: int, staff_id: int, requested_at: datetime) -> str:
    """One e-mail per admin for a patient's erasure requests of one (UTC) day: asking, then
    withdrawing and asking again, never fills an inbox; a request on another day is news."""
    return f"erasure:{patient_id}:{staff_id}:{requested_at:%Y%m%d}"


def cancel_erasure_notices(patient_id: int) -> int:
    """Drop the patient's erasure e-mails still waiting in the outbox (the request was
    withdrawn); return how many. Sent ones stay: they are the record of what admins got."""
    prefix = f"erasure:{patient_id}:"
    result = db.session.execute(
        sa.delete(OutboundEmail)
        .where(OutboundEmail.patient_id == patient_id, OutboundEmail.status == "pending",
               OutboundEmail.dedupe_key.startswith(prefix, autoescape=True))
        .execution_options(synchronize_session=False))
    return cast(sa.CursorResult, result).rowcount or 0


def notify_admins(checkin: CheckIn, now: datetime) -> int:
    """Queue "a patient needs attention" for every active admin of the patient's clinic who
    has not had it for this check-in; return how many were queued."""
    if checkin.advice not in ALERT_LEVELS:
        return 0
    patient = checkin.patient
    subject, body = texts(patient.clinic.name,
                          # Straight to the open check-ins on the patient's page.
                          links.external_url("staff.patient", patient_id=patient.id)
                          + "#attention")
    return _queue(patient, lambda staff: attention_key(checkin.id, staff.id), subject, body, now)


def notify_erasure_requested(patient: Patient, now: datetime) -> int:
    """Queue "a patient asked for their data to be erased" for every active admin of the
    patient's clinic (admins erase); return how many were queued."""
    requested_at = patient.erasure_requested_at or now
    subject, body = erasure_texts(patient.clinic.name,
                                  # Straight to the request on the patient's page.
                                  links.external_url("staff.patient", patient_id=patient.id)
                                  + "#data-rights")
    return _queue(patient, lambda staff: erasure_key(patient.id, staff.id, requested_at),
                  subject, body, now)


def _queue(patient: Patient, key_for: Callable[[StaffUser], str], subject: str, body: str,
           now: datetime) -> int:
    """Queue one e-mail to each active admin of the patient's clinic whose key (``key_for``)
    is not queued yet; return how many were queued."""
    admins = {key_for(staff): staff
              for staff in db.session.scalars(clinics.active_admins(patient.clinic_id))}
    if not admins:
        return 0
    queued = set(db.session.scalars(
        sa.select(OutboundEmail.dedupe_key).where(OutboundEmail.dedupe_key.in_(list(admins)))))
    added = 0
    for key, staff in admins.items():
        if key in queued:
            continue
        db.session.add(OutboundEmail(
            clinic_id=patient.clinic_id, patient_id=patient.id, dedupe_key=key,
            to_address=staff.email, subject=subject, body=body, status="pending",
            attempts=0, next_attempt_at=now, created_at=now, updated_at=now))
        added += 1
    db.session.flush()
    return added


def texts(clinic_name: str, link: str) -> tuple[str, str]:
    """The subject and body of the e-mail: that a patient needs attention, and where to look.

    Nothing else, on purpose (see the module's docstring).
    """
    # One line, whatever the clinic's name holds: a line break would end the header.
    subject = " ".join(_("A patient of %(clinic)s needs attention",
                         clinic=clinic_name).split())[:SUBJECT_MAX]
    body = "\n".join([
        _("A patient of %(clinic)s needs attention.", clinic=clinic_name),
        "",
        _("Open their page to see why (staff sign-in needed):"),
        link,
        "",
        _("This e-mail says nothing more on purpose: the details are on that page, for the "
          "clinic's signed-in staff only."),
        "",
    ])
    return subject, body


def erasure_texts(clinic_name: str, link: str) -> tuple[str, str]:
    """The subject and body of the erasure e-mail: that a patient asked, and where to look.

    No name and no detail, on purpose (see the module's docstring).
    """
    subject = " ".join(_("A patient of %(clinic)s asked for their data to be erased",
                         clinic=clinic_name).split())[:SUBJECT_MAX]
    body = "\n".join([
        _("A patient of %(clinic)s asked for everything this app keeps about them to be "
          "erased.", clinic=clinic_name),
        "",
        _("Open their page to see the request (staff sign-in needed). An admin confirms the "
          "erasure there; the patient may also withdraw it:"),
        link,
        "",
        _("This e-mail says nothing more on purpose: the details are on that page, for the "
          "clinic's signed-in staff only."),
        "",
    ])
    return subject, body
