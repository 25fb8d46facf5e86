"""The reminder worker end to end: outbox rows, the real `reminders run` command, the fake
push service. The clock is frozen (helpers.frozen) where the local hour matters."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import create_clinic, enrol_patient, listed_push_service
from helpers import frozen, wait_until

from meso import courses, outbox
from meso.cli_reminders import single_sqlite_worker
from meso.extensions import db
from meso.models import (
    CheckIn,
    Patient,
    PushSubscription,
    Reminder,
    ReminderSettings,
    TreatmentSession,
)

ROOT = Path(__file__).resolve().parent.parent
ROME = ZoneInfo("Europe/Rome")
SESSION = datetime(2026, 11, 20, 10, 0, tzinfo=ROME)  # a Friday
ENROLLED = SESSION + timedelta(hours=3)  # the patient was enrolled three hours later


def rome(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ROME)


@pytest.fixture
def patient(app, vapid):
    with frozen(ENROLLED):
        patient, _ = enrol_patient(create_clinic(), first_session=SESSION.astimezone(UTC))
    return patient


def subscribe(patient: Patient, service) -> object:
    """Give the patient a device subscribed on the fake push service; return its client end."""
    client = service.subscription()
    keys = client.json["keys"]
    db.session.add(PushSubscription(patient_id=patient.id, endpoint=client.endpoint,
                                    p256dh=keys["p256dh"], auth=keys["auth"]))
    db.session.commit()
    return client


def run(runner, when: datetime, *options: str):
    """Run the real worker command once, at ``when``."""
    with frozen(when):
        result = runner.invoke(args=["reminders", "run", "--once", *options])
    assert result.exit_code == 0, result.output
    return result


def rows() -> dict[str, Reminder]:
    db.session.expire_all()
    return {r.rule: r for r in db.session.scalars(
        sa.select(Reminder).where(Reminder.session == 1))}


def tags(service) -> list[str]:
    """What each message was about: its notification tag (the Topic header is opaque)."""
    return [m.payload["notification"]["tag"] for m in service.messages()]


def bodies(service) -> list[str]:
    return [m.payload["notification"]["body"] for m in service.messages()]


# -- the story -------------------------------------------------------------------------------


def test_the_evening_heat_reminder_arrives_at_the_right_local_time(patient, fake_push, runner):
    """Done when: enrolled three hours after the session, reminders on, the real worker."""
    phone = subscribe(patient, fake_push)
    # 13:00: the session-day reminder (due at 12:00, useful until midnight) goes out at once.
    run(runner, ENROLLED)
    [first] = fake_push.messages()
    shown = first.payload["notification"]
    assert shown["tag"] == "session_day" and shown["title"] == "Tonight: no heat, no direct sun"
    assert "until Sun 10:00" in shown["body"]
    assert first.ttl == 11 * 3600  # until midnight, when "tonight" is over
    # Saturday 09:00 the sun, then nothing until 18:00 local time.
    run(runner, rome("2026-11-21T09:00"))
    assert tags(fake_push) == ["session_day", "sun_day1"]
    run(runner, rome("2026-11-21T17:59"))
    assert len(fake_push.messages()) == 2
    run(runner, rome("2026-11-21T18:00"))
    heat = fake_push.messages()[-1]
    assert (heat.name, heat.urgency) == (phone.name, "normal")
    title = "No sauna or hot bath tonight"
    body = ("Heat can still irritate your treated skin. Skip hot baths, the sauna, the steam "
            "room and hard workouts: they are OK again from Sun 10:00.")
    assert heat.payload == {
        # Declarative Web Push: what Safari shows by itself, and the service worker reads.
        "web_push": 8030,
        "notification": {"title": title, "body": body, "navigate": "http://localhost/today",
                         "lang": "en-GB", "dir": "ltr", "tag": "heat_day1"},
        # What service workers installed before that format read.
        "title": title, "body": body, "url": "/today", "tag": "heat_day1",
        "id": rows()["heat_day1"].id,
        "icon": "/static/icons/icon-192.png", "badge": "/static/icons/icon-192.png",
    }
    assert heat.ttl == 3 * 3600  # pointless after 21:00
    assert rows()["heat_day1"].status == "sent"
    run(runner, rome("2026-11-21T18:30"))
    assert len(fake_push.messages()) == 3, "never twice"


def test_a_worker_down_for_twenty_minutes_sends_at_once(patient, fake_push, runner):
    subscribe(patient, fake_push)
    run(runner, rome("2026-11-21T18:20"))
    assert tags(fake_push) == ["heat_day1"]
    assert fake_push.messages()[0].ttl == 2 * 3600 + 40 * 60
    assert rows()["sun_day1"].status == "skipped"  # 09:00 sun, pointless after 15:00


def test_a_worker_down_for_a_day_skips_what_is_no_longer_true(patient, fake_push, runner):
    subscribe(patient, fake_push)
    run(runner, rome("2026-11-22T12:00"))  # Sunday noon: heat and sun are fine again
    assert tags(fake_push) == ["heat_sun_ok"]
    status = {rule: (r.status, r.last_error) for rule, r in rows().items()}
    for rule in ("session_day", "sun_day1", "heat_day1", "checkin_day1"):
        assert status[rule] == ("skipped", "pointless by the time it was due"), rule


def test_discreet_mode_keeps_treatment_words_off_the_lock_screen(patient, fake_push, runner):
    subscribe(patient, fake_push)
    db.session.add(ReminderSettings(patient_id=patient.id, discreet=True, morning=clock(9),
                                    quiet_start=clock(21), quiet_end=clock(8)))
    db.session.commit()
    run(runner, rome("2026-11-21T18:00"))
    sent = fake_push.messages()[-1].payload
    for heat in (sent["notification"], sent):  # the declarative fields, and the flat ones
        assert heat["title"] == "Reminder"
        assert heat["body"].startswith("Skip hot baths") and "skin" not in heat["body"]


# -- outcomes --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_deleted(patient, fake_push, runner, caplog, status):
    phone = subscribe(patient, fake_push)
    fake_push.answer(phone, status)
    with caplog.at_level(logging.INFO, logger="meso.reminders"):
        run(runner, ENROLLED)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PushSubscription)) == 0
    assert (rows()["session_day"].status, rows()["session_day"].last_error) == (
        "skipped", outbox.NO_DEVICE)
    assert "pruned=1" in caplog.text


def test_429_honours_retry_after_then_sends_with_the_same_topic(patient, fake_push, runner):
    phone = subscribe(patient, fake_push)
    fake_push.answer(phone, 429, Retry_After="600")
    run(runner, ENROLLED)
    row = rows()["session_day"]
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == ENROLLED + timedelta(seconds=600)
    assert row.last_error.startswith("HTTP 429")
    run(runner, ENROLLED + timedelta(seconds=599))
    assert fake_push.messages() == []
    run(runner, ENROLLED + timedelta(seconds=600))
    [sent] = fake_push.messages()
    assert sent.payload["notification"]["tag"] == "session_day"
    assert rows()["session_day"].status == "sent"
    [refused] = fake_push.messages(status=429)
    assert refused.topic == sent.topic, "a re-send keeps its Topic"


def test_server_errors_back_off_exponentially_then_fail(patient, fake_push, runner):
    phone = subscribe(patient, fake_push)
    fake_push.answer(phone, 500, times=outbox.MAX_ATTEMPTS)
    when, waits = ENROLLED, []
    for _ in range(outbox.MAX_ATTEMPTS):
        run(runner, when)
        row = rows()["session_day"]
        if row.status != "pending":
            break
        waits.append(row.next_attempt_at - when)
        when = row.next_attempt_at
    assert waits == [timedelta(seconds=30 * 2 ** n) for n in range(outbox.MAX_ATTEMPTS - 1)]
    assert (row.status, row.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert row.last_error.startswith(f"gave up after {outbox.MAX_ATTEMPTS} attempts: HTTP 500")


def test_a_hung_push_service_times_out_and_is_retried(app, patient, fake_push, runner):
    app.config["MESO_PUSH_DEADLINE"] = 0.5
    phone = subscribe(patient, fake_push)
    fake_push.hang(phone)
    run(runner, ENROLLED)
    row = rows()["session_day"]
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "timed out")
    run(runner, row.next_attempt_at)
    assert tags(fake_push) == ["session_day"]


def test_one_slow_push_service_does_not_hold_the_batch(app, patient, fake_push, runner):
    """A service trickling its answer is cut at the deadline; the next patient still gets theirs."""
    app.config["MESO_PUSH_DEADLINE"] = 1
    slow = subscribe(patient, fake_push)
    with frozen(ENROLLED):
        other, _ = enrol_patient(create_clinic("Other"), name="Paola Verdi",
                                 first_session=SESSION.astimezone(UTC))
    fine = subscribe(other, fake_push)
    fake_push.trickle(slow)
    started = time.monotonic()
    run(runner, ENROLLED, "--concurrency", "1")
    took = time.monotonic() - started
    assert took < 8, f"the batch took {took:.1f} s: the trickle (15 s) was waited for"
    assert [m.name for m in fake_push.messages()] == [fine.name]
    db.session.expire_all()
    slow_row, fine_row = (db.session.scalar(sa.select(Reminder).where(
        Reminder.patient_id == p.id, Reminder.rule == "session_day")) for p in (patient, other))
    assert (slow_row.status, slow_row.last_error) == ("pending", "timed out")
    assert fine_row.status == "sent"


def test_a_redirect_fails_the_send_and_the_log_names_no_endpoint(patient, fake_push, runner,
                                                                 caplog):
    phone, elsewhere = subscribe(patient, fake_push), fake_push.subscription()
    fake_push.answer(phone, 307, Location=elsewhere.endpoint)
    with caplog.at_level(logging.INFO, logger="meso.reminders"):
        run(runner, ENROLLED)
    row = rows()["session_day"]
    assert (row.status, row.last_error) == (
        "failed", "HTTP 307 Temporary Redirect (redirects are not followed)")
    assert "HTTP 307" in caplog.text and "failed=1" in caplog.text
    assert "/push/" not in caplog.text and "127.0.0.1" not in caplog.text
    assert fake_push.messages(elsewhere.name, status=None) == []


def test_the_worker_deletes_subscriptions_outside_the_list(app, patient, fake_push, runner,
                                                          caplog):
    listed = subscribe(patient, fake_push)
    keys = listed.json["keys"]
    for endpoint in ("https://push.evil.example/x", "http://127.0.0.1:9/push/x",
                     "http://localhost:8080/push/x"):
        db.session.add(PushSubscription(patient_id=patient.id, endpoint=endpoint,
                                        p256dh=keys["p256dh"], auth=keys["auth"]))
    db.session.commit()
    with caplog.at_level(logging.INFO, logger="meso.reminders"):
        run(runner, ENROLLED)
    assert "pruned=3" in caplog.text
    assert [m.name for m in fake_push.messages()] == [listed.name]
    db.session.expire_all()
    assert db.session.scalars(sa.select(PushSubscription.endpoint)).all() == [listed.endpoint]
    # The list narrowed (the fake is no longer listed): its subscription goes too, unsent.
    app.config["MESO_PUSH_SERVICES"] = "https://fcm.googleapis.com"
    run(runner, rome("2026-11-21T09:00"))
    assert len(fake_push.messages()) == 1
    db.session.expire_all()
    assert db.session.scalars(sa.select(PushSubscription)).all() == []
    assert (rows()["sun_day1"].status, rows()["sun_day1"].last_error) == (
        "skipped", outbox.NO_DEVICE)


def test_the_topic_is_opaque_and_differs_between_courses(patient, fake_push, runner):
    """Nothing about the treatment in the Topic: a keyed digest of the rule and the course."""
    subscribe(patient, fake_push)
    with frozen(ENROLLED):
        other, _ = enrol_patient(create_clinic("Other"), name="Paola Verdi",
                                 first_session=SESSION.astimezone(UTC))
    subscribe(other, fake_push)
    run(runner, ENROLLED)
    first, second = fake_push.messages()
    assert first.payload["notification"]["tag"] == second.payload["notification"]["tag"] == (
        "session_day")  # encrypted
    assert first.topic != second.topic
    for topic in (first.topic, second.topic):
        assert len(topic) == 32 and "session" not in topic.lower()


def test_other_refusals_fail_and_are_logged_without_the_payload(patient, fake_push, runner,
                                                                 caplog):
    phone = subscribe(patient, fake_push)
    fake_push.answer(phone, 400)
    with caplog.at_level(logging.INFO, logger="meso.reminders"):
        run(runner, ENROLLED)
    row = rows()["session_day"]
    assert (row.status, row.last_error) == ("failed", "HTTP 400 Bad Request")
    assert "HTTP 400" in caplog.text and "failed=1" in caplog.text
    assert "sauna" not in caplog.text and "Tonight" not in caplog.text


def test_a_retry_that_would_come_too_late_gives_up(patient, fake_push, runner):
    phone = subscribe(patient, fake_push)
    fake_push.answer(phone, 503, Retry_After=str(12 * 3600))  # past midnight: pointless
    run(runner, ENROLLED)
    row = rows()["session_day"]
    assert row.status == "failed" and row.last_error.startswith("pointless by the next try")


def test_a_bug_while_sending_costs_one_message_not_the_batch(patient, fake_push, runner,
                                                             monkeypatch, caplog):
    subscribe(patient, fake_push)
    calls = []

    def broken_then_fine(self, subscription, message):
        calls.append(message.topic)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return original(self, subscription, message)

    from meso import push

    original = push.Pusher.seal  # the worker's sends encrypt and sign each message here
    monkeypatch.setattr(push.Pusher, "seal", broken_then_fine)
    with caplog.at_level(logging.INFO, logger="meso.reminders"):
        run(runner, rome("2026-11-22T12:00"), "--concurrency", "1")
    assert (rows()["session_day"].status, rows()["session_day"].last_error) == (
        "skipped", "pointless by the time it was due")
    assert rows()["heat_sun_ok"].status == "failed"
    assert rows()["heat_sun_ok"].last_error == "unexpected RuntimeError"
    assert "sending raised RuntimeError" in caplog.text


def test_one_device_that_got_it_is_enough(patient, fake_push, runner):
    broken, working = subscribe(patient, fake_push), subscribe(patient, fake_push)
    fake_push.answer(broken, 500)
    run(runner, ENROLLED)
    assert [m.name for m in fake_push.messages()] == [working.name]
    assert rows()["session_day"].status == "sent"


def test_no_device_then_a_subscription_brings_what_is_still_useful(patient, fake_push, runner):
    run(runner, ENROLLED)
    assert (rows()["session_day"].status, rows()["session_day"].last_error) == (
        "skipped", outbox.NO_DEVICE)
    subscribe(patient, fake_push)
    with frozen(ENROLLED + timedelta(minutes=5)):
        outbox.rearm(db.session.get(Patient, patient.id))
        db.session.commit()
    run(runner, ENROLLED + timedelta(minutes=5))
    assert tags(fake_push) == ["session_day"]


def test_a_check_in_that_day_silences_the_nudge(patient, fake_push, runner):
    subscribe(patient, fake_push)
    db.session.add(CheckIn(patient_id=patient.id, local_date=rome("2026-11-21T00:00").date(),
                           feeling=4, idempotency_key="k1"))
    db.session.commit()
    run(runner, rome("2026-11-21T20:00"))
    assert "checkin_day1" not in tags(fake_push)
    assert (rows()["checkin_day1"].status, rows()["checkin_day1"].last_error) == (
        "skipped", "already checked in")


def test_a_batch_s_check_in_nudges_ask_for_their_days_in_one_query(app, vapid):
    """Which nudged days were checked in is read once for the batch, not once a row; only a
    check-in on the nudge's own local day silences it, not one on a day that another
    patient's nudge in the batch asks about."""
    from test_page_cache import statements

    from meso import checkins, worker

    clinic = create_clinic()
    with frozen(ENROLLED):
        anna, bea, carla = (
            enrol_patient(clinic, name=name, first_session=SESSION.astimezone(UTC))[0]
            for name in ("Anna", "Bea", "Carla"))
    # Anna and Bea checked in on the 21st; Anna's nudge asks about it, Bea's about the 22nd.
    for who, key in ((anna, "a"), (bea, "b")):
        db.session.add(CheckIn(patient_id=who.id, local_date=rome("2026-11-21T00:00").date(),
                               feeling=4, idempotency_key=key))
    db.session.commit()
    asked = {anna.id: "checkin_day1", bea.id: "checkin_day2", carla.id: "checkin_day1"}
    nudges = {row.patient_id: row for row in db.session.scalars(
        sa.select(Reminder).where(Reminder.rule.in_(set(asked.values()))))
        if row.rule == asked[row.patient_id]}
    assert len(nudges) == 3
    assert {row.fire_at.astimezone(ROME).day for row in nudges.values()} == {21, 22}
    when = rome("2026-11-21T20:00")  # Bea's is not due yet: prepare decides whatever it is given
    with frozen(when), statements() as seen:
        jobs, _ = worker.prepare(sorted(row.id for row in nudges.values()), None, when)
    reasons = {job.id: (job.decision or {}).get("last_error") for job in jobs}
    assert reasons[nudges[anna.id].id] == "already checked in"
    assert reasons[nudges[bea.id].id] == reasons[nudges[carla.id].id] == outbox.NO_DEVICE
    assert len([s for s in seen if "FROM check_in" in s]) == 1
    # Of the pairs it is asked about, only those checked in: not Bea's check-in on the 21st.
    day1, day2 = (rome(f"2026-11-{n}T00:00").date() for n in (21, 22))
    assert checkins.checked_in_days({(anna.id, day1), (bea.id, day2)}) == {(anna.id, day1)}


def test_a_category_switched_off_is_not_sent_even_if_still_queued(patient, fake_push, runner):
    subscribe(patient, fake_push)
    db.session.add(ReminderSettings(patient_id=patient.id, heat=False, sun=False,
                                    morning=clock(9), quiet_start=clock(21), quiet_end=clock(8)))
    db.session.commit()  # no re-plan: the worker checks again before sending
    run(runner, rome("2026-11-21T18:00"))
    assert fake_push.messages() == []
    assert rows()["heat_day1"].status == "cancelled"


def test_quiet_hours_hold_back_a_retry_until_they_end(patient, fake_push, runner):
    subscribe(patient, fake_push)
    row = rows()["heat_sun_ok"]  # Sunday 10:00, useful for a day
    row.next_attempt_at = rome("2026-11-22T22:30")  # a retry landing in the quiet hours
    db.session.commit()
    run(runner, rome("2026-11-22T22:30"))
    assert fake_push.messages() == []
    assert rows()["heat_sun_ok"].next_attempt_at == rome("2026-11-23T08:00")
    run(runner, rome("2026-11-23T08:00"))
    assert tags(fake_push) == ["heat_sun_ok"]


def test_one_log_line_per_batch(patient, fake_push, runner, caplog):
    subscribe(patient, fake_push)
    with caplog.at_level(logging.INFO, logger="meso.reminders"):
        run(runner, rome("2026-11-22T12:00"), "--batch", "2")
    lines = [r.getMessage() for r in caplog.records if "reminders batch:" in r.getMessage()]
    assert len(lines) == 3  # 5 due rows in batches of 2
    assert lines[0].startswith("reminders batch: claimed=2 sent=0 retried=0 failed=0 "
                               "pruned=0 skipped=2")


# -- configuration ---------------------------------------------------------------------------


def test_the_worker_refuses_to_start_without_a_vapid_subject(app, patient, runner):
    app.config["VAPID_SUBJECT"] = ""
    result = runner.invoke(args=["reminders", "run", "--once"])
    assert result.exit_code == 1
    assert "VAPID_SUBJECT is not set" in result.output and "mailto:" in result.output


def test_the_worker_refuses_to_start_without_the_public_address(app, patient, runner):
    """Every push names the page a tap opens as an absolute address on MESO_BASE_URL."""
    app.config.update(MESO_BASE_URL="", TESTING=False)  # tests otherwise get a local default
    result = runner.invoke(args=["reminders", "run", "--once"])
    assert result.exit_code == 1
    assert "cannot send reminders: MESO_BASE_URL is not set" in result.output
    assert rows()["session_day"].status == "pending"


def test_the_worker_refuses_a_public_key_that_is_not_the_pair(app, patient, runner):
    app.config["VAPID_PUBLIC_KEY"] = "B" + "A" * 86
    result = runner.invoke(args=["reminders", "run", "--once"])
    assert result.exit_code == 1 and "not the pair" in result.output


# -- re-planning -----------------------------------------------------------------------------


def test_re_planning_moves_pending_rows_and_never_duplicates(patient):
    with frozen(ENROLLED):
        before = rows()
        p = db.session.get(Patient, patient.id)
        courses.after_course_change(p)
        db.session.commit()
        assert {r: x.id for r, x in rows().items()} == {r: x.id for r, x in before.items()}
        # The session is corrected to 11:00: every pending reminder follows, in place.
        session = db.session.scalar(sa.select(TreatmentSession))
        courses.move_session(p, session, rome("2026-11-20T11:00").astimezone(UTC), None)
        db.session.commit()
    after = rows()
    assert after["session_day"].id == before["session_day"].id
    assert after["session_day"].fire_at == rome("2026-11-20T13:00")
    assert after["heat_sun_ok"].fire_at == rome("2026-11-22T11:00")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reminder)) == len(
        set(db.session.execute(sa.select(Reminder.session, Reminder.rule)).all()))


def test_a_recorded_session_plans_its_reminders_and_ends_the_old_windows(patient):
    with frozen(rome("2026-11-25T09:00")):
        p = db.session.get(Patient, patient.id)
        courses.record_session(p, rome("2026-11-27T10:00").astimezone(UTC), None)
        db.session.commit()
    db.session.expire_all()
    got = {(r.session, r.rule): r.status for r in db.session.scalars(sa.select(Reminder))}
    assert got[(1, "exfoliants_ok")] == "cancelled"  # day 7 is session 2's day 0 now
    assert got[(2, "session_tomorrow")] == "pending"
    assert got[(2, "session_day")] == "pending"


def test_a_sent_reminder_is_news_again_when_its_session_moves(patient, fake_push, runner):
    subscribe(patient, fake_push)
    with frozen(rome("2026-11-21T08:00")):
        p = db.session.get(Patient, patient.id)
        row = rows()["sun_day1"]
        row.status, row.sent_at = "sent", rome("2026-11-21T07:00")
        courses.after_course_change(p)  # nothing moved: history stays
        db.session.commit()
        assert rows()["sun_day1"].status == "sent"
        session = db.session.scalar(sa.select(TreatmentSession))
        courses.move_session(p, session, rome("2026-11-20T16:00").astimezone(UTC), None)
        db.session.commit()
    assert rows()["sun_day1"].status == "pending"


# -- processes: kill -9, SIGTERM, two workers ------------------------------------------------


def worker_process(app, *options: str) -> subprocess.Popen:
    """Start `flask --app app reminders run` as its own process on the test database."""
    env = {**os.environ,
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "SECRET_KEY": "test-secret-key",
           "VAPID_PRIVATE_KEY": app.config["VAPID_PRIVATE_KEY"],
           "VAPID_SUBJECT": app.config["VAPID_SUBJECT"],
           "MESO_BASE_URL": app.config["MESO_BASE_URL"],
           "MESO_PUSH_SERVICES": app.config["MESO_PUSH_SERVICES"]}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "reminders", "run", *options],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def due_now(service, count: int, per_patient: int = 20) -> list[int]:
    """Insert ``count`` reminders due now, for patients awake now (quiet hours far away)."""
    clinic = create_clinic("Load Clinic")
    now = datetime.now(UTC)
    awake = (now.astimezone(ROME) + timedelta(hours=10)).time().replace(minute=0, second=0,
                                                                          microsecond=0)
    ids = []
    for start in range(0, count, per_patient):
        patient, _ = enrol_patient(clinic, name=f"Patient {start}",
                                   first_session=now + timedelta(days=300))
        db.session.add(ReminderSettings(
            patient_id=patient.id, morning=clock(12), quiet_start=awake,
            quiet_end=(datetime.combine(now.date(), awake) + timedelta(hours=1)).time()))
        subscribe(patient, service)
        batch = [Reminder(patient_id=patient.id, session=100 + n, rule="heat_day1",
                          category="heat", anchor_at=now, fire_at=now - timedelta(minutes=1),
                          expires_at=now + timedelta(hours=6), topic="heat_day1",
                          next_attempt_at=now - timedelta(minutes=1))
                 for n in range(min(per_patient, count - start))]
        db.session.add_all(batch)
        db.session.commit()
        ids += [r.id for r in batch]
    return ids


def delivered_ids(service) -> list[int]:
    return [m.payload["id"] for m in service.messages()]


def statuses(ids) -> dict[str, int]:
    db.session.expire_all()
    found = db.session.execute(sa.select(Reminder.status, sa.func.count()).where(
        Reminder.id.in_(ids)).group_by(Reminder.status)).all()
    return dict(found)


def test_kill_9_mid_batch_loses_nothing_and_a_resend_keeps_its_topic(app, vapid, runner):
    with listed_push_service(app, vapid, delay=0.2) as service:
        ids = due_now(service, 10, per_patient=10)
        worker = worker_process(app, "--batch", "10", "--concurrency", "1", "--lease", "3")
        try:
            wait_until(lambda: len(service.received) >= 3, 60, "three messages")
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.communicate(timeout=10)
        assert worker.returncode == -signal.SIGKILL
        counts = statuses(ids)
        assert 0 < counts.get("pending", 0) < 10, counts  # killed mid-batch, rows leased
        # A second worker at once finds them leased; after the lease it sends the rest.
        runner.invoke(args=["reminders", "run", "--once"])
        assert statuses(ids).get("pending", 0) == counts["pending"]
        run(runner, datetime.now(UTC) + timedelta(seconds=4))  # the 3 s lease is over
        assert statuses(ids) == {"sent": 10}
        got = delivered_ids(service)
        assert set(got) == set(ids), "nothing lost"
        resent = {i for i in got if got.count(i) > 1}
        # With --concurrency 1, at the kill one message can be in flight while the one before
        # it is answered but not yet recorded: at most those two are sent twice.
        assert len(resent) <= 2, "at most the messages in flight are sent twice"
        topics = {i: {m.topic for m in service.messages() if m.payload["id"] == i} for i in got}
        assert all(len(seen) == 1 for seen in topics.values()), "a re-send keeps its Topic"
        assert service.errors == []


def test_sigterm_finishes_the_batch_then_exits(app, vapid):
    """SIGTERM: what the worker has claimed is sent and recorded, then it exits; nothing
    more is claimed. It claims a batch ahead while one goes out (worker.InFlight), so that
    is a whole batch or two here, never a row left leased or sent twice."""
    with listed_push_service(app, vapid, delay=0.2) as service:
        ids = due_now(service, 20, per_patient=20)
        worker = worker_process(app, "--batch", "5", "--concurrency", "1")
        wait_until(lambda: len(service.received) >= 1, 60, "the first message")
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
        assert "reminders batch: claimed=5 " in err
        counts = statuses(ids)
        # Whole batches (a signal racing the next claim may see one more), not all 20.
        assert counts["sent"] in (5, 10, 15), counts
        assert counts == {"sent": counts["sent"], "pending": 20 - counts["sent"]}
        assert f"reminder worker stopped: sent={counts['sent']} retried=0 failed=0" in err
        db.session.expire_all()
        assert db.session.scalar(sa.select(sa.func.count()).where(
            Reminder.id.in_(ids), Reminder.lease_until.is_not(None))) == 0
        assert sorted(delivered_ids(service)) == sorted(
            r.id for r in db.session.scalars(sa.select(Reminder).where(
                Reminder.id.in_(ids), Reminder.status == "sent")))


def claims_skip_each_other(now: datetime) -> None:
    """Two claims at once on PostgreSQL: the second skips the rows the first has locked."""
    with db.engine.connect() as one, db.engine.connect() as two:
        first = outbox.lock_due(one, now, 100)  # its transaction stays open
        two.execute(sa.text("SET lock_timeout = '2s'"))  # waiting for `one` would fail here
        second = outbox.lock_due(two, now, 100)
        one.rollback()
        two.rollback()
    assert len(first) == len(second) == 100 and not set(first) & set(second)


def test_a_claim_leases_at_most_its_batch(app, vapid):
    with listed_push_service(app, vapid) as service:
        ids = due_now(service, 30, per_patient=30)
    now = datetime.now(UTC)
    claimed, token = outbox.claim_due(now, 10, timedelta(seconds=60))
    assert claimed == sorted(ids)[:10] and token == now + timedelta(seconds=60)
    again, _ = outbox.claim_due(now, 100, timedelta(seconds=60))
    assert again == sorted(ids)[10:], "leased rows are not claimed again"
    assert outbox.claim_due(now, 100, timedelta(seconds=60))[0] == []
    later, _ = outbox.claim_due(now + timedelta(seconds=61), 5, timedelta(seconds=60))
    assert later == sorted(ids)[:5], "after the lease, rows are free again"


def test_two_workers_on_2000_due_reminders_send_each_exactly_once(app, vapid):
    """PostgreSQL: two processes share the work (SKIP LOCKED). SQLite: the second refuses."""
    postgres = db.engine.url.get_backend_name() == "postgresql"
    with listed_push_service(app, vapid) as service:
        ids = due_now(service, 2000, per_patient=50)
        if postgres:
            claims_skip_each_other(datetime.now(UTC))
            options = ("--once", "--batch", "50", "--concurrency", "4")
            workers = [worker_process(app, *options) for _ in range(2)]
            logs = [w.communicate(timeout=300)[1] for w in workers]
            assert [w.returncode for w in workers] == [0, 0], logs
            for log in logs:  # both did part of the work
                assert "sent=0 retried" not in log.splitlines()[-1], log
        else:
            first = worker_process(app, "--batch", "50", "--concurrency", "4", "--poll", "0.2")
            wait_until(lambda: len(service.received) >= 1, 60, "the first worker to send")
            second = worker_process(app, "--once")
            _, refusal = second.communicate(timeout=60)
            assert second.returncode == 1
            assert "another reminder worker is already running" in refusal
            wait_until(lambda: len(service.received) >= 2000, 300, "2,000 messages")
            wait_until(lambda: statuses(ids) == {"sent": 2000}, 60, "every row recorded")
            first.send_signal(signal.SIGTERM)
            _, log = first.communicate(timeout=30)
            assert first.returncode == 0, log
        got = delivered_ids(service)
        assert len(got) == 2000 and set(got) == set(ids), "each exactly once"
        assert statuses(ids) == {"sent": 2000}
        assert service.errors == []


def test_the_sqlite_lock_is_held_only_while_a_worker_runs(app):
    if db.engine.url.get_backend_name() != "sqlite":
        with single_sqlite_worker(), single_sqlite_worker():
            return  # no lock on PostgreSQL: any number of workers
    import click

    with (single_sqlite_worker(),
          pytest.raises(click.ClickException, match="SQLite supports one worker"),
          single_sqlite_worker()):
        pass
    with single_sqlite_worker():
        pass  # released when the first one stopped


def test_a_lease_shorter_than_a_slow_batch_is_warned_about(patient, vapid, runner, caplog):
    with caplog.at_level(logging.INFO, logger="meso.reminders"):
        result = runner.invoke(args=["reminders", "run", "--once", "--batch", "40",
                                     "--concurrency", "2", "--lease", "30"])
    assert result.exit_code == 0, result.output
    assert "--lease 30s is shorter than a batch of hung push services" in caplog.text


def test_the_lease_warning_counts_the_previous_batch(patient, vapid, runner, caplog):
    """A row may wait behind the previous batch (sent while it was prepared), then its own:
    batch 40 and concurrency 4 at 10 s a hung send is 200 s, not 100 s."""
    for lease, warned in (("150", True), ("200", False)):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="meso.reminders"):
            result = runner.invoke(args=["reminders", "run", "--once", "--batch", "40",
                                         "--concurrency", "4", "--lease", lease])
        assert result.exit_code == 0, result.output
        assert ("(200s)" in caplog.text) is warned, caplog.text


def test_the_next_batch_is_prepared_while_one_goes_out(app, vapid):
    """worker.InFlight: a full batch returns with its sends still on their way, the next
    batch is claimed meanwhile (those rows stay leased, never claimed twice), and in the end
    every message is sent and recorded once."""
    from concurrent.futures import ThreadPoolExecutor

    from meso import push, push_http, worker

    with listed_push_service(app, vapid, delay=0.2) as service:
        ids = due_now(service, 12, per_patient=12)
        pusher = push.pusher_for(app)
        flight = worker.InFlight()
        lease = timedelta(minutes=5)
        with ThreadPoolExecutor(2) as pool, push_http.Sender(2) as sends:
            first = worker.run_batch(pusher, pool, 6, lease, datetime.now(UTC), None, sends,
                                     flight)
            assert first.claimed == 6
            assert 1 <= len(flight.jobs) <= 6, "a batch at most is left on its way"
            second = worker.run_batch(pusher, pool, 6, lease, datetime.now(UTC), None, sends,
                                      flight)
            assert second.claimed == 6  # the other six: none of those on their way
            assert len(flight.jobs) <= 6
            worker.record_answers(flight, 0, 6, second)  # as run() does when it stops
            assert flight.jobs == {}
        assert first.sent + second.sent == 12
        assert statuses(ids) == {"sent": 12}
        assert sorted(delivered_ids(service)) == sorted(ids)
        db.session.expire_all()
        assert db.session.scalar(sa.select(sa.func.count()).where(
            Reminder.id.in_(ids), Reminder.lease_until.is_not(None))) == 0


def outcome_writes(seen: list[str]) -> list[str]:
    """The statements that wrote an outcome to reminder rows (a claim writes only its lease)."""
    return [s for s in seen if s.lstrip().startswith("UPDATE reminder") and "status=" in s]


def test_alike_outcomes_are_one_statement_and_only_where_the_lease_holds(app, vapid):
    """outbox.record_many: the rows given the same values share one UPDATE … WHERE id IN (a
    statement per row was most of a batch's database time); a row whose lease has passed to
    another claim is left to it."""
    with listed_push_service(app, vapid) as service:
        due_now(service, 6, per_patient=6)
    now = datetime.now(UTC)
    claimed, token = outbox.claim_due(now, 6, timedelta(minutes=5))
    taken = claimed[-1]  # leased again by another worker since
    db.session.execute(sa.update(Reminder).where(Reminder.id == taken).values(
        lease_until=token + timedelta(seconds=1)))
    db.session.commit()
    outcomes = [(row_id, outbox.sent(now, 1)) for row_id in claimed[:4]]
    outcomes += [(claimed[4], outbox.closed("failed", "HTTP 400 Bad Request", now, 1)),
                 (taken, outbox.sent(now, 1))]
    seen: list[tuple[str, bool]] = []

    def sent(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, executemany))

    sa.event.listen(db.engine, "before_cursor_execute", sent)
    try:
        outbox.record_many(token, outcomes)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", sent)
    db.session.commit()
    # The sent ones, then the failed one: one execution each, not one per row.
    assert len(outcome_writes([s for s, _ in seen])) == 2
    assert not any(many for _, many in seen)
    assert statuses(claimed[:4]) == {"sent": 4}
    assert statuses([claimed[4]]) == {"failed": 1}
    assert statuses([taken]) == {"pending": 1}, "another worker's lease is not written over"


def test_answers_arriving_apart_are_written_together(app, vapid, monkeypatch):
    """Answers that come a few at a time wait for the rest of those due (at most
    worker.GATHER) and are written in one statement, not one write per arrival; the batch
    returns as soon as the last is in."""
    from concurrent.futures import ThreadPoolExecutor

    from test_page_cache import statements

    from meso import push, push_http, worker

    monkeypatch.setattr(worker, "GATHER", 30.0)
    # Two at a time, 0.1 s each: the answers arrive in three pairs.
    with listed_push_service(app, vapid, delay=0.1) as service:
        ids = due_now(service, 6, per_patient=6)
        with (ThreadPoolExecutor(2) as pool, push_http.Sender(2) as sends,
              statements() as seen):
            started = time.monotonic()
            stats = worker.run_batch(push.pusher_for(app), pool, 6, timedelta(minutes=5),
                                     datetime.now(UTC), None, sends)
            took = time.monotonic() - started
    assert stats.sent == 6 and statuses(ids) == {"sent": 6}
    assert len(outcome_writes(seen)) == 1
    assert took < 20, "it returned once every answer was in, not after GATHER"


def test_clinics_to_re_plan_are_looked_for_between_full_batches_and_before_stopping(
        app, vapid, monkeypatch):
    """A look for clinic re-plans every batch was a tenth of a busy batch's statements:
    while batches are full it comes every REPLAN_LOOK seconds, and always once more before
    the worker waits or stops, so --once never leaves a re-plan behind."""
    from meso import worker

    looks, batches = [], []

    def replan(size, lease, now):
        looks.append(len(batches))
        return 0

    def full_then_empty(pusher, pool, size, lease, now, sender, sends, flight):
        batches.append(now)
        return worker.BatchStats(claimed=size if len(batches) <= 5 else 0)

    monkeypatch.setattr(worker, "_replan_batch", replan)
    monkeypatch.setattr(worker, "run_batch", full_then_empty)
    for every, expected in ((3600.0, [0, 6]), (0.0, [0, 1, 2, 3, 4, 5])):
        looks.clear()
        batches.clear()
        monkeypatch.setattr(worker, "REPLAN_LOOK", every)
        worker.run(True, 10, 2, timedelta(minutes=5), 0.1, should_stop=lambda: False,
                   now=lambda: datetime.now(UTC))
        # Five full batches, then an empty one: with a long REPLAN_LOOK, a look before the
        # first batch, and one more before stopping (that empty batch is claimed again).
        assert looks == expected, (every, looks)


def test_an_idle_worker_settles_roster_rows_due_for_review(app, vapid, monkeypatch):
    """When nothing is due the worker settles the roster's rows due for review (all of them
    after the migration that added them), a chunk at a time, and not under --once."""
    from meso import attention_watch, worker
    from meso.models import Patient

    clinic = create_clinic()
    for name in ("Anna", "Bea", "Carla"):
        enrol_patient(clinic, name=name)
    monkeypatch.setattr(attention_watch, "CHUNK", 2)

    def due() -> int:
        db.session.expire_all()
        return db.session.scalar(sa.select(sa.func.count()).select_from(Patient).where(
            Patient.attention_review_at <= datetime.now(UTC))) or 0

    assert due() == 3
    worker.run(True, 10, 2, timedelta(minutes=5), 0.01, should_stop=lambda: False,
               now=lambda: datetime.now(UTC))
    assert due() == 3  # --once sends what is due and stops
    waits: list[float] = []
    worker.run(False, 10, 2, timedelta(minutes=5), 0.01, should_stop=lambda: bool(waits),
               now=lambda: datetime.now(UTC), sleep=waits.append)
    assert due() == 0  # a chunk of two, then the last one, before the first wait
    assert waits == [0.01]
