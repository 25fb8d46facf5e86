"""Conditional requests: Today, the Timeline and /api/plan carry an ETag, and a phone that holds
the same page is answered 304 (static/sw.js asks so for its offline copy). Nothing on the way
may keep them: Cache-Control stays no-store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import create_clinic, enrol_patient, open_invite
from helpers import frozen

from meso import access
from meso.extensions import db

SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, 5, tzinfo=UTC)
PATHS = ["/today", "/timeline", "/api/plan"]


@pytest.fixture
def patient_and_token(app):
    return enrol_patient(create_clinic(), first_session=SESSION)


@pytest.fixture
def phone(app, patient_and_token):
    browser = app.test_client()
    assert open_invite(browser, patient_and_token[1]).status_code == 303
    return browser


@pytest.mark.parametrize("path", PATHS)
def test_the_same_page_is_answered_304(phone, path):
    with frozen(NOW):
        first = phone.get(path)
        etag = first.headers["ETag"]
        assert etag.startswith('W/"')
        assert phone.get(path).headers["ETag"] == etag  # a new CSRF signature, the same page
        again = phone.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == "no-store"
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/today", "/timeline"])  # the plan's JSON is too small
def test_a_compressed_page_keeps_its_tag(phone, path):
    with frozen(NOW):
        plain = phone.get(path, headers={"Accept-Encoding": "identity"}).headers["ETag"]
        packed = phone.get(path, headers={"Accept-Encoding": "br"})
        assert packed.headers["Content-Encoding"] == "br"
        assert packed.headers["ETag"] == plain
        again = phone.get(path, headers={"Accept-Encoding": "br", "If-None-Match": plain})
    assert again.status_code == 304


@pytest.mark.parametrize("path", PATHS)
def test_time_passing_gives_a_new_page(phone, path):
    with frozen(NOW):
        etag = phone.get(path).headers["ETag"]
    with frozen(NOW + timedelta(days=1)):
        later = phone.get(path, headers={"If-None-Match": etag})
    assert later.status_code == 200
    assert later.headers["ETag"] != etag


def test_a_change_gives_a_new_page(app, phone, patient_and_token):
    patient, _ = patient_and_token
    with frozen(NOW):
        etag = phone.get("/today").headers["ETag"]
        patient.name = "Lucia Rossi"
        db.session.commit()
        changed = phone.get("/today", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "Hello Lucia" in changed.get_data(as_text=True)


def test_a_copy_from_another_browser_session_is_not_confirmed(app, phone, patient_and_token):
    """Its CSRF token belongs to another session: the copy's forms would fail."""
    other = app.test_client()
    assert open_invite(other, patient_and_token[1]).status_code == 303
    with frozen(NOW):
        mine = phone.get("/today").headers["ETag"]
        theirs = other.get("/today", headers={"If-None-Match": mine})
    assert theirs.status_code == 200
    assert theirs.headers["ETag"] != mine


@pytest.mark.parametrize("path", PATHS)
def test_a_signed_out_phone_gets_no_304(app, phone, patient_and_token, path):
    with frozen(NOW):
        etag = phone.get(path).headers["ETag"]
        access.revoke_devices(patient_and_token[0], NOW)
        db.session.commit()
        response = phone.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 401
