"""E-mail to the clinic when a check-in asks it to follow up: queued here, sent by the worker.

An alert check-in (advice call_clinic or emergency) becomes one e-mail for each active admin of
the patient's clinic, in the e-mail outbox (OutboundEmail), due at once: the worker (worker.py)
sends it at its next poll and retries it like a push. The e-mail says only that a patient of the
clinic needs attention, with a link to the staff patient page. An inbox is read on lock screens,
forwarded and kept for years, and mail travels through servers we do not run: no name, no sign,
no answer, no advice level goes in it. The page behind the link shows them, to signed-in staff
of that clinic only.

Services add and flush; the request that stored the check-in commits.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from meso import clinics, links
from meso.extensions import db
from meso.models import ALERT_LEVELS, CheckIn, OutboundEmail

SUBJECT_MAX = 200  # OutboundEmail.subject


def attention_key(checkin_id: int, staff_id: int) -> str:
    """One e-mail per alert check-in and admin: queueing it again never sends it twice."""
    return f"attention:{checkin_id}:{staff_id}"


def notify_admins(checkin: CheckIn, now: datetime) -> int:
    """Queue "a patient needs attention" for every active admin of the patient's clinic who
    has not had it for this check-in; return how many were queued."""
    if checkin.advice not in ALERT_LEVELS:
        return 0
    patient = checkin.patient
    admins = {attention_key(checkin.id, staff.id): staff
              for staff in db.session.scalars(clinics.active_admins(patient.clinic_id))}
    if not admins:
        return 0
    queued = set(db.session.scalars(
        sa.select(OutboundEmail.dedupe_key).where(OutboundEmail.dedupe_key.in_(list(admins)))))
    subject, body = texts(patient.clinic.name,
                          # Straight to the open check-ins on the patient's page.
                          links.external_url("staff.patient", patient_id=patient.id)
                          + "#attention")
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
