"""E-mail to the clinic's admins when a check-in asks it to call: queued, sent by the real
worker command to a real SMTP server on 127.0.0.1 (aiosmtpd, tests/fakesmtp.py), retried like
a push, and saying nothing about the patient but that they need attention."""

from __future__ import annotations

import logging
import re
import secrets
import smtplib
import socket
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from conftest import (
    create_clinic,
    create_staff,
    enrol_patient,
    listed_push_service,
    open_invite,
    sign_in,
)
from fakesmtp import LocalSmtp, TestCertificates, free_port
from helpers import csrf_meta, frozen, page_html
from logleaks import CHECK
from staff_helpers import new_client

from meso import (
    attention,
    checkin_rules,
    clinic_mail,
    create_app,
    mailer,
    outbox,
    trial_push,
    worker,
)
from meso.cli_reminders import run_command
from meso.config import ConfigError
from meso.extensions import db
from meso.models import CheckIn, OutboundEmail, PushSubscription, utcnow

PATIENT = "Maria Rossi"
ADMINS = ("giulia.admin@clinic.example", "marco.admin@clinic.example")
NOW = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)


# -- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def clinic(app, vapid):
    """A clinic with two active admins, a deactivated admin and a practitioner, a patient, and
    a second clinic with an admin of its own; the worker can run (VAPID)."""
    clinic = create_clinic()
    for address in ADMINS:
        create_staff(clinic, email=address, role="admin")
    gone = create_staff(clinic, email="former.admin@clinic.example", role="admin")
    gone.active = False
    create_staff(clinic, email="paola.practitioner@clinic.example", role="practitioner")
    create_staff(create_clinic(name="Clinica Napoli", phone="+39 081 000"),
                 email="napoli.admin@clinic.example", role="admin")
    db.session.commit()
    return clinic


@pytest.fixture
def patient(clinic):
    patient, _ = enrol_patient(clinic, name=PATIENT)
    return patient


@pytest.fixture
def certificates(tmp_path, monkeypatch):
    """A test CA the client trusts (SSL_CERT_FILE, read by every new TLS context)."""
    certificates = TestCertificates(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
    return certificates


def checkin(patient, advice: str = "call_clinic") -> CheckIn:
    """A day-1 check-in: a bad day, strong swelling getting worse, a fever."""
    row = CheckIn(patient_id=patient.id, local_date=date(2026, 11, 21), feeling=1,
                  symptoms="fever,worse", signs={"swelling": "strong", "redness": "moderate"},
                  trend="worse", advice=advice, idempotency_key=secrets.token_hex(16))
    db.session.add(row)
    db.session.commit()
    return row


def raise_alert(row: CheckIn, now: datetime) -> None:
    """What the check-in request does once it stored an alert: call the hook, then commit."""
    attention.checkin_needs_attention(row, now)
    db.session.commit()


def emails() -> list[OutboundEmail]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboundEmail).order_by(OutboundEmail.id)))


def run_worker(runner, when: datetime | None = None):
    """The real worker command, once (at ``when``: the clock frozen there)."""
    if when is None:
        result = runner.invoke(args=["reminders", "run", "--once"])
    else:
        with frozen(when):
            result = runner.invoke(args=["reminders", "run", "--once"])
    assert result.exit_code == 0, result.output
    return result


def words_about_the_check_in() -> set[str]:
    """Everything a check-in could say, as keys and as the patient reads it."""
    words = {PATIENT, *PATIENT.split()}
    for table in (checkin_rules.CHECKIN_FLAGS, checkin_rules.CHECKIN_SIGNS,
                  checkin_rules.CHECKIN_TRENDS):
        for key, label in table.items():
            words |= {key, key.replace("_", " "), str(label)}
    words |= {level.replace("_", " ") for level in checkin_rules.ADVICE_LEVELS}
    words |= {"call_clinic", "symptom", "signs", "moderate", "strong", "Bad"}
    return words


# -- the story -------------------------------------------------------------------------------


def test_an_alert_reaches_each_active_admin_within_a_minute_and_names_nobody(
        app, patient, runner, caplog):
    """Done when: a call_clinic check-in; the clinic's inbox has it at the worker's next poll."""
    with LocalSmtp() as server:
        app.config["SMTP_URL"] = server.url()
        now = utcnow()
        row = checkin(patient)
        raise_alert(row, now)
        queued = emails()
        assert sorted(e.to_address for e in queued) == sorted(ADMINS), "active admins only"
        assert {(e.status, e.attempts, e.patient_id, e.clinic_id) for e in queued} == {
            ("pending", 0, patient.id, patient.clinic_id)}
        assert all(e.next_attempt_at == now for e in queued), "due at once, not later"
        assert {e.dedupe_key for e in queued} == {
            f"attention:{row.id}:{e.dedupe_key.rsplit(':', 1)[1]}" for e in queued}

        caplog.set_level(logging.INFO)
        run_worker(runner)
        received = server.received

    assert sorted(r.rcpt_tos[0] for r in received) == sorted(ADMINS)
    assert all(len(r.rcpt_tos) == 1 for r in received), "one e-mail each: no shared To list"
    link = f"http://localhost/staff/patients/{patient.id}#attention"
    for mail in received:
        message = mail.message
        assert message["From"] == "Meso aftercare <no-reply@localhost>"
        assert message["Subject"] == "A patient of Clinica Roma needs attention"
        assert message["Auto-Submitted"] == "auto-generated"
        body = message.get_body(("plain",)).get_content()
        assert body.splitlines()[0] == "A patient of Clinica Roma needs attention."
        assert link in body.split()
        for word in words_about_the_check_in():
            assert not re.search(rf"\b{re.escape(word)}\b", mail.text, re.IGNORECASE), word
            assert word.encode() not in mail.raw, word

    sent = emails()
    assert {(e.status, e.attempts, e.body, e.last_error) for e in sent} == {
        ("sent", 1, "", None)}, "sent, and the text is not kept"
    assert all(e.sent_at is not None and e.lease_until is None for e in sent)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("meso")]
    assert any(line.startswith("emails batch: claimed=2 sent=2") for line in lines)
    assert {f"email {e.id}: sent" for e in sent} <= set(lines)
    assert any(line.endswith("emails_sent=2 emails_retried=0 emails_failed=0") for line in lines)
    for line in lines:
        assert "@" not in line and "needs attention" not in line, line


def test_the_worker_polls_well_within_a_minute():
    poll = next(p for p in run_command.params if p.name == "poll")
    assert poll.default < 60


def test_a_batch_claims_one_email_per_thread_and_once_still_sends_them_all(
        app, patient, runner, caplog):
    with LocalSmtp() as server:
        app.config["SMTP_URL"] = server.url()
        raise_alert(checkin(patient), utcnow())
        caplog.set_level(logging.INFO)
        result = runner.invoke(args=["reminders", "run", "--once", "--concurrency", "1"])
        assert result.exit_code == 0, result.output
        assert len(server.received) == 2
    batches = [m for m in caplog.messages if m.startswith("emails batch:")]
    assert [b.split(" in ")[0] for b in batches] == [
        "emails batch: claimed=1 sent=1 retried=0 failed=0"] * 2


def test_the_same_alert_twice_queues_and_sends_one_email_per_admin(app, patient, runner):
    with LocalSmtp() as server:
        app.config["SMTP_URL"] = server.url()
        row = checkin(patient)
        raise_alert(row, utcnow())
        raise_alert(row, utcnow())
        assert len(emails()) == 2
        run_worker(runner)
        raise_alert(row, utcnow())  # after sending, too
        run_worker(runner)
        assert len(emails()) == 2
        assert len(server.received) == 2
        # A new alert check-in is news again.
        raise_alert(checkin(patient, advice="emergency"), utcnow())
        run_worker(runner)
        assert len(server.received) == 4


def test_only_alerts_are_emailed(app, patient):
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    for advice in ("expected", "watch"):
        raise_alert(checkin(patient, advice=advice), utcnow())
    assert emails() == []


def test_without_smtp_url_nothing_is_queued_and_the_worker_runs(app, patient, runner):
    assert app.config["SMTP_URL"] == ""
    raise_alert(checkin(patient), utcnow())
    assert emails() == []
    result = run_worker(runner)
    assert result.exit_code == 0


def test_a_clinic_whose_admins_are_all_inactive_gets_nothing_queued(app, vapid):
    clinic = create_clinic(name="Clinica Milano")
    admin = create_staff(clinic, email="only.admin@clinic.example", role="admin")
    admin.active = False
    db.session.commit()
    patient, _ = enrol_patient(clinic, name=PATIENT)
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    raise_alert(checkin(patient), utcnow())
    assert emails() == []


# -- TLS and sign-in -------------------------------------------------------------------------


def credentials() -> tuple[str, str]:
    """A user and a password with characters a URL must encode; the password is a secret."""
    password = f"p@ss/w:rd?{secrets.token_hex(4)}"
    CHECK.remember("SMTP password", password)
    return "mailer@clinic.example", password


def url_with(server: LocalSmtp, user: str, password: str) -> str:
    return server.url(f"{quote(user, safe='')}:{quote(password, safe='')}")


def test_starttls_and_sign_in_with_url_encoded_credentials(app, patient, runner, certificates):
    user, password = credentials()
    with LocalSmtp(tls="starttls", certificates=certificates,
                   credentials=(user, password)) as server:
        app.config["SMTP_URL"] = url_with(server, user, password)
        raise_alert(checkin(patient), utcnow())
        run_worker(runner)
        assert server.inbox.logins == [(user, password)] * 2
        assert [r.login for r in server.received] == [user, user]
    assert {e.status for e in emails()} == {"sent"}


# aiosmtpd counts only STARTTLS as TLS, so its sign-in over TLS from the start is configured as
# "AUTH without TLS", which it warns about.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_smtps(app, patient, runner, certificates):
    user, password = credentials()
    with LocalSmtp(tls="implicit", certificates=certificates,
                   credentials=(user, password)) as server:
        app.config["SMTP_URL"] = url_with(server, user, password)
        assert app.config["SMTP_URL"].startswith("smtps://")
        raise_alert(checkin(patient), utcnow())
        run_worker(runner)
        assert [r.login for r in server.received] == [user, user]
    assert {e.status for e in emails()} == {"sent"}


def test_a_certificate_nobody_vouches_for_is_retried_not_trusted(app, patient, runner, tmp_path,
                                                                  monkeypatch):
    certificates = TestCertificates(tmp_path)  # the client is not told about this CA
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "empty.pem"))
    (tmp_path / "empty.pem").write_text("")
    with LocalSmtp(tls="starttls", certificates=certificates) as server:
        app.config["SMTP_URL"] = server.url()
        raise_alert(checkin(patient), utcnow())
        run_worker(runner)
        assert server.received == []
    [first, _] = emails()
    assert (first.status, first.attempts) == ("pending", 1)
    assert first.last_error.startswith("TLS certificate refused")


def test_a_wrong_password_fails_at_once(app, patient, runner, certificates):
    user, password = credentials()
    with LocalSmtp(tls="starttls", certificates=certificates,
                   credentials=(user, password)) as server:
        app.config["SMTP_URL"] = url_with(server, user, "not-the-password")
        raise_alert(checkin(patient), utcnow())
        run_worker(runner)
        assert server.received == []
    assert {(e.status, e.attempts, e.last_error) for e in emails()} == {
        ("failed", 1, "SMTP 535 5.7.8")}


def test_a_password_is_never_sent_without_tls(app, patient, runner):
    user, password = credentials()
    with LocalSmtp() as server:  # offers no STARTTLS
        app.config["SMTP_URL"] = url_with(server, user, password)
        raise_alert(checkin(patient), utcnow())
        run_worker(runner)
        assert server.received == [] and server.inbox.logins == []
    [first, _] = emails()
    assert (first.status, first.attempts) == ("failed", 1)
    assert first.last_error.startswith("the server offers no STARTTLS")


# -- failures --------------------------------------------------------------------------------


def test_a_server_that_is_down_is_retried_with_backoff_then_given_up(app, patient, runner):
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nobody listens
    raise_alert(checkin(patient), NOW)
    when, waits = NOW, []
    for _ in range(outbox.MAX_ATTEMPTS):
        run_worker(runner, when)
        row = emails()[0]
        if row.status != "pending":
            break
        assert row.last_error == "no connection: ConnectionRefusedError"
        waits.append(row.next_attempt_at - when)
        when = row.next_attempt_at
    assert waits == [outbox.backoff(n) for n in range(1, outbox.MAX_ATTEMPTS)]
    assert waits[0] == outbox.BACKOFF_FIRST and waits[1] == 2 * outbox.BACKOFF_FIRST
    assert {(e.status, e.attempts) for e in emails()} == {("failed", outbox.MAX_ATTEMPTS)}
    assert row.last_error == (f"gave up after {outbox.MAX_ATTEMPTS} attempts: "
                              "no connection: ConnectionRefusedError")
    assert row.body, "a failed e-mail keeps its text: it can be sent again"


def test_a_4xx_answer_is_retried_then_sent(app, patient, runner):
    with LocalSmtp() as server:
        server.refuse("451 4.3.0 Mailbox busy, try later", times=2)
        app.config["SMTP_URL"] = server.url()
        raise_alert(checkin(patient), NOW)
        run_worker(runner, NOW)
        assert server.received == []
        assert {(e.status, e.attempts, e.last_error, e.next_attempt_at) for e in emails()} == {
            ("pending", 1, "SMTP 451 4.3.0", NOW + outbox.BACKOFF_FIRST)}
        run_worker(runner, NOW + outbox.BACKOFF_FIRST - timedelta(seconds=1))
        assert server.received == [], "not before its time"
        run_worker(runner, NOW + outbox.BACKOFF_FIRST)
        assert len(server.received) == 2
    assert {(e.status, e.attempts) for e in emails()} == {("sent", 2)}


def test_a_5xx_answer_fails_at_once_without_quoting_the_address(app, patient, runner):
    with LocalSmtp() as server:
        server.refuse(f"550 5.1.1 <{ADMINS[0]}>: Recipient address rejected", times=2)
        app.config["SMTP_URL"] = server.url()
        raise_alert(checkin(patient), NOW)
        run_worker(runner, NOW)
        run_worker(runner, NOW + timedelta(hours=2))
        assert server.received == []
    assert {(e.status, e.attempts, e.last_error) for e in emails()} == {
        ("failed", 1, "SMTP 550 5.1.1")}


def test_a_hung_server_times_out(app):
    with socket.socket() as listener:  # accepts, never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        sender = mailer.Mailer(mailer.parse_url(f"smtp://127.0.0.1:{port}"),
                               "no-reply@localhost", timeout=0.5)
        outcome = sender.send(ADMINS[0], "subject", "body", NOW)
    assert outcome == mailer.Outcome(mailer.RETRY, "timed out")


@pytest.mark.parametrize(("error", "expected"), [
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication failed"),
     (mailer.FAILED, "SMTP 535 5.7.8")),
    (smtplib.SMTPAuthenticationError(454, b"4.7.0 Temporary authentication failure"),
     (mailer.RETRY, "SMTP 454 4.7.0")),
    (smtplib.SMTPRecipientsRefused({"a@clinic.example": (550, b"no such user")}),
     (mailer.FAILED, "SMTP 550")),
    (smtplib.SMTPSenderRefused(421, b"4.7.0 Try again", "b@clinic.example"),
     (mailer.RETRY, "SMTP 421 4.7.0")),
    (smtplib.SMTPDataError(554, b"5.7.1 Rejected"), (mailer.FAILED, "SMTP 554 5.7.1")),
    (smtplib.SMTPConnectError(421, b"Too many connections"), (mailer.RETRY, "SMTP 421")),
    (smtplib.SMTPServerDisconnected("gone"),
     (mailer.RETRY, "no connection: SMTPServerDisconnected")),
    (smtplib.SMTPNotSupportedError("no AUTH"), (mailer.FAILED, None)),
    (ConnectionResetError(), (mailer.RETRY, "no connection: ConnectionResetError")),
    (socket.gaierror(), (mailer.RETRY, "no connection: gaierror")),
    (TimeoutError(), (mailer.RETRY, "timed out")),
])
def test_failures_are_sorted_into_retry_and_failed(error, expected):
    outcome = mailer.classify(error)
    kind, reason = expected
    assert outcome.kind == kind
    if reason is not None:
        assert outcome.error == reason
    assert "@" not in outcome.error


def test_an_email_failure_never_stops_the_pushes(app, patient, runner, vapid, monkeypatch,
                                                 caplog):
    def broken_send(self, to, subject, body, now):
        raise RuntimeError(f"a bug quoting {to}")

    with listed_push_service(app, vapid) as service:
        phone = service.subscription()
        keys = phone.json["keys"]
        db.session.add(PushSubscription(patient_id=patient.id, endpoint=phone.endpoint,
                                        p256dh=keys["p256dh"], auth=keys["auth"]))
        trial_push.queue(patient, utcnow())  # a push due now
        db.session.commit()
        app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
        raise_alert(checkin(patient), utcnow())
        monkeypatch.setattr(mailer.Mailer, "send", broken_send)
        run_worker(runner)
        assert service.messages(), "the push went out"
        assert {(e.status, e.last_error) for e in emails()} == {
            ("failed", "unexpected RuntimeError")}

        # A whole e-mail batch failing (the table, the database) leaves pushes alone too.
        raise_alert(checkin(patient, advice="emergency"), utcnow())

        def broken_batch(*args):
            raise sa.exc.ProgrammingError("SELECT", {}, Exception("no such table"))

        monkeypatch.setattr(worker, "run_mail_batch", broken_batch)
        trial_push.queue(patient, utcnow())
        db.session.commit()
        caplog.set_level(logging.INFO)
        before = len(service.messages())
        run_worker(runner)
        assert len(service.messages()) > before
        assert "emails batch failed: ProgrammingError; trying again" in caplog.messages
    for line in caplog.messages:
        assert "@" not in line, line


def test_email_rows_are_claimed_under_a_lease_like_reminders(app, patient):
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    for _ in range(2):
        raise_alert(checkin(patient), NOW)
    ids = [e.id for e in emails()]
    assert len(ids) == 4
    lease = timedelta(seconds=60)
    claimed, token = outbox.claim_due(NOW, 3, lease, OutboundEmail)
    assert claimed == ids[:3] and token == NOW + lease
    assert outbox.claim_due(NOW, 10, lease, OutboundEmail)[0] == ids[3:]
    assert outbox.claim_due(NOW, 10, lease, OutboundEmail)[0] == []
    assert outbox.claim_due(NOW, 10, lease)[0] == [], "reminders are another table"
    assert outbox.record(ids[0], token, {"status": "sent"}, OutboundEmail)
    assert not outbox.record(ids[0], token, {"status": "failed"}, OutboundEmail), \
        "the lease is spent once the outcome is written"
    later, _ = outbox.claim_due(NOW + lease + timedelta(seconds=1), 10, lease, OutboundEmail)
    assert later == ids[1:], "after the lease the unsent rows are free again"


# -- configuration ---------------------------------------------------------------------------


def test_smtp_urls_are_read_with_their_defaults():
    plain = mailer.parse_url("smtp://mail.clinic.example")
    assert (plain.host, plain.port, plain.implicit_tls, plain.username) == (
        "mail.clinic.example", 587, False, "")
    tls = mailer.parse_url("SMTPS://me%40clinic.example:p%2Fw%3A%40rd@mail.clinic.example/")
    assert (tls.host, tls.port, tls.implicit_tls, tls.username, tls.password) == (
        "mail.clinic.example", 465, True, "me@clinic.example", "p/w:@rd")
    assert "p/w:@rd" not in repr(tls), "the password stays out of reprs"
    relay = mailer.parse_url("smtp://127.0.0.1:25")
    assert (relay.host, relay.port) == ("127.0.0.1", 25)


@pytest.mark.parametrize(("url", "says"), [
    ("http://mail.clinic.example", "must start with smtp:// or smtps://"),
    ("mail.clinic.example:587", "must start with smtp:// or smtps://"),
    ("smtp://", "names no host"),
    ("smtp://mail.clinic.example:submission", "port or host cannot be read"),
    ("smtp://mail.clinic.example:70000", "port or host cannot be read"),
    ("smtp://mail.clinic.example:0", "port 0"),
    ("smtp://user:sec/ret@mail.clinic.example", "URL-encode any : / ? # @"),
    ("smtp://user:secret@mail.clinic.example/#x", "nothing may follow"),
    ("smtp://mail.clinic.example?tls=1", "nothing may follow"),
    ("smtp://user@mail.clinic.example", "both a user and a password"),
])
def test_a_bad_smtp_url_stops_the_start_with_one_clear_line(tmp_path, monkeypatch, url, says):
    monkeypatch.setenv("SMTP_URL", url)
    with pytest.raises(ConfigError) as caught:
        create_app({"TESTING": True, "SECRET_KEY": "x"}, instance_path=str(tmp_path))
    message = str(caught.value)
    assert message.startswith("SMTP_URL must look like smtp://user:password@host:587")
    assert says in message and "\n" not in message
    for part in ("mail.clinic.example", "sec/ret", "secret", "submission"):
        assert part not in message, "the value may hold a password"


def test_a_good_smtp_url_and_mail_from_are_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SMTP_URL", " smtps://me:pw@mail.clinic.example ")
    monkeypatch.setenv("MESO_BASE_URL", "https://aftercare.clinic.example")
    app = create_app({"TESTING": True, "SECRET_KEY": "x"}, instance_path=str(tmp_path))
    assert app.config["SMTP_URL"] == "smtps://me:pw@mail.clinic.example"
    assert app.config["MAIL_FROM"] == "Meso aftercare <no-reply@aftercare.clinic.example>"
    monkeypatch.setenv("MAIL_FROM", "Clinica Roma <aftercare@clinica-roma.example>")
    app = create_app({"TESTING": True, "SECRET_KEY": "x"}, instance_path=str(tmp_path))
    assert app.config["MAIL_FROM"] == "Clinica Roma <aftercare@clinica-roma.example>"
    assert mailer.mailer_for(app.config).sender == app.config["MAIL_FROM"]
    monkeypatch.setenv("MAIL_FROM", "aftercare at clinic")
    with pytest.raises(ConfigError, match="MAIL_FROM must be an e-mail address"):
        create_app({"TESTING": True, "SECRET_KEY": "x"}, instance_path=str(tmp_path))


@pytest.mark.parametrize(("base", "sender"), [
    ("https://aftercare.clinic.example", "Meso aftercare <no-reply@aftercare.clinic.example>"),
    ("http://127.0.0.1:5000", "Meso aftercare <no-reply@localhost>"),
    ("", "Meso aftercare <no-reply@localhost>"),
])
def test_the_default_sender_is_no_reply_at_the_app_host(base, sender):
    assert mailer.sender_address("", base) == sender


def test_the_worker_refuses_an_smtp_url_set_after_the_start(app, vapid, runner):
    app.config["SMTP_URL"] = "smtp://user:hunter2-secret@mail.clinic.example/x"
    result = runner.invoke(args=["reminders", "run", "--once"])
    assert result.exit_code == 1
    assert "cannot send e-mail: SMTP_URL must look like" in result.output
    assert "hunter2-secret" not in result.output


def test_the_email_says_only_that_a_patient_needs_attention(app):
    subject, body = clinic_mail.texts("Clinica Roma", "https://aftercare.example/staff/patients/7")
    assert subject == "A patient of Clinica Roma needs attention"
    assert body.splitlines() == [
        "A patient of Clinica Roma needs attention.",
        "",
        "Open their page to see why (staff sign-in needed):",
        "https://aftercare.example/staff/patients/7",
        "",
        "This e-mail says nothing more on purpose: the details are on that page, for the "
        "clinic's signed-in staff only.",
    ]
    subject, _ = clinic_mail.texts("Clinica\r\nBcc: x", "https://aftercare.example/")
    assert subject == "A patient of Clinica Bcc: x needs attention", "one header line"


def test_done_when_day_3_worse_swelling_and_fever_reach_the_roster_and_the_inbox(
        app, clinic, runner):
    """Issue 10's "done when", end to end: the phone's check-in is told to call the clinic
    today; the roster shows the patient first; the admins' inbox has it at the next poll."""
    first_session = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # Friday, Rome
    for name, session in (("Anna Prima", first_session - timedelta(days=30)),
                          ("Bruno Secondo", first_session + timedelta(days=1))):
        enrol_patient(clinic, name=name, first_session=session)
    patient, token = enrol_patient(clinic, name=PATIENT, first_session=first_session)
    phone = app.test_client()
    day_3 = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    with LocalSmtp() as server, frozen(day_3):
        app.config["SMTP_URL"] = server.url()
        assert open_invite(phone, token).status_code == 303
        answer = phone.post("/checkins", headers={"X-CSRFToken": csrf_meta(phone.get("/today"))},
                            json={"key": secrets.token_hex(16), "feeling": 2,
                                  "signs": {"swelling": "moderate"}, "trend": "worse",
                                  "symptoms": ["fever"]})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        assert answer.json["advice"] == "call_clinic"

        staff = new_client(app)
        assert sign_in(staff, email=ADMINS[0]).status_code == 303
        first_row = page_html(staff.get("/staff/")).select_one("tbody tr")
        assert first_row.select_one("td.name > a").get_text() == PATIENT
        assert first_row["data-attention"] == "call_clinic"

        run_worker(runner, day_3 + timedelta(seconds=15))  # the worker's next poll
        received = server.received
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(ADMINS)
    for mail in received:
        assert f"/staff/patients/{patient.id}#attention" in mail.text
        assert PATIENT not in mail.text and "fever" not in mail.text.lower()
