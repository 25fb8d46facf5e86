"""Patient access: invite links become revocable device cookies. Only hashes are stored.

The device cookie is read and written here and nowhere else (patient_required in
meso/patient/views.py is the one decorator that asks for it). These functions only flush: the
view commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, request

from meso import accesscode, calendar_feeds, page_versions
from meso.extensions import db
from meso.links import external_url
from meso.models import (
    Clinic,
    Patient,
    PatientDevice,
    PushSubscription,
    hash_token,
    new_token,
)

# A link is meant for one person's phone and maybe a tablet; more devices than this means it
# was forwarded or posted somewhere, and the clinic should make a new one.
INVITE_MAX_DEVICES = 5


def patient_for_invite(token: str, now: datetime) -> Patient | None:
    """Return the patient whose live invite this is, or None (unknown, expired, archived)."""
    if not token or len(token) > 100:
        return None
    patient = db.session.scalar(sa.select(Patient).where(Patient.invite_hash == hash_token(token)))
    if patient is None or patient.archived_at is not None:
        return None
    return patient if invite_is_live(patient, now) else None


def invite_is_live(patient: Patient, now: datetime) -> bool:
    """Whether the patient's invite link has not expired yet (whoever holds it)."""
    return patient.invite_expires_at is not None and patient.invite_expires_at > now


# Devices a patient keeps at once; a new one beyond that signs out the least recently used.
MAX_DEVICES = 20
# A device's last-seen time is written at most this often, so reading a page is not a write.
LAST_SEEN_EVERY = timedelta(hours=1)


def invite_used_up(patient: Patient) -> bool:
    return patient.invite_uses >= INVITE_MAX_DEVICES


def claim_invite(patient: Patient, token: str) -> bool:
    """Count one more device opened by this invite; False when the link has no use left.

    One conditional UPDATE, so two phones pressing the button at the same moment cannot both
    take the last use (nor use a link the clinic replaced a moment ago).
    """
    claimed = cast(sa.CursorResult, db.session.execute(
        sa.update(Patient)
        .where(Patient.id == patient.id, Patient.invite_hash == hash_token(token),
               Patient.invite_uses < INVITE_MAX_DEVICES)
        .values(invite_uses=Patient.invite_uses + 1)
        .execution_options(synchronize_session=False)
    )).rowcount == 1
    db.session.refresh(patient, ["invite_uses"])
    return claimed


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
        page_versions.changed([patient.id])  # their push subscriptions went with them


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


def _device_by_token() -> sa.Select:
    """The device with its patient, their clinic (and its settings) and course, in one query:
    every patient page needs them, and one round trip beats four. The course's sessions load
    when a page is made, not with every kept page served: a collection joined in multiplies
    the rows and costs a kept Today more than the rest of its work. Built once: its loader
    options cost more to build than the query to run (every patient request runs it)."""
    patient = so.joinedload(PatientDevice.patient)
    return (sa.select(PatientDevice)
            .where(PatientDevice.token_hash == sa.bindparam("token_hash"))
            .options(patient.joinedload(Patient.clinic).joinedload(Clinic.settings),
                     patient.joinedload(Patient.course)))


DEVICE_BY_TOKEN = _device_by_token()


def device_from_request() -> PatientDevice | None:
    """Return the live device behind this request's device cookie, or None."""
    return device_for_cookie(request.cookies.get(current_app.config["DEVICE_COOKIE"]))


def device_for_cookie(token: str | None) -> PatientDevice | None:
    """Return the live device behind a cookie value, or None."""
    if not could_be_token(token):
        return None
    device = db.session.execute(
        DEVICE_BY_TOKEN, {"token_hash": hash_token(cast(str, token))}).scalar_one_or_none()
    if device is None or not is_live(device.revoked_at, device.patient.archived_at):
        return None
    return device


def device_token(cookies: Mapping[str, str], config: Mapping) -> str | None:
    """The device cookie's value among a request's cookies, if it could be a token (for the
    path before Flask, meso/kept_pages.py, which has no request object)."""
    token = cookies.get(config["DEVICE_COOKIE"])
    return token if could_be_token(token) else None


def could_be_token(token: str | None) -> bool:
    return bool(token) and len(cast(str, token)) <= 100


def is_live(revoked_at: datetime | None, archived_at: datetime | None) -> bool:
    """A device opens its aftercare until it is revoked or its patient archived."""
    return revoked_at is None and archived_at is None


def revoke_devices(patient: Patient, now: datetime) -> int:
    """Revoke every live device of the patient and drop their push subscriptions; return
    how many devices."""
    result = db.session.execute(
        sa.update(PatientDevice)
        .where(PatientDevice.patient_id == patient.id, PatientDevice.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.execute(
        sa.delete(PushSubscription).where(PushSubscription.patient_id == patient.id))
    page_versions.changed([patient.id])
    return cast(sa.CursorResult, result).rowcount


def drop_device(device: PatientDevice, now: datetime) -> None:
    """Sign one browser out (another patient's link is taking it over) and silence it."""
    device.revoked_at = now
    db.session.execute(sa.delete(PushSubscription).where(PushSubscription.device_id == device.id))
    page_versions.changed([device.patient_id])
    db.session.flush()


def sign_out_everywhere(patient: Patient, now: datetime) -> int:
    """A lost phone: end every device, the invite link, the calendar link and the access code
    (a new code is made: a new salt, so the old code never matches again). Return how many
    devices were live."""
    count = revoke_devices(patient, now)
    patient.invite_hash, patient.invite_expires_at = None, None
    calendar_feeds.stop(patient)  # the phone's calendar app holds that link too
    accesscode.issue(patient)
    return count


def endpoint_held_by_another(endpoint: str, patient: Patient) -> bool:
    """Whether another patient's live device owns this push endpoint.

    An endpoint is one browser. It changes patients only through the invite landing's
    confirmed switch, which drops the old device and its subscription first; anything else
    (a cookie lost while the old device lives on) must not quietly take over its reminders.
    """
    return (db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PushSubscription)
        .outerjoin(PatientDevice, PatientDevice.id == PushSubscription.device_id)
        .where(PushSubscription.endpoint == endpoint,
               PushSubscription.patient_id != patient.id,
               PatientDevice.revoked_at.is_(None))
    ) or 0) > 0


def invite_url(token: str) -> str:
    """Return the patient's invite link (on MESO_BASE_URL, never the request's host)."""
    return external_url("patient.open_invite", token=token)
