"""Patient access: invite links become revocable device cookies. Only hashes are stored."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from flask import current_app, has_request_context, request, url_for

from meso.extensions import db
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


def add_device(patient: Patient, now: datetime) -> str:
    """Register a new device for the patient and return its cookie token."""
    token = new_token()
    db.session.add(
        PatientDevice(patient=patient, token_hash=hash_token(token), created_at=now,
                      last_seen_at=now)
    )
    db.session.flush()
    return token


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
    return cast(sa.CursorResult, result).rowcount


def invite_url(token: str) -> str:
    """Return the patient's invite link, on MESO_BASE_URL when it is set."""
    base = current_app.config["MESO_BASE_URL"]
    if not base:
        base = request.url_root.rstrip("/") if has_request_context() else "http://127.0.0.1:5000"
    with current_app.test_request_context():
        path = url_for("patient.open_invite", token=token)
    return base + path
