"""A kept Today or Timeline answered before Flask (meso/kept_pages.py): the same answer as
Flask's path, header for header and word for word, with one SQL statement; and everything it
cannot answer alike left to Flask."""

from __future__ import annotations

import gzip
import logging
from datetime import UTC, datetime, timedelta

import brotli
import pytest
from conftest import create_clinic, enrol_patient, open_invite
from helpers import frozen
from test_page_cache import REDIS_URL, shown, statements

from meso import access, courses, create_app, kept_pages
from meso.extensions import db
from meso.models import Patient, PatientDevice

SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, 5, tzinfo=UTC)
PAGES = ["/today", "/timeline"]
# What differs between any two responses, whoever answers.
OWN_HEADERS = {"Date", "X-Request-ID", "Content-Length"}
ENCODINGS = ["gzip, deflate, br, zstd", "br, gzip", "gzip", "br", "identity", ""]


@pytest.fixture
def phone(app):
    clinic = create_clinic()
    patient, token = enrol_patient(clinic, first_session=SESSION)
    client = app.test_client()
    with frozen(NOW):
        assert open_invite(client, token).status_code == 303
    return patient, client


def flask_must_not_answer(app, monkeypatch) -> None:
    """Any request reaching Flask from here on fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("Flask answered a kept page")

    monkeypatch.setattr(app, "full_dispatch_request", refuse)


def body_of(response) -> str:
    encoding = response.headers.get("Content-Encoding")
    data = response.get_data()
    if encoding == "br":
        data = brotli.decompress(data)
    elif encoding == "gzip":
        data = gzip.decompress(data)
    else:
        assert encoding is None, encoding
    return data.decode()


def headers_of(response) -> list[tuple[str, str]]:
    return sorted((name, value) for name, value in response.headers.items()
                  if name not in OWN_HEADERS)


def through_flask(app):
    """The same deployment with this path off: every request goes through Flask."""
    return create_app({**app.config, "MESO_KEPT_PAGES": False},
                      instance_path=app.instance_path)


@pytest.mark.parametrize("path", PAGES)
def test_a_kept_page_is_answered_before_flask_with_one_statement(app, phone, path,
                                                                 monkeypatch):
    _, client = phone
    with frozen(NOW):
        assert client.get(path).status_code == 200  # Flask makes and keeps it
        flask_must_not_answer(app, monkeypatch)
        with statements() as seen:
            response = client.get(path)
    assert response.status_code == 200
    assert len(seen) == 1, seen
    assert "@@meso" not in response.get_data(as_text=True)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("path", PAGES)
def test_both_paths_give_the_same_answer(app, phone, path, encoding):
    _, client = phone
    other = through_flask(app)
    slow = other.test_client()
    slow._cookies = client._cookies  # the same phone: its device cookie and session
    asked = {"Accept-Encoding": encoding} if encoding else {}
    try:
        with frozen(NOW):
            client.get(path)
            fast, flask = client.get(path, headers=asked), slow.get(path, headers=asked)
            assert (fast.status_code, headers_of(fast)) == (flask.status_code, headers_of(flask))
            assert shown(body_of(fast)) == shown(body_of(flask))
            # And the phone holding the page is told so by both, alike.
            held = {**asked, "If-None-Match": fast.headers["ETag"]}
            fast, flask = client.get(path, headers=held), slow.get(path, headers=held)
            assert fast.status_code == flask.status_code == 304
            assert headers_of(fast) == headers_of(flask)
            assert fast.get_data() == flask.get_data() == b""
    finally:
        with other.app_context():
            db.engine.dispose()


def test_each_answer_has_its_own_values_and_the_sessions_token(app, phone, monkeypatch):
    _, client = phone
    with frozen(NOW):
        client.get("/today")
        flask_must_not_answer(app, monkeypatch)
        first, second = client.get("/today"), client.get("/today")
    keys = [page.get_data(as_text=True).split('name="key" value="')[1][:32]
            for page in (first, second)]
    assert keys[0] != keys[1], "a form's fresh key is new in each answer"
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    token = first.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    # The token the page carries is one Flask-WTF accepts for this session: a form sent with
    # it is taken (here: the patient asks for a time).
    monkeypatch.undo()
    with frozen(NOW):
        answer = client.post("/next-session/ask", data={"csrf_token": token})
    assert answer.status_code == 303


def test_a_proxys_request_id_is_kept(app, phone, monkeypatch):
    _, client = phone
    with frozen(NOW):
        client.get("/today")
        flask_must_not_answer(app, monkeypatch)
        response = client.get("/today", headers={"X-Request-ID": "0123456789abcdef0123"})
        forged = client.get("/today", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert response.headers["X-Request-ID"] == "0123456789abcdef0123"
    assert forged.headers["X-Request-ID"] != "<script>alert(1)</script>"


def test_a_write_is_seen_at_once(app, phone):
    patient, client = phone
    with frozen(NOW):
        client.get("/today")
        before = shown(client.get("/today"))
        with app.app_context():
            # A window the clinic changes for this patient: Today shows it at once.
            courses.set_window_overrides(db.session.get(Patient, patient.id), {"heat": 12},
                                         None)
            db.session.commit()
        after = shown(client.get("/today"))
    assert before != after


@pytest.mark.parametrize("change", ["revoked", "archived"])
def test_a_device_that_no_longer_opens_the_aftercare_gets_flasks_page(app, phone, change):
    patient, client = phone
    with frozen(NOW):
        client.get("/today")
        with app.app_context():
            if change == "revoked":
                access.revoke_devices(db.session.get(Patient, patient.id), NOW)
            else:
                db.session.get(Patient, patient.id).archived_at = NOW
            db.session.commit()
        response = client.get("/today")
    assert response.status_code == 401
    assert "Maria" not in response.get_data(as_text=True)


def test_a_device_not_seen_for_an_hour_is_noted_by_flask(app, phone):
    patient, client = phone
    with frozen(NOW):
        client.get("/today")
    later = NOW + access.LAST_SEEN_EVERY + timedelta(minutes=1)
    with frozen(later):
        assert client.get("/today").status_code == 200
    with app.app_context():
        device = db.session.query(PatientDevice).filter_by(patient_id=patient.id).one()
        assert device.last_seen_at == later


@pytest.mark.parametrize("asked", [
    {"path": "/today", "query_string": {"x": "1"}},
    {"path": "/today", "method": "HEAD"},
    {"path": "/today", "headers": {"Host": "evil.example"}},
    {"path": "/today/"},
])
def test_what_it_cannot_answer_alike_goes_to_flask(app, phone, asked, monkeypatch):
    _, client = phone
    with frozen(NOW):
        client.get("/today")
        reached = []
        dispatch = app.full_dispatch_request

        def noted():
            reached.append(True)
            return dispatch()

        monkeypatch.setattr(app, "full_dispatch_request", noted)
        client.open(**asked)
    assert reached, "Flask answered"


def test_a_session_without_its_csrf_secret_goes_to_flask(app, phone):
    _, client = phone
    client.delete_cookie("session", domain="localhost")
    with frozen(NOW):
        response = client.get("/today")
    assert response.status_code == 200
    assert "session=" in response.headers.get("Set-Cookie", "")  # Flask made the session


def test_a_forged_session_cookie_gets_no_page_from_it(app, phone):
    _, client = phone
    with frozen(NOW):
        client.get("/today")
        client.set_cookie("session", "eyJjc3JmX3Rva2VuIjoiYWJjIn0.forged.sig", domain="localhost")
        response = client.get("/today")
    # Flask's path: a new session and its own token, never the forged secret's.
    assert response.status_code == 200
    assert "session=" in response.headers.get("Set-Cookie", "")


def test_a_fault_before_flask_costs_speed_not_the_page(app, phone, monkeypatch, caplog):
    _, client = phone
    with frozen(NOW):
        client.get("/today")

        def broken(*args):
            raise RuntimeError("boom")

        monkeypatch.setattr(kept_pages.KeptPages, "answer", broken)
        monkeypatch.setitem(app.config, "TESTING", False)
        app.testing = False
        try:
            with caplog.at_level(logging.ERROR, logger="meso.kept_pages"):
                response = client.get("/today")
        finally:
            app.testing = True
    assert response.status_code == 200
    assert "answered by Flask instead" in caplog.text


def test_turned_off_every_request_goes_through_flask(app, phone, monkeypatch):
    _, client = phone
    monkeypatch.setitem(app.config, "MESO_KEPT_PAGES", False)
    with frozen(NOW):
        client.get("/today")
        with statements() as seen:
            client.get("/today")
    assert len(seen) == 1  # Flask's own kept path: one statement too, through the ORM
    assert "patient_device.id" in seen[0]  # the ORM's query, not kept_pages.FACTS


def test_with_redis_the_path_answers_from_what_another_machine_kept(app, phone, monkeypatch):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    _, client = phone
    shared = {**app.config, "REDIS_URL": REDIS_URL}
    one = create_app(shared, instance_path=app.instance_path)
    two = create_app(shared, instance_path=app.instance_path)
    try:
        first, second = one.test_client(), two.test_client()
        first._cookies = second._cookies = client._cookies
        with frozen(NOW):
            assert first.get("/today").status_code == 200  # made and kept in Redis
            flask_must_not_answer(two, monkeypatch)
            response = second.get("/today")
            again = first.get("/today")
        assert response.status_code == 200
        assert shown(response) == shown(again)
    finally:
        redis.Redis.from_url(REDIS_URL).flushdb()
        for each in (one, two):
            with each.app_context():
                db.engine.dispose()
