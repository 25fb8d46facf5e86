"""A patient's e-mail for reminders: given at the desk (enrolment, the patient's page, the
command line), added or changed by the patient and confirmed by a link sent through the real
worker to a real SMTP server (aiosmtpd), removed at once; bad input said next to the field."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from conftest import create_clinic, csrf_token, enrol_patient
from fakesmtp import LocalSmtp
from helpers import field_error, frozen, page_html
from photo_helpers import patient_client
from staff_helpers import actions, new_client, post, signed_in_client

from meso import patient_email
from meso.extensions import db
from meso.models import AuditEvent, EmailConfirmation, OutboundEmail, Patient

NOW = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
ADDRESS = "maria.rossi@mail.example"
ENROL = {"name": "Maria Rossi", "area": "face", "first_session": "2026-11-20T10:00",
         "planned_sessions": "4", "interval_weeks": "3", "timezone": "Europe/Rome"}

pytestmark = pytest.mark.usefixtures("client")


@pytest.fixture
def clock():
    with frozen(NOW):
        yield


@pytest.fixture
def smtp(app):
    with LocalSmtp() as server:
        app.config["SMTP_URL"] = server.url()
        yield server


@pytest.fixture
def clinic(app):
    return create_clinic()


@pytest.fixture
def patient(clinic):
    patient, _ = enrol_patient(clinic)
    return patient


def reload(patient: Patient) -> Patient:
    db.session.expire_all()
    return db.session.get(Patient, patient.id)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def worker(runner) -> None:
    result = runner.invoke(args=["reminders", "run", "--once"])
    assert result.exit_code == 0, result.output


def link_in(received) -> str:
    body = received.message.get_body(("plain",)).get_content()
    [link] = re.findall(r"http://localhost/email/confirm/\S+", body)
    return urlsplit(link).path


# -- staff, at the desk -----------------------------------------------------------------------


def test_enrolment_records_an_address_with_consent(app, clinic, clock):
    staff = signed_in_client(app, clinic)
    response = post(staff, "/staff/patients/new",
                    {**ENROL, "email": " Maria.Rossi@Mail.Example ", "email_consent": "y"})
    assert response.status_code == 303
    patient = db.session.scalar(sa.select(Patient))
    assert (patient.email, patient.email_consent_at) == ("Maria.Rossi@mail.example", NOW)
    assert "email.set" in actions(patient_id=patient.id)
    detail = db.session.scalar(sa.select(AuditEvent.detail).where(
        AuditEvent.action == "email.set"))
    assert detail == {"via": "desk"}, "never the address"


def test_enrolment_without_an_address_needs_no_consent(app, clinic, clock):
    staff = signed_in_client(app, clinic)
    assert post(staff, "/staff/patients/new", ENROL).status_code == 303
    assert db.session.scalar(sa.select(Patient.email)) is None


@pytest.mark.parametrize(("extra", "field", "message"), [
    ({"email": ADDRESS}, "email_consent", "Tick this once the patient has agreed"),
    ({"email": "maria@", "email_consent": "y"}, "email", "Enter an e-mail address like"),
    ({"email": "a@b" + "c" * 260 + ".example", "email_consent": "y"}, "email", "too long"),
])
def test_enrolment_refuses_bad_input_next_to_the_field_and_saves_nothing(
        app, clinic, clock, extra, field, message):
    staff = signed_in_client(app, clinic)
    response = post(staff, "/staff/patients/new", {**ENROL, **extra})
    assert response.status_code == 400
    assert message in (field_error(response, field) or "")
    assert count(Patient) == 0


def test_staff_set_change_and_remove_the_address_on_the_patient_s_page(app, clinic, patient):
    staff = signed_in_client(app, clinic)
    url = f"/staff/patients/{patient.id}/email"
    refused = post(staff, url, {"email-email": ADDRESS})
    assert refused.status_code == 400
    assert "Tick this" in field_error(refused, "email-email_consent")
    assert reload(patient).email is None
    assert post(staff, url, {"email-email": "", "email-email_consent": "y"}).status_code == 400
    saved = post(staff, url, {"email-email": ADDRESS, "email-email_consent": "y"})
    assert saved.status_code == 303
    assert reload(patient).email == ADDRESS
    page = staff.get(f"/staff/patients/{patient.id}")
    assert ADDRESS in page_html(page).select_one("#reminder-email").get_text()
    assert post(staff, f"{url}/remove").status_code == 303
    assert (reload(patient).email, reload(patient).email_consent_at) == (None, None)
    assert actions(patient_id=patient.id).count("email.removed") == 1


def test_staff_of_another_clinic_cannot_touch_the_address(app, patient):
    other = signed_in_client(app, create_clinic(name="Clinica Napoli"), email="n@clinic.example")
    url = f"/staff/patients/{patient.id}/email"
    assert post(other, url, {"email-email": ADDRESS, "email-email_consent": "y"}
                ).status_code == 404
    assert reload(patient).email is None


def test_the_staff_form_needs_its_csrf_token(app, clinic, patient):
    staff = signed_in_client(app, clinic)
    response = staff.post(f"/staff/patients/{patient.id}/email",
                          data={"email-email": ADDRESS, "email-email_consent": "y"})
    assert response.status_code == 400
    assert reload(patient).email is None


# -- the command line -------------------------------------------------------------------------


def enrol_cli(runner, *extra):
    return runner.invoke(args=["patients", "enroll", "--clinic", "Clinica Roma", "--name",
                               "Maria Rossi", "--area", "face", "--session", "2026-11-20T10:00",
                               "--tz", "Europe/Rome", *extra])


def test_cli_records_an_address_given_at_the_desk(runner, clinic, clock):
    result = enrol_cli(runner, "--email", ADDRESS)
    assert result.exit_code == 0, result.output
    assert "consent given at the desk" in result.output
    patient = db.session.scalar(sa.select(Patient))
    assert (patient.email, patient.email_consent_at) == (ADDRESS, NOW)
    assert db.session.scalar(sa.select(AuditEvent.detail).where(
        AuditEvent.action == "email.set")) == {"via": "desk"}


@pytest.mark.parametrize("bad", ["", "maria", "maria@@mail.example", "maria@mail"])
def test_cli_refuses_a_bad_address_in_one_line_and_enrols_nobody(runner, clinic, bad):
    result = enrol_cli(runner, "--email", bad)
    assert result.exit_code == 1
    assert result.output.startswith("Error: --email: ") and result.output.count("\n") == 1
    assert count(Patient) == 0


# -- the patient: add, confirm by the link, change, remove ------------------------------------


def test_the_patient_adds_an_address_and_confirms_it_from_the_link(
        app, patient, smtp, runner):
    phone = patient_client(app, patient)
    page = phone.get("/reminders")
    assert page_html(page).select_one("#reminder-email form") is not None
    sent = phone.post("/reminders/email", data={"email-email": ADDRESS,
                                                "csrf_token": csrf_token(phone, "/reminders")})
    assert sent.status_code == 303 and sent.headers["Location"].endswith("#reminder-email")
    assert reload(patient).email is None, "not before the link is opened"
    pending = db.session.scalar(sa.select(EmailConfirmation))
    queued = db.session.scalar(sa.select(OutboundEmail))
    assert queued.to_address == ADDRESS
    token = patient_email.confirmation_token(pending)
    assert token not in queued.body and patient_email.LINK_PLACEHOLDER in queued.body
    shown = page_html(phone.get("/reminders")).select_one("#email-pending").get_text()
    assert ADDRESS in shown

    worker(runner)
    [mail] = smtp.received
    assert mail.rcpt_tos == [ADDRESS]
    assert mail.message["Subject"] == "Confirm your e-mail address for reminders"
    path = link_in(mail)
    assert path == f"/email/confirm/{token}"
    db.session.expire_all()
    assert db.session.scalar(sa.select(OutboundEmail.body)) == "", "the link is not kept"

    # Opened on a computer, with no cookie: a mail scanner's GET confirms nothing.
    browser = new_client(app)
    landing = browser.get(path)
    assert landing.status_code == 200
    assert landing.headers["Referrer-Policy"] == "no-referrer"
    assert reload(patient).email is None
    # The POST without the page's CSRF token does nothing either.
    assert browser.post(path).status_code == 400
    assert reload(patient).email is None
    form_token = page_html(landing).select_one("input[name=csrf_token]")["value"]
    confirmed = browser.post(path, data={"csrf_token": form_token})
    assert confirmed.status_code == 303
    assert confirmed.headers["Location"] == "/email/confirmed", "no token in the address bar"
    assert reload(patient).email == ADDRESS and reload(patient).email_consent_at is not None
    assert count(EmailConfirmation) == 0
    # Single use.
    assert browser.get(path).status_code == 404
    on_file = page_html(phone.get("/reminders")).select_one("#email-on-file").get_text()
    assert ADDRESS in on_file


def test_a_confirmation_link_expires(app, patient, smtp):
    phone = patient_client(app, patient)
    with frozen(NOW):
        row = patient_email.request_change(reload(patient), ADDRESS, NOW)
        db.session.commit()
        path = f"/email/confirm/{patient_email.confirmation_token(row)}"
    with frozen(NOW + timedelta(days=patient_email.CONFIRM_DAYS, seconds=1)):
        assert phone.get(path).status_code == 404
    assert reload(patient).email is None


def test_a_forged_or_replaced_link_confirms_nothing(app, patient, smtp):
    first = patient_email.request_change(reload(patient), ADDRESS, NOW)
    db.session.commit()
    old = f"/email/confirm/{patient_email.confirmation_token(first)}"
    second = patient_email.request_change(reload(patient), "maria@other.example", NOW)
    db.session.commit()
    browser = new_client(app)
    assert browser.get(old).status_code == 404, "asking again kills the old link"
    assert browser.get(f"/email/confirm/{second.id}.{'0' * 43}").status_code == 404
    assert browser.get("/email/confirm/not-a-token").status_code == 404
    assert count(OutboundEmail) == 1, "the old, unsent e-mail is not sent"


def test_the_patient_removes_the_address_at_once(app, patient, smtp):
    patient_email.set_at_desk(reload(patient), ADDRESS, None, NOW)
    db.session.commit()
    phone = patient_client(app, patient)
    response = phone.post("/reminders/email/remove",
                          data={"csrf_token": csrf_token(phone, "/reminders")})
    assert response.status_code == 303
    assert (reload(patient).email, reload(patient).email_consent_at) == (None, None)
    assert "no more reminders by e-mail" in phone.get("/reminders").get_data(as_text=True)


@pytest.mark.parametrize(("typed", "message"), [
    ("", "Enter an e-mail address."),
    ("maria at mail.example", "Enter an e-mail address like"),
    ("x" * 250 + "@mail.example", "too long"),
])
def test_a_bad_address_is_said_next_to_the_field_and_nothing_is_sent(
        app, patient, smtp, typed, message):
    phone = patient_client(app, patient)
    response = phone.post("/reminders/email", data={
        "email-email": typed, "csrf_token": csrf_token(phone, "/reminders")})
    assert response.status_code == 400
    assert message in (field_error(response, "email-email") or "")
    assert count(EmailConfirmation) == 0 and count(OutboundEmail) == 0


def test_adding_an_address_needs_the_csrf_token_and_the_patient_s_cookie(app, patient, smtp):
    phone = patient_client(app, patient)
    assert phone.post("/reminders/email", data={"email-email": ADDRESS}).status_code == 400
    assert new_client(app).post("/reminders/email",
                                data={"email-email": ADDRESS}).status_code in (400, 401)
    assert count(EmailConfirmation) == 0


def test_without_smtp_the_page_says_e_mail_is_not_available(app, patient):
    app.config["SMTP_URL"] = ""
    phone = patient_client(app, patient)
    card = page_html(phone.get("/reminders")).select_one("#reminder-email")
    assert "not available" in card.get_text() and card.select_one("form") is None
    response = phone.post("/reminders/email", data={
        "email-email": ADDRESS, "csrf_token": csrf_token(phone, "/reminders")})
    assert response.status_code == 409
    assert count(EmailConfirmation) == 0


def test_the_reminders_page_says_when_an_address_bounced(app, patient, smtp):
    patient_email.set_at_desk(reload(patient), ADDRESS, None, NOW)
    db.session.commit()
    assert patient_email.drop_bounced(patient.id, ADDRESS, NOW)
    db.session.commit()
    phone = patient_client(app, patient)
    dropped = page_html(phone.get("/reminders")).select_one("#email-dropped")
    assert dropped is not None and "could not be delivered" in dropped.get_text()
    assert ADDRESS not in phone.get("/reminders").get_data(as_text=True), "not kept"


def test_the_unsubscribe_page_s_button_leaves_a_clean_address(app, patient, smtp):
    patient_email.set_at_desk(reload(patient), ADDRESS, None, NOW)
    db.session.commit()
    path = urlsplit(patient_email.unsubscribe_link(reload(patient))).path
    browser = new_client(app)
    page = page_html(browser.get(path))
    assert page.select_one("form[method=post] button").get_text() == "Stop reminder e-mails"
    assert reload(patient).email == ADDRESS
    done = browser.post(path, data={"from": "page"})
    assert (done.status_code, done.headers["Location"]) == (303, "/email/unsubscribed")
    assert reload(patient).email is None
    assert "email.removed" in actions(patient_id=patient.id)


def test_the_links_in_e_mails_never_reach_a_log_line():
    from meso.logredact import redact

    assert redact("GET /email/confirm/12.abcdef0123 HTTP/1.1") == \
        "GET /email/confirm/[redacted] HTTP/1.1"
    assert redact("POST /unsubscribe/7.0a1b2c HTTP/1.1") == "POST /unsubscribe/[redacted] HTTP/1.1"


def test_a_patient_cannot_use_the_app_to_fill_an_inbox(app, patient, smtp):
    phone = patient_client(app, patient)
    for n in range(patient_email.LINKS_LIMIT[0]):
        response = phone.post("/reminders/email", data={
            "email-email": f"try{n}@mail.example", "csrf_token": csrf_token(phone, "/reminders")})
        assert response.status_code == 303
    refused = phone.post("/reminders/email", data={
        "email-email": "one.more@mail.example", "csrf_token": csrf_token(phone, "/reminders")})
    assert refused.status_code == 400
    assert "Too many links sent today." in field_error(refused, "email-email")
    assert db.session.scalar(sa.select(EmailConfirmation.address)) == "try4@mail.example"
