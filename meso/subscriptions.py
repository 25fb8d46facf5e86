"""A patient's push subscriptions: check what a browser sent, store it, forget it, and list the
ones the worker may send to. Services: they flush, the caller commits.
"""

from __future__ import annotations

from collections import defaultdict
from typing import cast

import sqlalchemy as sa

from meso import outbox, page_versions, push, push_services
from meso.extensions import db
from meso.models import Patient, PatientDevice, PushSubscription, utcnow
from meso.models.push import ENDPOINT_MAX
from meso.sql_lists import among

MAX_PER_PATIENT = 10  # subscriptions kept per patient; the oldest go first


class InvalidSubscription(ValueError):
    """A subscription a browser sent that cannot be used; ``field`` names the culprit."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


def parse(data: object, services) -> push.Subscription:
    """Check a PushSubscription's JSON from a browser; raise InvalidSubscription.

    ``services`` are the origins its endpoint may point at (push.services_for(app)).
    """
    if not isinstance(data, dict):
        raise InvalidSubscription("subscription", "expected a JSON object")
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise InvalidSubscription("endpoint", "the endpoint is missing")
    if len(endpoint) > ENDPOINT_MAX:
        raise InvalidSubscription("endpoint", f"the endpoint is longer than {ENDPOINT_MAX}")
    try:
        push_services.check(endpoint, services)
    except ValueError as exc:
        raise InvalidSubscription("endpoint", str(exc)) from None
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise InvalidSubscription("keys", "the keys are missing")
    for name in ("p256dh", "auth"):
        if not isinstance(keys.get(name), str) or not keys[name]:
            raise InvalidSubscription(f"keys.{name}", f"keys.{name} is missing")
    try:
        point = push.b64url_decode(keys["p256dh"])
        if len(point) != 65 or point[0] != 4:
            raise ValueError("not an uncompressed point")
        from cryptography.hazmat.primitives.asymmetric import ec  # only when one subscribes

        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise InvalidSubscription(
            "keys.p256dh", "keys.p256dh must be a base64url P-256 public key"
        ) from None
    try:
        secret = push.b64url_decode(keys["auth"])
    except ValueError:
        secret = b""
    if len(secret) != 16:
        raise InvalidSubscription("keys.auth", "keys.auth must be 16 bytes, base64url")
    return push.Subscription(endpoint, push.b64url(point), push.b64url(secret))


def store(patient: Patient, device: PatientDevice, subscription: push.Subscription,
          old_endpoint: str | None = None) -> bool:
    """Store this browser's subscription (upsert by endpoint); return whether it is new.

    An endpoint belongs to one browser. Another patient's row for it is only ever a signed-out
    device's (the view refuses a live one's: access.endpoint_held_by_another; the invite
    landing's confirmed switch drops the old device's rows), so taking it over moves nothing
    from one patient to another. ``old_endpoint`` (after
    the browser replaced its subscription) is forgotten. Reminders skipped for want of a
    device, and still useful, are due again.
    """
    row = db.session.scalar(
        sa.select(PushSubscription).where(PushSubscription.endpoint == subscription.endpoint)
    )
    created = row is None
    if row is None:
        row = PushSubscription(endpoint=subscription.endpoint, created_at=utcnow())
        db.session.add(row)
    row.patient_id, row.device_id = patient.id, device.id
    row.p256dh, row.auth = subscription.p256dh, subscription.auth
    db.session.flush()
    surplus = db.session.scalars(
        sa.select(PushSubscription.id)
        .where(PushSubscription.patient_id == patient.id)
        .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
        .offset(MAX_PER_PATIENT)
    ).all()
    if surplus:
        db.session.execute(sa.delete(PushSubscription).where(PushSubscription.id.in_(surplus)))
        page_versions.changed([patient.id])
    if old_endpoint and old_endpoint != subscription.endpoint:
        forget(patient.id, old_endpoint)
    outbox.rearm(patient)
    return created


def forget(patient_id: int, endpoint: str) -> int:
    """Delete the patient's own subscription with this endpoint (never anyone else's)."""
    result = db.session.execute(
        sa.delete(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.patient_id == patient_id
        )
    )
    page_versions.changed([patient_id])
    return cast(sa.CursorResult, result).rowcount


def count(patient_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(PushSubscription.patient_id == patient_id)
    ) or 0


def live(patient_ids, services) -> tuple[dict[int, list[push.Subscription]], int]:
    """Return each patient's subscriptions the worker may send to, and how many were deleted.

    Revoked devices' subscriptions are left out. Subscriptions whose endpoint is outside
    ``services`` are deleted: the list may have narrowed since they were stored (or another
    process accepted them with another list), and no message may go there.
    """
    # Columns, not ORM objects: the worker reads them once, for a batch at a time.
    rows = db.session.execute(
        sa.select(PushSubscription.id, PushSubscription.patient_id, PushSubscription.endpoint,
                  PushSubscription.p256dh, PushSubscription.auth)
        .outerjoin(PatientDevice, PatientDevice.id == PushSubscription.device_id)
        .where(among(PushSubscription.patient_id, patient_ids),
               PatientDevice.revoked_at.is_(None))
        .order_by(PushSubscription.id)
    ).all()
    found: dict[int, list[push.Subscription]] = defaultdict(list)
    outside = []
    for sub in rows:
        if push_services.allowed(sub.endpoint, services):
            found[sub.patient_id].append(push.Subscription(sub.endpoint, sub.p256dh, sub.auth))
        else:
            outside.append(sub.id)
    if outside:
        db.session.execute(sa.delete(PushSubscription).where(PushSubscription.id.in_(outside)))
        page_versions.changed(sub.patient_id for sub in rows if sub.id in outside)
    return found, len(outside)
