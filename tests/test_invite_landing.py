"""The invite landing: a GET (a link preview, a crawler) grants nothing; only the button's
CSRF-protected POST sets the device cookie. At most five devices per invite, and a browser that
holds another patient's cookie is asked before it switches."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from conftest import create_clinic, enrol_patient, open_invite
from helpers import csrf_meta, frozen, page_html

from meso import access
from meso.extensions import db
from meso.models import Patient, PatientDevice

COOKIE = "meso_device"
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
BUTTON = '<button type="submit" class="primary wide">Open my aftercare</button>'
USED_UP = "This link has been used up"


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(NOW):
        yield


@pytest.fixture
def clinic(app):
    return create_clinic()


@pytest.fixture
def invite(clinic):
    """(patient, token) of Maria, enrolled now."""
    return enrol_patient(clinic)


def devices() -> list[PatientDevice]:
    db.session.expire_all()
    return db.session.scalars(sa.select(PatientDevice).order_by(PatientDevice.id)).all()


def device_cookie_set(response) -> bool:
    return any(h.startswith(f"{COOKIE}=") for h in response.headers.getlist("Set-Cookie"))


def uses(patient: Patient) -> int:
    db.session.expire_all()
    return db.session.get(Patient, patient.id).invite_uses


# -- a GET grants nothing ---------------------------------------------------------------------


def test_a_get_shows_one_button_and_grants_nothing(app, invite):
    patient, token = invite
    preview = app.test_client()  # a chat app fetching the link to draw a preview
    for _ in range(3):
        response = preview.get(f"/i/{token}")
        assert response.status_code == 200
        assert not device_cookie_set(response)
    html = response.get_data(as_text=True)
    assert html.count("<button") == 1 and BUTTON in html
    assert page_html(html).select_one("form[method=post][novalidate]")
    # It names nobody: a preview shows no patient and no clinic.
    assert "Maria" not in html and "Rossi" not in html and "Clinica" not in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Cache-Control"] == "no-store"
    assert devices() == [] and uses(patient) == 0
    assert preview.get("/today").status_code == 401


def test_the_button_sets_the_device_cookie_and_goes_to_a_clean_today(app, invite):
    patient, token = invite
    phone = app.test_client()
    response = open_invite(phone, token)
    assert response.status_code == 303 and response.headers["Location"] == "/today"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert device_cookie_set(response)
    assert [d.patient_id for d in devices()] == [patient.id]
    assert uses(patient) == 1
    assert "Hello Maria" in phone.get("/today").get_data(as_text=True)


@pytest.mark.parametrize("csrf", [None, "forged"], ids=["no-token", "wrong-token"])
def test_the_post_needs_the_pages_csrf_token(app, invite, csrf):
    patient, token = invite
    phone = app.test_client()
    assert phone.get(f"/i/{token}").status_code == 200
    response = phone.post(f"/i/{token}", data={} if csrf is None else {"csrf_token": csrf})
    assert response.status_code == 400
    assert not device_cookie_set(response)
    assert devices() == [] and uses(patient) == 0
    html = response.get_data(as_text=True)
    # The button again, with a word on what happened; pressing it now works.
    assert '<p class="error" id="open-error" role="alert">' in html
    assert "Please tap the button again." in html
    assert 'aria-describedby="open-error">Open my aftercare</button>' in html
    retry = phone.post(f"/i/{token}", data={"csrf_token": csrf_meta(response)})
    assert retry.status_code == 303


def test_over_https_the_post_needs_no_referer(app, invite):
    """The landing sends no Referer (its URL holds the token); the CSRF token still guards it."""
    _patient, token = invite
    phone = app.test_client()
    landing = phone.get(f"/i/{token}", base_url="https://localhost")
    forged = phone.post(f"/i/{token}", base_url="https://localhost")
    assert forged.status_code == 400 and devices() == []
    response = phone.post(f"/i/{token}", base_url="https://localhost",
                          data={"csrf_token": csrf_meta(landing)})
    assert response.status_code == 303 and device_cookie_set(response)


def test_a_dead_link_has_no_button_and_its_post_grants_nothing(app, invite):
    patient, token = invite
    patient.issue_invite(NOW, 14)
    db.session.commit()
    phone = app.test_client()
    landing = phone.get(f"/i/{token}")
    assert landing.status_code == 404 and "<button" not in landing.get_data(as_text=True)
    assert landing.headers["Referrer-Policy"] == "no-referrer"
    response = phone.post(f"/i/{token}", data={"csrf_token": csrf_meta(landing)})
    assert response.status_code == 404 and not device_cookie_set(response)
    assert devices() == []


# -- at most five devices ---------------------------------------------------------------------


def test_an_invite_opens_at_most_five_devices(app, invite):
    patient, token = invite
    for _ in range(access.INVITE_MAX_DEVICES):
        assert open_invite(app.test_client(), token).status_code == 303
    sixth = app.test_client()
    landing = sixth.get(f"/i/{token}")
    assert landing.status_code == 403
    html = landing.get_data(as_text=True)
    assert f"<h1>{USED_UP}</h1>" in html and "ask your clinic for a new link" in html
    assert "<button" not in html
    # Even a POST with a good token (the page was opened before the fifth device) is refused.
    response = sixth.post(f"/i/{token}", data={"csrf_token": csrf_meta(landing)})
    assert response.status_code == 403 and not device_cookie_set(response)
    assert len(devices()) == access.INVITE_MAX_DEVICES
    # A new link from the clinic opens devices again.
    fresh = db.session.get(Patient, patient.id).issue_invite(NOW, 14)
    db.session.commit()
    assert open_invite(sixth, fresh).status_code == 303
    assert uses(patient) == 1


def test_the_same_browser_opening_its_link_again_uses_nothing(app, invite):
    patient, token = invite
    phone = app.test_client()
    assert open_invite(phone, token).status_code == 303
    cookie = phone.get_cookie(COOKIE).value
    again = open_invite(phone, token)
    assert again.status_code == 303 and again.headers["Location"] == "/today"
    assert not device_cookie_set(again) and phone.get_cookie(COOKIE).value == cookie
    assert len(devices()) == 1 and uses(patient) == 1


def test_phones_pressing_at_the_same_moment_never_pass_five(app, invite):
    patient, token = invite
    phones = []
    for _ in range(access.INVITE_MAX_DEVICES + 2):
        phone = app.test_client()
        phones.append((phone, csrf_meta(phone.get(f"/i/{token}"))))
    statuses: list[int] = []
    start = threading.Barrier(len(phones))

    def press(phone, csrf):
        start.wait()
        statuses.append(phone.post(f"/i/{token}", data={"csrf_token": csrf}).status_code)

    threads = [threading.Thread(target=press, args=phone) for phone in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [303] * access.INVITE_MAX_DEVICES + [403, 403]
    assert len(devices()) == access.INVITE_MAX_DEVICES == uses(patient)


# -- another patient's browser ----------------------------------------------------------------


@pytest.fixture
def marias_phone(app, invite):
    phone = app.test_client()
    assert open_invite(phone, invite[1]).status_code == 303
    return phone


def test_another_patients_browser_is_asked_before_switching(app, clinic, invite, marias_phone):
    luca, token = enrol_patient(clinic, name="Luca Bianchi")
    landing = marias_phone.get(f"/i/{token}")
    assert landing.status_code == 200 and not device_cookie_set(landing)
    html = landing.get_data(as_text=True)
    assert "This phone already has an aftercare open" in html
    assert "It is open here for Maria." in html and "Luca" not in html
    assert '<input type="hidden" name="switch" value="1">' in html
    assert ">Switch to this aftercare</button>" in html
    assert '<a href="/today">Keep Maria\'s aftercare</a>' in html
    # Pressing a button without the confirmation (a forged form) only asks again.
    refused = marias_phone.post(f"/i/{token}", data={"csrf_token": csrf_meta(landing)})
    assert refused.status_code == 409 and not device_cookie_set(refused)
    assert "This phone already has an aftercare open" in refused.get_data(as_text=True)
    assert "Hello Maria" in marias_phone.get("/today").get_data(as_text=True)
    assert [d.patient_id for d in devices()] == [invite[0].id] and uses(luca) == 0


def test_the_question_escapes_the_other_patients_name(app, clinic):
    _, first = enrol_patient(clinic, name="<b>Eve</b> Rossi")
    phone = app.test_client()
    assert open_invite(phone, first).status_code == 303
    _, token = enrol_patient(clinic, name="Luca Bianchi")
    html = phone.get(f"/i/{token}").get_data(as_text=True)
    assert "<b>Eve</b>" not in html and "&lt;b&gt;Eve&lt;/b&gt;" in html


def test_a_confirmed_switch_signs_the_other_patient_out_of_this_browser(app, clinic, invite,
                                                                        marias_phone):
    maria = invite[0]
    marias_tablet = app.test_client()
    assert open_invite(marias_tablet, invite[1]).status_code == 303
    luca, token = enrol_patient(clinic, name="Luca Bianchi")
    response = open_invite(marias_phone, token, switch=True)
    assert response.status_code == 303 and response.headers["Location"] == "/today"
    assert "Hello Luca" in marias_phone.get("/today").get_data(as_text=True)
    phone_device, tablet_device, lucas = devices()
    assert phone_device.patient_id == maria.id and phone_device.revoked_at == NOW
    assert tablet_device.revoked_at is None  # only this browser leaves Maria
    assert lucas.patient_id == luca.id and lucas.revoked_at is None
    assert "Hello Maria" in marias_tablet.get("/today").get_data(as_text=True)
    assert uses(luca) == 1
