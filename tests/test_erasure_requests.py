"""A patient's request for erasure as the clinic meets it: a badge on the roster (in the same
statements, whatever the size), an e-mail to each active admin when SMTP_URL is set (real
worker, real SMTP server: tests/fakesmtp.py), and the patient withdrawing it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import create_clinic, create_staff, csrf_token, enrol_patient
from fakesmtp import LocalSmtp
from helpers import frozen, page_html, text_of
from photo_helpers import patient_client
from staff_helpers import actions, signed_in_client
from test_staff_attention import count_statements

from meso import clinic_mail, erasure
from meso.extensions import db
from meso.models import OutboundEmail, Patient

PATIENT = "Maria Rossi"
ADMINS = ("giulia.admin@clinic.example", "marco.admin@clinic.example")
SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # Fri 10:00 in Rome
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(NOW):
        yield


@pytest.fixture
def clinic(app):
    """Two active admins, a deactivated one and a practitioner; another clinic's admin."""
    clinic = create_clinic()
    for address in ADMINS:
        create_staff(clinic, email=address, role="admin")
    create_staff(clinic, email="former.admin@clinic.example", role="admin").active = False
    create_staff(clinic, email="paola.practitioner@clinic.example", role="practitioner")
    create_staff(create_clinic(name="Clinica Napoli", phone="+39 081 000"),
                 email="napoli.admin@clinic.example", role="admin")
    db.session.commit()
    return clinic


@pytest.fixture
def patient(clinic):
    return enrol_patient(clinic, name=PATIENT, first_session=SESSION)[0]


@pytest.fixture
def phone(app, patient):
    return patient_client(app, patient)


def ask(phone, status=303):
    """The patient asks (303); one who already asked is shown the page again (200)."""
    response = phone.post("/me/erase", data={"csrf_token": csrf_token(phone, "/me/erase"),
                                             "confirm": "y"})
    assert response.status_code == status
    return response


def withdraw(phone, token=None):
    token = token if token is not None else csrf_token(phone, "/me/erase")
    return phone.post("/me/erase/withdraw", data={"csrf_token": token})


def requested_at(patient) -> datetime | None:
    db.session.expire_all()
    return db.session.get(Patient, patient.id).erasure_requested_at


def emails() -> list[OutboundEmail]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboundEmail).order_by(OutboundEmail.id)))


# -- the roster -------------------------------------------------------------------------------


def roster_rows(client) -> dict[str, object]:
    page = page_html(client.get("/staff/"))
    return {text_of(row.select_one("td.name > a")): row for row in page.select("tbody tr")}


def test_the_roster_shows_who_asked_to_be_erased(app, clinic, patient, phone):
    enrol_patient(clinic, name="Lucia Bianchi", first_session=SESSION)
    staff = signed_in_client(app, clinic, email="anna@clinic.example")
    assert not page_html(staff.get("/staff/")).select(".badge.erasure")
    ask(phone)
    rows = roster_rows(staff)
    badge = rows[PATIENT].select_one("td.name .badge.erasure")
    assert text_of(badge) == "Erasure requested" and badge.has_attr("data-erasure-requested")
    assert not rows["Lucia Bianchi"].select(".badge.erasure")
    withdraw(phone)
    assert not page_html(staff.get("/staff/")).select(".badge.erasure")


def test_the_badge_costs_the_roster_no_statement(app, clinic):
    staff = signed_in_client(app, clinic, email="anna@clinic.example")

    def add(n: int, first: int) -> None:
        for i in range(first, first + n):
            patient, _ = enrol_patient(clinic, name=f"Patient {i:02d}", first_session=SESSION)
            if i % 2:
                erasure.request_erasure(patient, NOW)
        db.session.commit()

    add(3, 0)
    few = count_statements(app, staff, "/staff/")
    add(27, 3)
    many = count_statements(app, staff, "/staff/")
    assert many == few
    assert len(page_html(staff.get("/staff/")).select(".badge.erasure")) == 15


# -- the e-mail -------------------------------------------------------------------------------


def test_asking_e_mails_each_active_admin_once_naming_nobody(app, patient, phone, runner,
                                                             vapid):
    with LocalSmtp() as server:
        app.config["SMTP_URL"] = server.url()
        ask(phone)
        queued = emails()
        assert sorted(e.to_address for e in queued) == sorted(ADMINS), "active admins only"
        assert {(e.status, e.patient_id, e.next_attempt_at) for e in queued} == {
            ("pending", patient.id, NOW)}
        assert {e.dedupe_key.rsplit(":", 2)[0] for e in queued} == {f"erasure:{patient.id}"}
        ask(phone, status=200)  # asked already: nothing new
        assert len(emails()) == 2
        result = runner.invoke(args=["reminders", "run", "--once"])
        assert result.exit_code == 0, result.output
        received = server.received

    assert sorted(r.rcpt_tos[0] for r in received) == sorted(ADMINS)
    link = f"http://localhost/staff/patients/{patient.id}#data-rights"
    for mail in received:
        message = mail.message
        assert message["Subject"] == "A patient of Clinica Roma asked for their data to be erased"
        body = message.get_body(("plain",)).get_content()
        assert body.splitlines()[0] == ("A patient of Clinica Roma asked for everything this "
                                        "app keeps about them to be erased.")
        assert link in body.split()
        for word in (PATIENT, *PATIENT.split()):
            assert not re.search(rf"\b{word}\b", mail.text, re.IGNORECASE), word
    assert {e.status for e in emails()} == {"sent"}


def test_the_link_opens_the_request_on_the_patient_s_page(app, clinic, patient, phone):
    ask(phone)
    admin = signed_in_client(app, clinic, email="boss@clinic.example", role="admin")
    page = page_html(admin.get(f"/staff/patients/{patient.id}"))
    section = page.select_one("section#data-rights")
    assert "Erasure requested" in text_of(section.select_one(".notice-erasure"))


def test_without_smtp_url_nothing_is_queued(app, patient, phone):
    assert app.config["SMTP_URL"] == ""
    ask(phone)
    assert requested_at(patient) == NOW
    assert emails() == []


def test_asking_again_the_same_day_after_withdrawing_e_mails_no_one_twice(app, patient, phone):
    app.config["SMTP_URL"] = "smtp://127.0.0.1:2525"  # queued only: no worker runs here
    ask(phone)
    queued = len(emails())
    assert queued >= 1
    for email in emails():  # the worker sent them
        email.status = "sent"
    db.session.commit()
    assert withdraw(phone).status_code == 303
    ask(phone)
    assert len(emails()) == queued, "the same day's request is no news to the same admins"
    # Another day's request is news again.
    assert withdraw(phone).status_code == 303
    with frozen(NOW + timedelta(days=1)):
        ask(phone)
    assert len(emails()) == 2 * queued
    keys = {e.dedupe_key for e in emails()}
    assert {key.rsplit(":", 1)[1] for key in keys} == {"20261125", "20261126"}


def test_withdrawing_drops_the_e_mails_not_sent_yet(app, patient, phone):
    """An admin must not be sent to erase a patient who no longer wants it; what was already
    sent stays as the record of what admins got."""
    app.config["SMTP_URL"] = "smtp://127.0.0.1:2525"  # queued only: no worker runs here
    ask(phone)
    assert {e.status for e in emails()} == {"pending"}
    assert withdraw(phone).status_code == 303
    assert emails() == []
    with frozen(NOW + timedelta(days=1)):
        ask(phone)
    sent = emails()
    for email in sent:
        email.status = "sent"
    db.session.commit()
    assert withdraw(phone).status_code == 303
    assert [(e.dedupe_key, e.status) for e in emails()] == [(e.dedupe_key, "sent") for e in sent]


def test_erasure_keys_are_per_patient_admin_and_day():
    day = datetime(2026, 11, 25, 23, 59, tzinfo=UTC)
    assert clinic_mail.erasure_key(7, 3, day) == "erasure:7:3:20261125"
    assert clinic_mail.erasure_key(7, 3, day + timedelta(minutes=1)) == "erasure:7:3:20261126"
    assert len(clinic_mail.erasure_key(2**31, 2**31, day)) <= 80  # OutboundEmail.dedupe_key


# -- withdrawing ------------------------------------------------------------------------------


def test_the_patient_withdraws_their_request(app, clinic, patient, phone):
    page = page_html(phone.get("/me/erase"))
    assert not page.select('form[action="/me/erase/withdraw"]'), "nothing to withdraw yet"
    ask(phone)
    page = page_html(phone.get("/me/erase"))
    form = page.select_one('form[action="/me/erase/withdraw"]')
    assert form["method"] == "post" and form.select_one('input[name="csrf_token"]')
    assert text_of(form.select_one("button")) == "Withdraw my request"

    response = withdraw(phone)
    assert response.status_code == 303 and response.headers["Location"] == "/me/erase"
    assert requested_at(patient) is None
    assert actions(patient_id=patient.id)[-2:] == ["erasure.requested", "erasure.withdrawn"]
    page = page_html(phone.get("/me/erase"))
    assert page.select_one('form input[name="confirm"]'), "may ask again"
    staff = signed_in_client(app, clinic, email="anna@clinic.example")
    assert not page_html(staff.get(f"/staff/patients/{patient.id}")).select(".notice-erasure")
    # Withdrawing again is no error, and records nothing.
    assert withdraw(phone).status_code == 303
    assert actions(patient_id=patient.id).count("erasure.withdrawn") == 1


def test_the_audit_log_says_the_patient_withdrew(app, clinic, patient, phone):
    ask(phone)
    withdraw(phone)
    admin = signed_in_client(app, clinic, email="boss@clinic.example", role="admin")
    page = page_html(admin.get(f"/staff/patients/{patient.id}/audit"))
    lines = [text_of(li) for li in page.select(".events-log li")]
    assert any("the patient · The patient withdrew their request for erasure" in line
               for line in lines), lines


def test_withdrawing_needs_the_csrf_token_and_the_patient_s_device(app, patient, phone):
    ask(phone)
    assert withdraw(phone, token="").status_code == 400
    assert app.test_client().post("/me/erase/withdraw").status_code in (400, 401)
    assert requested_at(patient) == NOW
