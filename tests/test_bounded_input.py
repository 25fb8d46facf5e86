"""Bounded input: a size limit before anything is parsed, JSON depth, devices and check-ins
per patient. Each is a clear 4xx, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import create_clinic, csrf_token, enrol_patient
from staff_helpers import new_client

from meso import access, accesscode, checkins, create_app
from meso.config import ConfigError
from meso.extensions import db
from meso.input_guard import MAX_JSON_DEPTH, nesting_depth
from meso.models import CheckIn, PatientDevice, utcnow


@pytest.fixture
def patient(app):
    return enrol_patient(create_clinic())[0]


def as_patient(app, patient):
    """A client holding a fresh device cookie of the patient (no invite landing involved)."""
    client = new_client(app)
    token = access.add_device(patient, utcnow())
    db.session.commit()
    client.set_cookie(app.config["DEVICE_COOKIE"], token)
    return client


def post_json(client, url: str, body: str | dict):
    headers = {"X-CSRFToken": csrf_token(client, "/today")}
    if isinstance(body, dict):
        return client.post(url, json=body, headers=headers)
    return client.post(url, data=body, content_type="application/json", headers=headers)


def checkin(key: str, **extra) -> dict:
    return {"key": key, "feeling": 4, "symptoms": [], **extra}


def count(model, **where) -> int:
    db.session.expire_all()
    query = sa.select(sa.func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


# -- request size -----------------------------------------------------------------------------


def test_a_large_form_is_a_413_page_before_any_sign_in(app, client):
    response = client.post("/staff/sign-in", data={"email": "a@b.example",
                                                   "password": "x" * 70_000})
    assert response.status_code == 413
    assert "Too much data" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"


def test_a_form_under_the_limit_is_read_as_usual(app, client):
    response = client.post("/staff/sign-in", data={"email": "a@b.example",
                                                   "password": "x" * 60_000})
    assert response.status_code == 400  # no CSRF token: the form was read, and refused
    assert "Page expired" in response.get_data(as_text=True)


def test_a_large_json_body_is_a_json_413(app, patient):
    client = as_patient(app, patient)
    response = post_json(client, "/checkins", checkin("k" * 20, note="x" * 70_000))
    assert response.status_code == 413
    assert "error" in response.get_json()
    assert count(CheckIn) == 0


def test_the_limit_is_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("MESO_MAX_CONTENT_LENGTH", "2048")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "MESO_BASE_URL": "http://localhost",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"},
                     instance_path=str(tmp_path / "inst"))
    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    response = app.test_client().post("/staff/sign-in", data={"password": "x" * 3000})
    assert response.status_code == 413


@pytest.mark.parametrize("value", ["lots", "-5", "10"])
def test_a_bad_limit_stops_the_start(tmp_path, monkeypatch, value):
    monkeypatch.setenv("MESO_MAX_CONTENT_LENGTH", value)
    with pytest.raises(ConfigError, match="MESO_MAX_CONTENT_LENGTH"):
        create_app({"TESTING": True, "SECRET_KEY": "x"}, instance_path=str(tmp_path))


# -- JSON depth -------------------------------------------------------------------------------


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("body", ["[" * 20_000 + "]" * 20_000, nested(MAX_JSON_DEPTH + 5),
                                  "[" * 900 + "]" * 900])
@pytest.mark.parametrize("url", ["/checkins", "/push/subscriptions"])
def test_deeply_nested_json_is_a_400_not_a_crash(app, patient, url, body):
    client = as_patient(app, patient)
    response = post_json(client, url, body)
    assert response.status_code == 400
    assert "error" in response.get_json()
    assert count(CheckIn) == 0


def test_nesting_depth():
    assert nesting_depth(1) == 0
    assert nesting_depth({"a": [1, {"b": []}]}) == 4
    assert nesting_depth([[]] * 3) == 2


def test_json_as_deep_as_allowed_still_parses(app):
    assert app.json.loads(nested(MAX_JSON_DEPTH - 1))["a"]["a"]
    with pytest.raises(ValueError, match="nested too deeply"):
        app.json.loads(nested(MAX_JSON_DEPTH + 1))


# -- devices per patient ----------------------------------------------------------------------


def add_devices(patient, how_many: int, start) -> list[str]:
    """Add devices last seen one minute apart, oldest first; return their cookie tokens."""
    tokens = []
    for minute in range(how_many):
        tokens.append(access.add_device(patient, start + timedelta(minutes=minute)))
    db.session.commit()
    return tokens


def test_a_21st_device_signs_out_the_least_recently_used(app, patient):
    start = utcnow() - timedelta(days=1)
    tokens = add_devices(patient, access.MAX_DEVICES, start)
    assert count(PatientDevice, patient_id=patient.id) == 20
    newest = access.add_device(patient, utcnow())
    db.session.commit()
    assert count(PatientDevice, patient_id=patient.id) == 20
    assert access.device_for_cookie(tokens[0]) is None  # the least recently seen
    assert all(access.device_for_cookie(t) for t in [*tokens[1:], newest])


def test_signed_out_devices_make_room_first(app, patient):
    start = utcnow() - timedelta(days=1)
    tokens = add_devices(patient, access.MAX_DEVICES, start)
    revoked = access.device_for_cookie(tokens[10])
    revoked.revoked_at = utcnow()
    revoked_id = revoked.id
    db.session.commit()
    access.add_device(patient, utcnow())
    db.session.commit()
    assert count(PatientDevice, patient_id=patient.id) == 20
    assert count(PatientDevice, id=revoked_id) == 0
    assert access.device_for_cookie(tokens[0]) is not None  # every live device kept


def test_another_patients_devices_are_not_counted(app, patient):
    other, _ = enrol_patient(patient.clinic, name="Lucia Bianchi")
    mine = add_devices(patient, access.MAX_DEVICES, utcnow() - timedelta(days=1))
    add_devices(other, 5, utcnow())
    assert all(access.device_for_cookie(t) for t in mine)
    assert count(PatientDevice, patient_id=patient.id) == 20


def test_an_access_code_on_a_21st_device_keeps_the_cap(app, patient):
    add_devices(patient, access.MAX_DEVICES, utcnow() - timedelta(days=1))
    code = accesscode.ensure(patient)
    db.session.commit()
    client = new_client(app)
    response = client.post("/open", data={"code": code,
                                          "csrf_token": csrf_token(client, "/open")})
    assert response.status_code == 303
    assert count(PatientDevice, patient_id=patient.id) == 20


# -- check-ins per day ------------------------------------------------------------------------


def test_an_11th_check_in_the_same_day_is_refused_with_a_clear_json_error(app, patient):
    client = as_patient(app, patient)
    for n in range(checkins.MAX_PER_DAY):
        assert post_json(client, "/checkins", checkin(f"key-{n:02d}-abcdefghijk")).status_code \
            == 201
    response = post_json(client, "/checkins", checkin("key-11-abcdefghijkl"))
    assert response.status_code == 400
    body = response.get_json()
    assert "10 check-ins for this day" in body["error"]
    assert body["errors"]["at"] == body["error"]  # the offline queue shows it and drops it
    assert count(CheckIn, patient_id=patient.id) == 10
    # A phone resending one it already sent still gets its answer.
    assert post_json(client, "/checkins", checkin("key-03-abcdefghijk")).status_code == 200


def test_the_limit_is_per_local_day(app, patient):
    client = as_patient(app, patient)
    for n in range(checkins.MAX_PER_DAY):
        post_json(client, "/checkins", checkin(f"key-{n:02d}-abcdefghijk"))
    yesterday = (utcnow() - timedelta(days=1)).isoformat()
    response = post_json(client, "/checkins", checkin("key-yesterday-abcdef", at=yesterday))
    assert response.status_code == 201


def test_the_check_in_form_says_why_an_11th_is_refused(app, patient):
    client = as_patient(app, patient)
    for n in range(checkins.MAX_PER_DAY):
        post_json(client, "/checkins", checkin(f"key-{n:02d}-abcdefghijk"))
    token = csrf_token(client, "/checkins/new")
    response = client.post("/checkins", data={"key": "key-form-abcdefghijk", "feeling": "3",
                                              "csrf_token": token})
    assert response.status_code == 400
    assert "10 check-ins for this day" in response.get_data(as_text=True)
    assert count(CheckIn, patient_id=patient.id) == 10
