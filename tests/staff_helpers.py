"""Helpers shared by the clinic-side tests (test_staff_*, isolation, audit, access codes)."""

from __future__ import annotations

import sqlalchemy as sa
from conftest import IsolatedClient, create_clinic, create_staff, csrf_token, sign_in

from meso.extensions import db
from meso.models import AuditEvent

# A page that hands out the CSRF token without side effects (no audit event).
TOKEN_PAGE = "/staff/patients/new"


def new_client(app):
    """A test client whose requests have their own app context and database session."""
    app.test_client_class = IsolatedClient
    return app.test_client()


def post(client, url: str, data: dict | None = None):
    """POST a staff form with a valid CSRF token; the test then sees what the request saved."""
    response = client.post(url, data={**(data or {}),
                                      "csrf_token": csrf_token(client, TOKEN_PAGE)})
    db.session.expire_all()
    return response


def signed_in_client(app, clinic, email: str = "anna@clinic.example",
                     role: str = "practitioner"):
    """Create a staff member of ``clinic`` and return a client signed in as them."""
    create_staff(clinic, email=email, role=role)
    client = new_client(app)
    assert sign_in(client, email=email).status_code == 303
    return client


def two_clinics():
    return create_clinic(), create_clinic(name="Clinica Napoli", phone="+39 081 000")


def actions(**where) -> list[str]:
    query = sa.select(AuditEvent.action).order_by(AuditEvent.id)
    for key, value in where.items():
        query = query.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(query))


def add_checkin(patient, at, advice="expected", *, local_date=None, feeling=3, symptoms="",
                signs=None, trend=None, no_flags=False):
    """Store a check-in as the patient side does (its advice already worked out) and return it.

    ``local_date`` defaults to ``at``'s day in the patient's zone, as checkins.record dates it.
    """
    from meso import policy
    from meso.models import CheckIn, new_token

    checkin = CheckIn(
        patient_id=patient.id, feeling=feeling, symptoms=symptoms, signs=signs or {},
        trend=trend, advice=advice, idempotency_key=new_token()[:40], created_at=at,
        no_flags=no_flags,
        local_date=local_date or at.astimezone(policy.zone_for(patient)).date(),
    )
    db.session.add(checkin)
    db.session.commit()
    return checkin
