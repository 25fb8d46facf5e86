"""Inputs no database can store, and guessing limits: a clear 4xx, never a 500."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import (
    PASSWORD,
    create_clinic,
    create_staff,
    csrf_token,
    enrol_patient,
    open_invite,
    sign_in,
)

from meso.extensions import db
from meso.models import Patient

SOON = (datetime.now() + timedelta(days=5)).strftime("%Y-%m-%dT10:00")


def enrol_form(csrf: str, name: str) -> dict:
    return {"csrf_token": csrf, "name": name, "area": "face", "first_session": SOON,
            "planned_sessions": "4", "interval_weeks": "3", "timezone": "Europe/Rome"}


@pytest.fixture
def staff_client(app, client):
    create_staff(create_clinic())
    assert sign_in(client).status_code == 303
    return client


def test_nul_in_a_query_string_is_a_400(staff_client):
    assert staff_client.get("/staff/?q=a%00b").status_code == 400


def test_nul_in_a_form_field_is_a_400_and_saves_nothing(staff_client):
    token = csrf_token(staff_client, "/staff/patients/new")
    response = staff_client.post("/staff/patients/new", data=enrol_form(token, "A\x00B"))
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == 0


def test_nul_in_json_is_a_json_400(app, client):
    _patient, token = enrol_patient(create_clinic())
    assert open_invite(client, token).status_code == 303
    csrf = csrf_token(client, "/today")
    response = client.post("/checkins", json={"key": "k" * 20, "feeling": 3, "symptoms": [],
                                              "owner": "a\x00"},
                           headers={"X-CSRFToken": csrf})
    assert response.status_code == 400
    assert "error" in response.get_json()


def test_a_non_ascii_check_in_owner_is_refused_not_a_crash(app, client):
    _patient, token = enrol_patient(create_clinic())
    assert open_invite(client, token).status_code == 303
    csrf = csrf_token(client, "/today")
    response = client.post("/checkins", json={"key": "k" * 20, "feeling": 3, "symptoms": [],
                                              "owner": "é"},
                           headers={"X-CSRFToken": csrf})
    assert response.status_code == 400
    assert "owner" in response.get_json()["errors"]


def test_password_guessing_is_limited_per_account(app, client):
    create_staff(create_clinic())
    for _ in range(10):
        assert sign_in(client, password="wrong password!").status_code == 400
    locked = sign_in(client)  # even the right password waits now
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.get_data(as_text=True)
    assert sign_in(client, email="nobody@clinic.example", password=PASSWORD).status_code == 400


def test_an_invite_link_is_shown_once(staff_client):
    token = csrf_token(staff_client, "/staff/patients/new")
    response = staff_client.post("/staff/patients/new", data=enrol_form(token, "Maria Rossi"))
    assert response.status_code == 303
    first = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    again = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="invite-link"' in first
    assert 'id="invite-link"' not in again


def test_a_script_without_a_device_cookie_gets_a_json_401(client):
    csrf = csrf_token(client, "/today")
    response = client.post("/checkins", json={"key": "k" * 20, "feeling": 3, "symptoms": []},
                           headers={"X-CSRFToken": csrf})
    assert response.status_code == 401
    assert "error" in response.get_json()
