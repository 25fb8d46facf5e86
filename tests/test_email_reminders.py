"""Reminders by e-mail where push cannot reach: the real `reminders run` command, a real SMTP
server on 127.0.0.1 (aiosmtpd, tests/fakesmtp.py) and the fake push service side by side.

Done when (issue 13): a patient on an iPhone who never installs the app, with an e-mail on
file, gets the session-evening and day-1 reminders by e-mail once each and no push.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from email.utils import parseaddr
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import create_clinic, enrol_patient
from fakesmtp import LocalSmtp
from helpers import frozen
from test_worker import run, subscribe  # the worker's own test helpers, shared

from meso import outbox, patient_email, protocol
from meso.extensions import db
from meso.models import Patient, PushSubscription, Reminder, ReminderSettings

ROME = ZoneInfo("Europe/Rome")
SESSION = datetime(2026, 11, 20, 10, 0, tzinfo=ROME)  # a Friday
ENROLLED = SESSION + timedelta(hours=3)
ADDRESS = "maria.rossi@mail.example"
BASE = "https://aftercare.clinic.example"


def rome(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ROME)


@pytest.fixture
def smtp(app):
    with LocalSmtp() as server:
        app.config.update(SMTP_URL=server.url(), MESO_BASE_URL=BASE)
        yield server


def enrol(name: str = "Maria Rossi", address: str | None = ADDRESS) -> Patient:
    """An iPhone patient who never installs the app: an address given at the desk, no push."""
    with frozen(ENROLLED):
        patient, _ = enrol_patient(create_clinic(name=f"Clinica {name}"), name=name,
                                   first_session=SESSION.astimezone(UTC))
        if address:
            patient_email.set_at_desk(patient, address, None, ENROLLED)
            db.session.commit()
    return patient


@pytest.fixture
def patient(app, vapid, smtp):
    return enrol()


def rows(patient: Patient) -> dict[str, Reminder]:
    db.session.expire_all()
    return {r.rule: r for r in db.session.scalars(
        sa.select(Reminder).where(Reminder.patient_id == patient.id, Reminder.session == 1))}


def subjects(server, to: str = ADDRESS) -> list[str]:
    return [r.message["Subject"] for r in server.received if r.rcpt_tos == [to]]


def body(received) -> str:
    return received.message.get_body(("plain",)).get_content()


# -- the story -------------------------------------------------------------------------------


def test_done_when_evening_and_day_one_come_by_email_once_each_and_no_push(
        patient, smtp, fake_push, runner):
    run(runner, ENROLLED)  # 13:00 on the session day: tonight's reminder is due
    run(runner, rome("2026-11-21T09:00"))  # day 1 morning: the sun
    run(runner, rome("2026-11-21T18:00"))  # day 1 evening: heat
    run(runner, rome("2026-11-21T20:00"))  # the check-in nudge
    run(runner, rome("2026-11-21T20:30"))  # nothing new: never twice
    assert subjects(smtp) == [
        "Tonight: no heat, no direct sun",
        "Sun: stay in the shade today",
        "No sauna or hot bath tonight",
        "How is your skin today?",
    ]
    sent = {rule: r for rule, r in rows(patient).items() if r.status == "sent"}
    assert set(sent) == {"session_day", "sun_day1", "heat_day1", "checkin_day1"}
    assert {r.channel for r in sent.values()} == {"email"}
    assert all(r.attempts == 1 for r in sent.values())
    assert len(smtp.received) == 4 and len(set(subjects(smtp))) == 4, "once each"
    assert fake_push.messages() == [], "no push"
    heat = next(r for r in smtp.received if r.message["Subject"] == "No sauna or hot bath tonight")
    text = body(heat)
    assert ("Heat can still irritate your treated skin. Skip hot baths, the sauna, the steam "
            "room and hard workouts: they are OK again from Sun 10:00.") in text
    assert f"{BASE}/today" in text.split(), "a link to Today"
    assert parseaddr(heat.message["From"]) == ("Meso aftercare", "no-reply@localhost")


def test_the_evening_titles_follow_the_push_texts(patient, smtp, runner):
    run(runner, ENROLLED)
    [tonight] = smtp.received
    assert tonight.message["Subject"] == "Tonight: no heat, no direct sun"
    assert "until Sun 10:00" in body(tonight)


def test_an_email_is_in_the_patient_s_language(app, vapid, smtp, runner):
    """Worded at send time in the patient's language, as their push would be."""
    patient = enrol()
    patient.lang = "it"
    db.session.commit()
    run(runner, ENROLLED)
    [tonight] = smtp.received
    assert tonight.message["Subject"] == "Stasera: niente caldo né sole diretto"
    assert "Tonight" not in body(tonight)


def test_a_patient_with_working_push_gets_push_only(app, vapid, smtp, fake_push, runner):
    patient = enrol()
    subscribe(patient, fake_push)
    run(runner, ENROLLED)
    run(runner, rome("2026-11-21T18:00"))
    assert [m.payload["notification"]["tag"] for m in fake_push.messages()] == [
        "session_day", "heat_day1"]
    assert smtp.received == []
    assert {r.channel for r in rows(patient).values() if r.status == "sent"} == {"push"}


def test_a_subscription_gone_for_good_hands_over_to_email_never_both(
        patient, smtp, fake_push, runner, caplog):
    phone = subscribe(patient, fake_push)
    fake_push.answer(phone, 410)
    run(runner, ENROLLED)  # the push service says the phone is gone: pruned, due again now
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PushSubscription)) == 0
    assert (rows(patient)["session_day"].status, rows(patient)["session_day"].channel) == (
        "pending", None)
    run(runner, ENROLLED + timedelta(seconds=5))
    assert subjects(smtp) == ["Tonight: no heat, no direct sun"]
    assert (rows(patient)["session_day"].status, rows(patient)["session_day"].channel) == (
        "sent", "email")
    assert fake_push.messages() == []
    run(runner, ENROLLED + timedelta(minutes=5))
    assert len(smtp.received) == 1


def test_without_an_address_nothing_is_emailed(app, vapid, smtp, runner):
    patient = enrol(address=None)
    run(runner, ENROLLED)
    assert smtp.received == []
    assert (rows(patient)["session_day"].status, rows(patient)["session_day"].last_error) == (
        "skipped", outbox.NO_DEVICE)


def test_an_address_confirmed_later_brings_what_is_still_useful(app, vapid, smtp, runner):
    patient = enrol(address=None)
    run(runner, ENROLLED)
    with frozen(ENROLLED + timedelta(minutes=10)):
        patient_email.set_at_desk(db.session.get(Patient, patient.id), ADDRESS, None,
                                  ENROLLED + timedelta(minutes=10))
        db.session.commit()
    run(runner, ENROLLED + timedelta(minutes=10))
    assert subjects(smtp) == ["Tonight: no heat, no direct sun"]


# -- the same rules as a push ----------------------------------------------------------------

# What would tell a reader of the inbox that the patient had a treatment (the discreet texts
# name everyday things, the sauna or a sunscreen, as the lock screen's do), or who they are.
HEALTH_WORDS = ("skin", "treat", "mesotherapy", "aftercare", "session", "recover", "heal",
                "practitioner", "swelling", "bruis", "redness", "inject", "medical", "Roma",
                "Maria", "Rossi")


def test_discreet_mode_says_a_reminder_from_your_clinic_and_no_health_words(
        patient, smtp, runner):
    db.session.add(ReminderSettings(patient_id=patient.id, discreet=True, morning=clock(9),
                                    quiet_start=clock(21), quiet_end=clock(8)))
    db.session.commit()
    run(runner, ENROLLED)
    run(runner, rome("2026-11-21T18:00"))
    run(runner, rome("2026-11-21T20:00"))
    assert len(smtp.received) == 3
    for mail in smtp.received:
        assert mail.message["Subject"] == "A reminder from your clinic"
        # The app's name is left out of the From (MAIL_FROM's address stays).
        assert parseaddr(mail.message["From"]) == ("Reminder", "no-reply@localhost")
        # The operator's host name and the patient's own address (the To) aside.
        readable = mail.text.replace(BASE, "").replace(ADDRESS, "")
        for word in HEALTH_WORDS:
            assert not re.search(rf"\b{word}", readable, re.IGNORECASE), (word, readable)


def test_quiet_hours_hold_an_email_until_they_end(patient, smtp, runner):
    row = rows(patient)["heat_sun_ok"]  # Sunday 10:00, useful for a day
    row.next_attempt_at = rome("2026-11-22T22:30")
    db.session.commit()
    run(runner, rome("2026-11-22T22:30"))
    assert smtp.received == []
    assert rows(patient)["heat_sun_ok"].next_attempt_at == rome("2026-11-23T08:00")
    run(runner, rome("2026-11-23T08:00"))
    assert len(smtp.received) == 1


def test_what_is_no_longer_true_is_not_emailed_late(patient, smtp, runner):
    run(runner, rome("2026-11-22T12:00"))  # the worker was down for a day
    assert len(smtp.received) == 1  # "heat and sun OK again" only
    status = {rule: (r.status, r.last_error) for rule, r in rows(patient).items()}
    for rule in ("session_day", "sun_day1", "heat_day1", "checkin_day1"):
        assert status[rule] == ("skipped", "pointless by the time it was due"), rule


def test_every_email_has_a_one_click_unsubscribe_that_works_without_a_session(
        patient, smtp, runner, client):
    run(runner, ENROLLED)
    [mail] = smtp.received
    header = mail.message["List-Unsubscribe"]
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(https://[^>]+)>", header).group(1)
    assert link.startswith(f"{BASE}/unsubscribe/")
    assert link in body(mail).split(), "and in the text, for clients without the header"
    path = urlsplit(link).path
    app = client.application
    app.config["MESO_BASE_URL"] = "http://localhost"  # the test client's host
    # A mail scanner GETs it: a page with a button, nothing changes.
    page = client.get(path)
    assert page.status_code == 200 and b"Stop reminder e-mails" in page.data
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert db.session.get(Patient, patient.id).email == ADDRESS
    # The mail client's one-click POST: no cookie, no CSRF token.
    answer = client.post(path, data="List-Unsubscribe=One-Click",
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).email is None
    assert client.post(path, data="List-Unsubscribe=One-Click").status_code == 404
    assert client.post("/unsubscribe/1.forged").status_code == 404
    run(runner, rome("2026-11-21T09:00"))
    assert len(smtp.received) == 1, "nothing more after unsubscribing"


def test_an_unsubscribe_link_for_an_old_address_does_nothing(patient, smtp, runner, client):
    run(runner, ENROLLED)
    path = urlsplit(re.search(r"<([^>]+)>", smtp.received[0].message["List-Unsubscribe"])
                    .group(1)).path
    patient_email.set_at_desk(db.session.get(Patient, patient.id), "maria@new.example", None,
                              ENROLLED)
    db.session.commit()
    assert client.post(path, data="List-Unsubscribe=One-Click").status_code == 404
    assert db.session.get(Patient, patient.id).email == "maria@new.example"


# -- failures --------------------------------------------------------------------------------


def test_a_busy_server_is_retried_with_backoff(patient, smtp, runner):
    smtp.refuse("451 4.3.0 Mailbox busy, try later")
    run(runner, ENROLLED)
    row = rows(patient)["session_day"]
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "SMTP 451 4.3.0")
    assert row.next_attempt_at == ENROLLED + outbox.BACKOFF_FIRST
    run(runner, ENROLLED + outbox.BACKOFF_FIRST)
    assert subjects(smtp) == ["Tonight: no heat, no direct sun"]
    assert (rows(patient)["session_day"].status, rows(patient)["session_day"].channel) == (
        "sent", "email")


def test_an_address_that_bounces_is_dropped_and_the_reminders_page_says_so(
        patient, smtp, runner, client, caplog):
    smtp.refuse(f"550 5.1.1 <{ADDRESS}>: Recipient address rejected")
    with caplog.at_level(logging.INFO, logger="meso"):
        run(runner, ENROLLED)
    row = rows(patient)["session_day"]
    assert (row.status, row.last_error, row.channel) == ("failed", "SMTP 550 5.1.1", None)
    dropped = db.session.get(Patient, patient.id)
    assert (dropped.email, dropped.email_consent_at) == (None, None)
    assert dropped.email_dropped_at is not None
    assert any("bounced" in r.getMessage() for r in caplog.records)
    assert all(ADDRESS not in r.getMessage() for r in caplog.records)
    run(runner, rome("2026-11-21T09:00"))
    assert smtp.received == [], "never tried again"
    assert rows(patient)["sun_day1"].last_error == outbox.NO_DEVICE


def test_the_worker_runs_on_smtp_alone_without_vapid(app, smtp, runner, caplog):
    app.config.update(VAPID_PRIVATE_KEY="", VAPID_SUBJECT="")
    patient = enrol()
    with caplog.at_level(logging.WARNING, logger="meso.reminders"):
        run(runner, ENROLLED)
    assert subjects(smtp) == ["Tonight: no heat, no direct sun"]
    assert rows(patient)["session_day"].channel == "email"
    assert any("reminders go by e-mail only" in r.getMessage() for r in caplog.records)


def test_without_vapid_or_smtp_the_worker_still_refuses_to_start(app, runner):
    app.config.update(VAPID_PRIVATE_KEY="", VAPID_SUBJECT="", SMTP_URL="")
    result = runner.invoke(args=["reminders", "run", "--once"])
    assert result.exit_code == 1
    assert "cannot send reminders" in result.output


def test_a_check_in_that_day_silences_the_emailed_nudge_too(patient, smtp, runner):
    from meso.models import CheckIn

    db.session.add(CheckIn(patient_id=patient.id, local_date=rome("2026-11-21T00:00").date(),
                           feeling=4, idempotency_key="k1"))
    db.session.commit()
    run(runner, rome("2026-11-21T20:00"))
    assert "How is your skin today?" not in subjects(smtp)
    assert rows(patient)["checkin_day1"].last_error == "already checked in"


def test_the_texts_are_the_push_texts(patient, smtp, runner):
    """One renderer for every face: the e-mail's subject is the rule's title."""
    run(runner, rome("2026-11-21T09:00"))
    rule = protocol.REMINDER_RULES["sun_day1"]
    assert subjects(smtp) == [str(rule.texts[tuple(rule.categories)].title)]


def test_quiet_hours_end_on_the_local_clock_across_the_spring_change(app, vapid, smtp, runner):
    """Rome moves to summer time at 02:00 on Sunday 28 March 2027: quiet hours still end at
    08:00 local time, which is 06:00 UTC that morning (07:00 UTC the day before)."""
    session = datetime(2027, 3, 25, 10, 0, tzinfo=ROME)
    with frozen(session + timedelta(hours=3)):
        patient, _ = enrol_patient(create_clinic(), first_session=session.astimezone(UTC))
        patient_email.set_at_desk(patient, ADDRESS, None, session)
        db.session.commit()
    row = rows(patient)["heat_sun_ok"]  # Saturday 27 March 10:00, useful for a day
    row.next_attempt_at = rome("2027-03-27T22:30")
    db.session.commit()
    run(runner, rome("2027-03-27T22:30"))
    assert smtp.received == []
    held = rows(patient)["heat_sun_ok"].next_attempt_at
    assert held == rome("2027-03-28T08:00") == datetime(2027, 3, 28, 6, 0, tzinfo=UTC)
    run(runner, held)
    assert len(smtp.received) == 1


def test_only_a_refused_recipient_counts_as_a_bounce():
    import smtplib

    from meso import mailer

    refused = mailer.classify(smtplib.SMTPRecipientsRefused(
        {ADDRESS: (550, b"5.1.1 no such user")}))
    assert (refused.kind, refused.bounced) == (mailer.FAILED, True)
    busy = mailer.classify(smtplib.SMTPRecipientsRefused({ADDRESS: (452, b"4.2.2 full")}))
    assert (busy.kind, busy.bounced) == (mailer.RETRY, False)
    sign_in = mailer.classify(smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"))
    assert (sign_in.kind, sign_in.bounced) == (mailer.FAILED, False)
    content = mailer.classify(smtplib.SMTPDataError(554, b"5.6.0 rejected"))
    assert (content.kind, content.bounced) == (mailer.FAILED, False)
