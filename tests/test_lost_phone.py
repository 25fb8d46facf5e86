"""A lost phone: "Sign out all devices" ends every device, the invite link and the access code;
archiving and restoring leave no old way in either."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from conftest import create_clinic, csrf_token, enrol_patient, open_invite
from helpers import frozen, page_html
from staff_helpers import actions, new_client, post, signed_in_client

from meso import accesscode
from meso.extensions import db
from meso.models import AccessCode, Patient, PatientDevice, PushSubscription

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(NOW):
        yield


def invite_token(response) -> str:
    """The token of the invite link the staff page shows."""
    link = page_html(response).select_one("a#invite-link")["href"]
    assert link.startswith("http://localhost/i/"), link
    return link.removeprefix("http://localhost/i/")


@pytest.fixture
def clinic(app):
    return create_clinic()


@pytest.fixture
def staff(app, clinic):
    return signed_in_client(app, clinic)


@pytest.fixture
def maria(app, clinic):
    """Maria, her invite token, her phone (signed in, with reminders on) and her code."""
    patient, token = enrol_patient(clinic)
    phone = new_client(app)
    assert open_invite(phone, token).status_code == 303
    device = db.session.scalar(sa.select(PatientDevice))
    db.session.add(PushSubscription(patient_id=patient.id, device_id=device.id,
                                    endpoint="https://fcm.googleapis.com/fcm/send/lost",
                                    p256dh="k", auth="a"))
    db.session.commit()
    return patient, token, phone, accesscode.code_for(patient)


def type_code(app, code: str, address: str):
    phone = new_client(app)
    token = csrf_token(phone, "/open")
    return phone.post("/open", data={"code": code, "csrf_token": token},
                      environ_base={"REMOTE_ADDR": address})


def test_sign_out_all_devices_ends_devices_link_and_code(app, staff, maria):
    patient, token, phone, old_code = maria
    old_salt = db.session.get(AccessCode, patient.id).salt
    response = post(staff, f"/staff/patients/{patient.id}/devices/revoke")
    assert response.status_code == 303
    assert "Signed out everywhere (1 device)." in staff.get(
        response.headers["Location"]).get_data(as_text=True)
    # The phone is out, and its reminders with it.
    assert phone.get("/today").status_code == 401
    assert db.session.scalars(sa.select(PushSubscription)).all() == []
    # The link is dead, for the finder of the phone as for anyone.
    assert open_invite(new_client(app), token).status_code == 404
    # The old code never works again: a new salt (and locator) make a new code.
    assert db.session.get(AccessCode, patient.id).salt != old_salt
    assert type_code(app, old_code, "10.0.0.1").status_code == 400
    new_code = accesscode.code_for(patient)
    assert new_code != old_code
    assert type_code(app, new_code, "10.0.0.2").status_code == 303
    # The staff page shows the new code; a new link works.
    page = page_html(staff.get(f"/staff/patients/{patient.id}"))
    assert page.select_one("strong.access-code#access-code").get_text() == new_code
    post(staff, f"/staff/patients/{patient.id}/invite")
    fresh = invite_token(staff.get(f"/staff/patients/{patient.id}/invite"))
    assert open_invite(new_client(app), fresh).status_code == 303
    assert "devices.revoked" in actions(patient_id=patient.id)


def test_archive_then_restore_leaves_no_old_way_in(app, staff, maria):
    patient, token, phone, old_code = maria
    assert post(staff, f"/staff/patients/{patient.id}/archive").status_code == 303
    assert post(staff, f"/staff/patients/{patient.id}/restore").status_code == 303
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).archived_at is None
    assert phone.get("/today").status_code == 401
    assert open_invite(new_client(app), token).status_code == 404
    assert type_code(app, old_code, "10.0.0.3").status_code == 400
    assert db.session.scalars(sa.select(PushSubscription)).all() == []
    # Restored: a new link (and the new code) are the way back.
    post(staff, f"/staff/patients/{patient.id}/invite")
    fresh = invite_token(staff.get(f"/staff/patients/{patient.id}/invite"))
    assert open_invite(new_client(app), fresh).status_code == 303
    assert type_code(app, accesscode.code_for(patient), "10.0.0.4").status_code == 303


def test_a_patient_archived_with_a_live_link_and_code_comes_back_without_them(app, staff, maria):
    """Archived before archiving rotated the code (or by hand): restoring still ends both."""
    patient, token, _, old_code = maria
    patient.archived_at = NOW
    db.session.commit()
    assert post(staff, f"/staff/patients/{patient.id}/restore").status_code == 303
    assert open_invite(new_client(app), token).status_code == 404
    assert type_code(app, old_code, "10.0.0.5").status_code == 400
