"""A patient's e-mail address for reminders: given at the desk, or added by the patient and
confirmed by a link; removed by them, by an unsubscribe link, or dropped when it bounces.

Patient.email holds only a confirmed address the patient consented to (Patient.email_consent_at
says when): staff record one the patient gives at the desk (consent taken there), and an
address the patient types on the reminders page waits in EmailConfirmation until they click
the link sent to it. Removing is immediate, whoever does it.

Links carry no stored secret. The confirmation link's token is an HMAC (SECRET_KEY) of the
pending row's id, random nonce and address; the unsubscribe link's is an HMAC of the patient
and the address on file. So the database alone confirms or unsubscribes nothing, a link is
dead once its row (or the address) changes, and the worker can write the link into an e-mail
at send time without the outbox ever holding it.

Services add and flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _

from meso import audit, links, outbox, policy, ratelimit
from meso.extensions import db
from meso.models import EmailConfirmation, OutboundEmail, Patient, StaffUser

CONFIRM_DAYS = 2  # a confirmation link works this long
# Confirmation e-mails a patient may have sent a day: enough for typos, too few to use the
# app to fill a stranger's inbox.
LINKS_LIMIT: ratelimit.Limit = (5, timedelta(days=1))
ADDRESS_MAX = 254
CONFIRM_KEY = "email-confirm:"  # OutboundEmail.dedupe_key prefix of a confirmation e-mail
LINK_PLACEHOLDER = "{confirmation_link}"  # in the stored body; the worker writes the link


class AddressError(ValueError):
    """An address that cannot be used; the message says why, next to the field."""


def normalise(text: str | None) -> str:
    """Return the address as we store it (domain lower-cased), or raise AddressError.

    Syntax only: no DNS lookup at request time (a slow resolver must not hold a page); an
    address that does not exist bounces, and is then dropped.
    """
    text = (text or "").strip()
    if not text:
        raise AddressError(_("Enter an e-mail address."))
    if len(text) > ADDRESS_MAX:
        raise AddressError(_("This e-mail address is too long."))
    try:
        valid = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise AddressError(_("Enter an e-mail address like name@example.com.")) from None
    return valid.normalized


# -- staff: at the desk -----------------------------------------------------------------------


def set_at_desk(patient: Patient, address: str, actor: StaffUser | None, now: datetime) -> bool:
    """Record an address the patient gave at the desk, with their consent taken there.

    It is on file at once (the patient said it in person). Return False when it was already
    the address on file. The audit log says an address was set, never which.
    """
    address = normalise(address)
    if patient.email == address:
        return False
    _cancel_pending(patient)
    patient.email = address
    patient.email_consent_at = now
    patient.email_dropped_at = None
    audit.by(actor, "email.set", patient, via="desk")
    outbox.rearm(patient, now)  # what is still true reaches the new channel
    db.session.flush()
    return True


def remove(patient: Patient, actor: StaffUser | None = None, via: str = "patient") -> bool:
    """Take the address (and any pending one) off file at once; return False when none."""
    had = patient.email is not None
    pending = _cancel_pending(patient)
    patient.email = None
    patient.email_consent_at = None
    if had or pending:
        if actor is not None:
            audit.by(actor, "email.removed", patient, via=via)
        else:
            audit.record("email.removed", clinic_id=patient.clinic_id, patient_id=patient.id,
                         via=via)
    db.session.flush()
    return had or pending


# -- the patient: add or change, confirmed by a link ------------------------------------------


def pending(patient: Patient, now: datetime) -> EmailConfirmation | None:
    """The address waiting for its link, if the link still works."""
    row = db.session.scalar(sa.select(EmailConfirmation).where(
        EmailConfirmation.patient_id == patient.id))
    return row if row is not None and row.expires_at > now else None


def request_change(patient: Patient, address: str, now: datetime) -> EmailConfirmation:
    """Keep the address the patient typed until they confirm it, and queue the e-mail with
    the link (the worker sends it). Asking again replaces the pending address and its link.
    AddressError when it is not an address, or when the patient asked too often today."""
    address = normalise(address)
    limit_key = f"email-confirm:{patient.id}"
    wait = ratelimit.retry_after([(limit_key, LINKS_LIMIT)], now)
    if wait is not None:
        raise AddressError(_("Too many links sent today.") + " " + ratelimit.wait_text(wait))
    ratelimit.count_failure(limit_key, LINKS_LIMIT, now)  # counts requests, as trial_push
    _cancel_pending(patient)
    row = EmailConfirmation(patient_id=patient.id, address=address,
                            nonce=secrets.token_hex(16), created_at=now,
                            expires_at=now + timedelta(days=CONFIRM_DAYS))
    db.session.add(row)
    db.session.flush()
    subject, body = confirmation_texts()
    db.session.add(OutboundEmail(
        clinic_id=patient.clinic_id, patient_id=patient.id,
        dedupe_key=f"{CONFIRM_KEY}{row.id}:{row.nonce[:12]}", to_address=address,
        subject=subject, body=body, status="pending", attempts=0, next_attempt_at=now,
        created_at=now, updated_at=now))
    db.session.flush()
    return row


def _cancel_pending(patient: Patient) -> bool:
    """Forget the pending address: its link stops working, an unsent e-mail is not sent."""
    row = db.session.scalar(sa.select(EmailConfirmation).where(
        EmailConfirmation.patient_id == patient.id))
    if row is None:
        return False
    db.session.execute(sa.delete(OutboundEmail).where(
        OutboundEmail.dedupe_key.startswith(f"{CONFIRM_KEY}{row.id}:"),
        OutboundEmail.status == "pending"))
    db.session.delete(row)
    db.session.flush()
    return True


def confirmation_token(row: EmailConfirmation) -> str:
    return f"{row.id}.{_digest('email-confirm', row.id, row.nonce, row.address)}"


def confirmation_link(row: EmailConfirmation) -> str:
    return links.external_url("patient_email.confirm", token=confirmation_token(row))


def find_confirmation(token: str, now: datetime) -> EmailConfirmation | None:
    """The pending row a link names, if the link is genuine and still works."""
    row_id = _id_of(token)
    row = db.session.get(EmailConfirmation, row_id) if row_id is not None else None
    if row is None or row.expires_at <= now:
        return None
    return row if hmac.compare_digest(token, confirmation_token(row)) else None


def confirm(row: EmailConfirmation, now: datetime) -> Patient:
    """The patient clicked the link: the address is on file (consent given by asking and
    confirming), and the link is spent."""
    patient = row.patient
    patient.email = row.address
    patient.email_consent_at = now
    patient.email_dropped_at = None
    db.session.delete(row)
    audit.record("email.set", clinic_id=patient.clinic_id, patient_id=patient.id,
                 via="confirmation")
    outbox.rearm(patient, now)
    db.session.flush()
    return patient


def confirmation_texts() -> tuple[str, str]:
    """The confirmation e-mail. No health words: it reaches an inbox before anything else."""
    subject = _("Confirm your e-mail address for reminders")
    body = "\n".join([
        _("Someone (we hope you) asked for reminders from your clinic to come to this "
          "address."),
        "",
        _("To confirm, open this link and press the button on the page. It works for "
          "%(days)d days:", days=CONFIRM_DAYS),
        LINK_PLACEHOLDER,
        "",
        _("If it was not you, ignore this e-mail: nothing will be sent to you."),
        "",
    ])
    return subject, body


def body_at_send(row: OutboundEmail, now: datetime) -> str | None:
    """The body to send for a queued e-mail: a confirmation gets its link written in now
    (the outbox never holds it); None when that confirmation no longer stands."""
    if not row.dedupe_key.startswith(CONFIRM_KEY):
        return row.body
    confirmation_id = _id_of(row.dedupe_key.removeprefix(CONFIRM_KEY).replace(":", "."))
    pending_row = (db.session.get(EmailConfirmation, confirmation_id)
                   if confirmation_id is not None else None)
    if pending_row is None or pending_row.expires_at <= now:
        return None
    return row.body.replace(LINK_PLACEHOLDER, confirmation_link(pending_row))


# -- unsubscribe and bounces ------------------------------------------------------------------


def unsubscribe_token(patient: Patient) -> str:
    """For the address on file: a new address makes the old e-mails' links dead."""
    assert patient.email is not None
    return f"{patient.id}.{_digest('unsubscribe', patient.id, patient.email)}"


def unsubscribe_link(patient: Patient) -> str:
    return links.external_url("patient_email.unsubscribe", token=unsubscribe_token(patient))


def find_unsubscriber(token: str) -> Patient | None:
    """The patient whose current address a genuine unsubscribe link names."""
    patient_id = _id_of(token)
    patient = db.session.get(Patient, patient_id) if patient_id is not None else None
    if patient is None or patient.email is None:
        return None
    return patient if hmac.compare_digest(token, unsubscribe_token(patient)) else None


def drop_bounced(patient_id: int, address: str, now: datetime) -> bool:
    """The address bounced for good: take it off file (if still the one on file) and let
    the reminders page say so. Return whether it was dropped."""
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.email != address:
        return False
    patient.email = None
    patient.email_consent_at = None
    patient.email_dropped_at = now
    audit.record("email.dropped", clinic_id=patient.clinic_id, patient_id=patient.id)
    db.session.flush()
    return True


# -- how the patient is reached -------------------------------------------------------------


@dataclass(frozen=True)
class EmailState:
    """What the reminders page shows about e-mail."""

    available: bool  # the server sends e-mail (SMTP_URL)
    address: str | None
    pending: str | None
    pending_until: datetime | None
    dropped: bool


def state_for(patient: Patient, now: datetime) -> EmailState:
    waiting = pending(patient, now)
    return EmailState(
        available=bool(current_app.config.get("SMTP_URL")),
        address=patient.email,
        pending=waiting.address if waiting else None,
        pending_until=waiting.expires_at.astimezone(policy.zone_for(patient)) if waiting else None,
        dropped=patient.email is None and patient.email_dropped_at is not None,
    )


def _digest(purpose: str, *parts: object) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = ":".join([purpose, *map(str, parts)]).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:43]


def _id_of(token: str) -> int | None:
    head, dot, _rest = token.partition(".")
    if not dot or not head.isdigit() or len(head) > 12:
        return None
    return int(head)

