"""Access codes: shown to the patient, opening /open on a new device, rate-limited per client
and per patient, and never saying whether a patient exists."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import create_clinic, csrf_token, enrol_patient
from helpers import frozen, page_html
from staff_helpers import new_client

from meso import accesscode
from meso.accesscode import ALPHABET, CLIENT_LIMIT, LOCATOR_LIMIT
from meso.extensions import db
from meso.models import AccessCode, PatientDevice

WRONG = "That code did not work. Check it and try again."
LIMITED = "Too many tries."


@pytest.fixture
def patient(app):
    return enrol_patient(create_clinic())[0]


def open_with(client, code: str, address: str = "10.0.0.1"):
    token = csrf_token(client, "/open")
    response = client.post("/open", data={"code": code, "csrf_token": token},
                           environ_base={"REMOTE_ADDR": address})
    db.session.expire_all()
    return response


def error_of(response) -> str:
    error = page_html(response).select_one('p.error#code-error[role="alert"]')
    return error.get_text() if error else ""


def without_values(response) -> str:
    """The page with every value= and content= taken out (tokens differ from page to page)."""
    html = page_html(response)
    for tag in html.find_all(True):
        tag.attrs.pop("value", None)
        tag.attrs.pop("content", None)
    return str(html)


def wrong_secret(code: str) -> str:
    """The same locator (the same patient) with a different secret."""
    plain = code.replace("-", "")
    last = ALPHABET[(ALPHABET.index(plain[-1]) + 1) % len(ALPHABET)]
    return plain[:-1] + last


def test_code_shape(patient):
    code = accesscode.code_for(patient)
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{3}-[2-9A-HJKMNP-Z]{3}", code)
    assert not set("01OIL") & set(code)


def test_the_database_alone_does_not_hold_the_code(app, patient):
    code = accesscode.code_for(patient).replace("-", "")
    row = db.session.get(AccessCode, patient.id)
    assert code[4:] not in f"{row.locator} {row.salt}"
    # The secret comes from SECRET_KEY: another key, another code for the same row.
    app.config["SECRET_KEY"] = "another-key"
    assert accesscode.code_for(patient).replace("-", "")[4:] != code[4:]


def test_the_right_code_opens_today_with_a_device_cookie(app, patient):
    phone = new_client(app)
    code = accesscode.code_for(patient)
    response = open_with(phone, "  " + code.lower().replace("-", " ") + " ")
    assert response.status_code == 303
    assert response.headers["Location"] == "/today"
    assert "meso_device=" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert phone.get("/today").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PatientDevice)) == 1
    # Already in: /open sends the device straight to Today.
    assert phone.get("/open").status_code == 302


def test_the_code_is_shown_on_demand_never_in_a_page_kept_offline(app, patient):
    """Today, the Timeline and /api/plan are what the service worker keeps on the phone."""
    phone = new_client(app)
    code = accesscode.code_for(patient)
    open_with(phone, code)
    kept = {path: phone.get(path) for path in ("/today", "/timeline", "/api/plan")}
    for path, response in kept.items():
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        assert code not in body and code.replace("-", "") not in body, path
    assert 'href="/access-code"' in kept["/today"].get_data(as_text=True)
    shown = phone.get("/access-code")
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    assert f'<p class="access-code" id="access-code">{code}</p>' in shown.get_data(as_text=True)


def test_the_code_page_needs_the_patients_device_and_no_access_links_to_open(app, patient):
    stranger = new_client(app)
    response = stranger.get("/access-code")
    assert response.status_code == 401
    assert accesscode.code_for(patient) not in response.get_data(as_text=True)
    assert 'href="/open"' in stranger.get("/today").get_data(as_text=True)


def test_the_code_page_gives_a_code_to_a_patient_who_had_none(app, patient):
    phone = new_client(app)
    open_with(phone, accesscode.code_for(patient))
    db.session.delete(db.session.get(AccessCode, patient.id))
    db.session.commit()
    response = phone.get("/access-code")
    assert response.status_code == 200
    db.session.expire_all()
    assert accesscode.code_for(patient) in response.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["", "ABC", "AAAA-BBB-CCC-D", "0OIL-111-111", "Ω" * 10])
def test_malformed_codes(app, patient, typed):
    response = open_with(new_client(app), typed)
    assert response.status_code == 400
    assert error_of(response) in (WRONG, "Enter the code from your clinic.")


def test_unknown_and_wrong_codes_read_the_same(app, patient):
    code = accesscode.code_for(patient)
    unknown = open_with(new_client(app), "ZZZZ-ZZZ-ZZZ" if not code.startswith("ZZZZ")
                        else "YYYY-YYY-YYY", "10.0.0.1")
    wrong = open_with(new_client(app), wrong_secret(code), "10.0.0.2")
    assert unknown.status_code == wrong.status_code == 400
    assert error_of(unknown) == error_of(wrong) == WRONG
    assert without_values(unknown) == without_values(wrong)


def test_archived_patient_reads_like_a_wrong_code(app, patient):
    code = accesscode.code_for(patient)
    patient.archived_at = datetime.now(UTC)
    db.session.commit()
    response = open_with(new_client(app), code)
    assert response.status_code == 400 and error_of(response) == WRONG


def test_rate_limit_per_client(app, patient):
    phone = new_client(app)
    for n in range(CLIENT_LIMIT[0]):
        assert open_with(phone, f"ZZZ{ALPHABET[n]}-ZZZ-ZZZ").status_code == 400
    # Even the right code is refused now, from this address...
    response = open_with(phone, accesscode.code_for(patient))
    assert response.status_code == 429 and LIMITED in error_of(response)
    # ...but not from another one, and not after the window.
    assert open_with(new_client(app), accesscode.code_for(patient), "10.9.9.9").status_code == 303
    with frozen(datetime.now(UTC) + CLIENT_LIMIT[1] + timedelta(seconds=1)):
        assert open_with(phone, accesscode.code_for(patient)).status_code == 303


def test_rate_limit_per_patient_across_addresses(app, patient):
    code = accesscode.code_for(patient)
    other = enrol_patient(patient.clinic, name="Other Person")[0]
    for n in range(LOCATOR_LIMIT[0]):
        assert open_with(new_client(app), wrong_secret(code), f"10.1.0.{n}").status_code == 400
    locked = open_with(new_client(app), code, "10.2.0.1")
    assert locked.status_code == 429
    # Another patient is not affected.
    assert open_with(new_client(app), accesscode.code_for(other), "10.2.0.2").status_code == 303
    with frozen(datetime.now(UTC) + LOCATOR_LIMIT[1] + timedelta(seconds=1)):
        assert open_with(new_client(app), code, "10.2.0.3").status_code == 303


def test_an_unknown_locator_is_limited_like_a_known_one(app, patient):
    """Otherwise a 429 after eight tries would reveal that the locator is a patient's."""
    locator = "ZZZZ" if not accesscode.code_for(patient).startswith("ZZZZ") else "YYYY"
    for n in range(LOCATOR_LIMIT[0]):
        open_with(new_client(app), f"{locator}-ZZZ-ZZ{ALPHABET[n]}", f"10.3.0.{n}")
    assert open_with(new_client(app), f"{locator}-222-222", "10.4.0.1").status_code == 429


def test_rotating_makes_a_new_code_and_kills_the_old(app, patient):
    old = accesscode.code_for(patient)
    new = accesscode.issue(patient)
    db.session.commit()
    assert new != old and new[:4] != old[:4]
    assert open_with(new_client(app), old).status_code == 400
    assert open_with(new_client(app), new, "10.0.0.9").status_code == 303


def test_open_needs_csrf(app, patient):
    response = new_client(app).post("/open", data={"code": accesscode.code_for(patient)})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PatientDevice)) == 0
