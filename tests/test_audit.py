"""The audit log: the whole story of a patient (enrol → view → session → revoke) with who
and when, sign-ins, what admins see, erasure, and no secret ever recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, create_clinic, sign_in
from helpers import page_html
from staff_helpers import actions, new_client, post, signed_in_client

from meso import access, accesscode, audit
from meso.extensions import db
from meso.models import AuditEvent, Patient, StaffUser

ENROL = {"name": "Lucia Bianchi", "area": "face", "first_session": "2026-11-20T10:00",
         "planned_sessions": "4", "interval_weeks": "3", "timezone": "Europe/Rome"}


@pytest.fixture
def clinic(app):
    return create_clinic()


def test_the_story_of_a_patient(app, clinic):
    admin = signed_in_client(app, clinic, "boss@clinic.example", role="admin")
    anna = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == "boss@clinic.example"))
    response = post(admin, "/staff/patients/new", ENROL)
    invite = page_html(admin.get(response.headers["Location"]))
    link_token = invite.select_one("a#invite-link")["href"].rsplit("/i/", 1)[1]
    patient = db.session.scalar(sa.select(Patient))
    admin.get(f"/staff/patients/{patient.id}")
    post(admin, f"/staff/patients/{patient.id}/sessions", {"record-starts_at": "2026-12-11T10:00"})
    post(admin, f"/staff/patients/{patient.id}/invite")
    post(admin, f"/staff/patients/{patient.id}/devices/revoke")

    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.patient_id == patient.id).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == [
        "patient.enrolled", "patient.viewed", "patient.viewed", "session.recorded",
        "invite.reissued", "devices.revoked"]
    assert [e.detail.get("page") for e in events[1:3]] == ["invite", "detail"]
    assert {e.staff_user_id for e in events} == {anna.id}
    assert {e.clinic_id for e in events} == {clinic.id}
    recorded = events[3]
    assert recorded.detail == {"number": 2, "at": "2026-12-11T09:00:00+00:00", "booked": True}
    assert all(e.created_at.tzinfo == UTC for e in events)
    # Nothing secret anywhere in the log.
    dump = json.dumps([[e.action, e.detail] for e in db.session.scalars(sa.select(AuditEvent))])
    code = accesscode.code_for(patient)
    for secret in (link_token, code, code.replace("-", ""), PASSWORD, patient.name):
        assert secret not in dump

    # Admins read it per patient and per clinic.
    page = admin.get(f"/staff/patients/{patient.id}/audit").get_data(as_text=True)
    for label in ("Enrolled the patient", "Recorded a session", "Made a new invite link",
                  "Signed out everywhere (devices, link, access code)", "boss@clinic.example"):
        assert label in page
    clinic_page = admin.get("/staff/audit").get_data(as_text=True)
    assert "Signed in" in clinic_page and "Lucia Bianchi" in clinic_page


def test_sign_ins_are_recorded_success_and_failure(app, clinic):
    signed_in_client(app, clinic, "anna@clinic.example")
    assert sign_in(new_client(app), password="wrong password").status_code == 400
    assert sign_in(new_client(app), email="ghost@clinic.example").status_code == 400
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.detail) for e in events] == [
        ("staff.sign_in", {}),
        ("staff.sign_in_failed", {"reason": "wrong password"}),
        ("staff.sign_in_failed", {"reason": "unknown email"}),
    ]
    assert events[2].clinic_id is None and events[2].staff_user_id is None
    assert "ghost" not in json.dumps([e.detail for e in events])
    assert "wrong password" not in [e.detail.get("password") for e in events]


def test_sign_out_is_recorded(app, clinic):
    client = signed_in_client(app, clinic, "anna@clinic.example")
    post(client, "/staff/sign-out")
    assert actions()[-1] == "staff.sign_out"


def test_other_clinics_events_are_not_shown(app, clinic):
    admin = signed_in_client(app, clinic, "boss@clinic.example", role="admin")
    other = create_clinic(name="Clinica Napoli", phone="+39 081 000")
    signed_in_client(app, other, "luca@napoli.example")
    html = admin.get("/staff/audit").get_data(as_text=True)
    assert "boss@clinic.example" in html and "luca@napoli.example" not in html


def test_erasing_a_patient_keeps_the_trail_without_the_person(app, clinic):
    admin = signed_in_client(app, clinic, "boss@clinic.example", role="admin")
    post(admin, "/staff/patients/new", ENROL)
    patient = db.session.scalar(sa.select(Patient))
    access.add_device(patient, datetime.now(UTC))
    db.session.delete(patient)
    db.session.commit()
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "patient.enrolled")).all()
    assert len(events) == 1 and events[0].patient_id is None
    html = admin.get("/staff/audit").get_data(as_text=True)
    assert "erased patient" in html and "Lucia" not in html


@pytest.mark.parametrize("key", ["token", "invite_link", "password", "access_code"])
def test_secrets_cannot_be_recorded(app, clinic, key):
    with pytest.raises(ValueError, match="secrets"):
        audit.record("invite.reissued", clinic_id=clinic.id, **{key: "x"})


def test_unknown_actions_are_refused(app, clinic):
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record("patient.teleported", clinic_id=clinic.id)
