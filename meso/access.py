"""Patient access: invite links become revocable device cookies. Only hashes are stored."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from meso.extensions import db
from meso.links import external_url
from meso.models import Patient, PatientDevice, hash_token, new_token


def patient_for_invite(token: str, now: datetime) -> Patient | None:
    """Return the patient whose live invite this is, or None (unknown, expired, archived)."""
    if not token or len(token) > 100:
        return None
    patient = db.session.scalar(sa.select(Patient).where(Patient.invite_hash == hash_token(token)))
    if patient is None or patient.archived_at is not None:
        return None
    if patient.invite_expires_at is None or patient.invite_expires_at <= now:
        return None
    return patient


# Devices a patient keeps at once; a new one beyond that signs out the least recently used.
MAX_DEVICES = 20


def add_device(patient: Patient, now: datetime) -> str:
    """Register a new device for the patient and return its cookie token."""
    make_room_for_device(patient)
    token = new_token()
    db.session.add(
        PatientDevice(patient=patient, token_hash=hash_token(token), created_at=now,
                      last_seen_at=now)
    )
    db.session.flush()
    return token


def make_room_for_device(patient: Patient) -> None:
    """Keep at most MAX_DEVICES device rows per patient, counting the one about to be added.

    The rows that go are the signed-out ones first, then the longest unused (their push
    subscriptions go with them). Refusing the new device instead would let anyone holding
    the code lock the patient out of their own aftercare by filling the list.
    """
    stale = sa.select(PatientDevice.id).where(PatientDevice.patient_id == patient.id).order_by(
        PatientDevice.revoked_at.is_(None).desc(), PatientDevice.last_seen_at.desc(),
        PatientDevice.id.desc(),
    ).offset(MAX_DEVICES - 1)
    ids = db.session.scalars(stale).all()
    if ids:
        db.session.execute(sa.delete(PatientDevice).where(PatientDevice.id.in_(ids)))


def set_device_cookie(response, token: str) -> None:
    """Set the device cookie (the same one the invite link and the access code set)."""
    config = current_app.config
    response.set_cookie(
        config["DEVICE_COOKIE"],
        token,
        max_age=int(timedelta(days=config["DEVICE_COOKIE_DAYS"]).total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=config["SESSION_COOKIE_SECURE"],
        path="/",
    )


def device_for_cookie(token: str | None) -> PatientDevice | None:
    """Return the live device behind a cookie value, or None."""
    if not token or len(token) > 100:
        return None
    device = db.session.scalar(
        sa.select(PatientDevice).where(PatientDevice.token_hash == hash_token(token))
    )
    if device is None or device.revoked_at is not None or device.patient.archived_at:
        return None
    return device


def revoke_devices(patient: Patient, now: datetime) -> int:
    """Revoke every live device of the patient; return how many."""
    result = db.session.execute(
        sa.update(PatientDevice)
        .where(PatientDevice.patient_id == patient.id, PatientDevice.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount


def invite_url(token: str) -> str:
    """Return the patient's invite link (on MESO_BASE_URL, never the request's host)."""
    return external_url("patient.open_invite", token=token)
