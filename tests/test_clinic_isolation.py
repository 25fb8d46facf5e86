"""No staff member can reach another clinic's records: every route that takes an id, walked
from app.url_map (so a new route cannot be forgotten), answers 404 to clinic A's staff for
clinic B's ids, and changes nothing."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from conftest import create_staff, csrf_token, enrol_patient
from photo_helpers import jpeg
from staff_helpers import (
    TOKEN_PAGE,
    add_checkin,
    new_client,
    post,
    signed_in_client,
    two_clinics,
)

from meso import access, accesscode, photo_store
from meso.extensions import db
from meso.models import StaffInvite, StaffUser, utcnow


def snapshot() -> str:
    """Every row of every table, to prove a refused request changed nothing."""
    rows = {}
    for table in db.metadata.sorted_tables:
        if table.name in ("audit_event", "rate_limit"):
            continue
        rows[table.name] = [list(map(str, row)) for row in db.session.execute(
            sa.select(table)).all()]
    return json.dumps(rows, sort_keys=True)


@pytest.fixture
def other_clinic_ids(app):
    """Clinic B's ids for every kind of id a route can take."""
    _home, other = two_clinics()
    patient, _ = enrol_patient(other, name="Luca Napoli")
    access.add_device(patient, utcnow())
    add_checkin(patient, utcnow(), "emergency")  # an open alert nobody else may acknowledge
    colleague = create_staff(other, email="luca@napoli.example", role="admin")
    invite = StaffInvite(clinic_id=other.id, email="x@napoli.example", role="practitioner",
                         token_hash="0" * 64, created_by_id=colleague.id, created_at=utcnow(),
                         expires_at=utcnow().replace(year=2100))
    db.session.add(invite)
    photo = photo_store.add(patient, jpeg(), utcnow())
    db.session.commit()
    return {"patient_id": patient.id, "session_id": patient.course.sessions[0].id,
            "staff_id": colleague.id, "invite_id": invite.id, "photo_id": photo.id}


def id_rules(app):
    rules = []
    for rule in app.url_map.iter_rules():
        id_args = sorted(a for a in rule.arguments if a == "id" or a.endswith("_id"))
        if id_args:
            rules.append(rule)
    return rules


def test_every_route_with_an_id_is_404_across_clinics(app, other_clinic_ids):
    home = db.session.scalar(sa.select(StaffUser.clinic_id).where(
        StaffUser.email == "luca@napoli.example"))
    assert home  # clinic B's admin exists; now clinic A's admin tries clinic B's ids
    from meso.models import Clinic
    clinic_a = db.session.scalar(sa.select(Clinic).where(Clinic.name == "Clinica Roma"))
    client = signed_in_client(app, clinic_a, "boss@roma.example", role="admin")
    checked = []
    before = snapshot()
    for rule in id_rules(app):
        missing = [a for a in rule.arguments if a not in other_clinic_ids]
        assert not missing, f"{rule.rule}: add an id of clinic B for {missing} to this test"
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", str(other_clinic_ids[name])).replace(
                f"<{name}>", str(other_clinic_ids[name]))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = client.get(url)
            else:
                response = client.open(url, method=method, data={
                    "csrf_token": csrf_token(client, TOKEN_PAGE), "active": "0",
                    "record-starts_at": "2026-12-01T10:00", "attention-note": "Seen"})
            expected = 404 if rule.endpoint.startswith("staff.") else (401, 403, 404)
            assert (response.status_code == expected if isinstance(expected, int)
                    else response.status_code in expected), (method, url,
                                                               response.status_code)
            assert "Luca Napoli" not in response.get_data(as_text=True)
            checked.append((method, rule.endpoint))
    db.session.expire_all()
    assert snapshot() == before
    # The walk really covered the staff routes of this issue.
    endpoints = {endpoint for _method, endpoint in checked}
    for endpoint in ("staff.patient", "staff.invite", "staff.reissue_invite",
                     "staff.record_session", "staff.confirm_session", "staff.move_session",
                     "staff.cancel_session",
                     "staff.change_plan", "staff.change_windows", "staff.rotate_code",
                     "staff.revoke_devices", "staff.archive", "staff.restore",
                     "staff.patient_audit", "staff.set_active", "staff.set_role",
                     "staff.reset_password", "staff.cancel_invite",
                     "staff.acknowledge_attention", "staff.export_patient",
                     "staff.erase_patient", "photos.show", "photos.thumb"):
        assert endpoint in endpoints, endpoint


def test_a_practitioner_is_404_too(app, other_clinic_ids):
    from meso.models import Clinic
    clinic_a = db.session.scalar(sa.select(Clinic).where(Clinic.name == "Clinica Roma"))
    client = signed_in_client(app, clinic_a, "anna@roma.example")
    patient_id = other_clinic_ids["patient_id"]
    assert client.get(f"/staff/patients/{patient_id}").status_code == 404
    assert post(client, f"/staff/patients/{patient_id}/archive").status_code == 404


def test_search_never_finds_another_clinic_s_patient(app, other_clinic_ids):
    from meso.models import Clinic
    clinic_a = db.session.scalar(sa.select(Clinic).where(Clinic.name == "Clinica Roma"))
    client = signed_in_client(app, clinic_a, "anna@roma.example")
    assert "Luca Napoli" not in client.get("/staff/?q=Luca").get_data(as_text=True)
    assert "Luca Napoli" not in client.get("/staff/?q=Luca&archived=1").get_data(as_text=True)


def test_an_access_code_opens_only_its_own_patient(app, other_clinic_ids):
    from meso.models import Patient
    patient = db.session.get(Patient, other_clinic_ids["patient_id"])
    phone = new_client(app)
    token = csrf_token(phone, "/open")
    phone.post("/open", data={"code": accesscode.code_for(patient), "csrf_token": token})
    assert "Luca" in phone.get("/today").get_data(as_text=True)
