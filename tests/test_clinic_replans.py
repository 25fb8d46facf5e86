"""A clinic's settings change re-plans its patients' reminders in the worker, not the request:
queued by the request, done in batches under a lease, each patient once per change."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from conftest import create_clinic, enrol_patient
from helpers import frozen
from staff_helpers import post, signed_in_client

from meso import clinic_replans, courses, outbox, reminders
from meso.extensions import db
from meso.models import ClinicReplan, Course, Patient, Reminder

LEASE = timedelta(minutes=5)
SETTINGS = {
    "phone": "+39 06 9999", "heat": "72", "sun": "48", "makeup": "48", "exfoliants": "168",
    "vitamin_a": "336", "acids_peels": "336", "tanning_beds": "168", "hair_wash": "24",
    "first_weeks_days": "21", "reminder_time": "08:30", "quiet_start": "22:00",
    "quiet_end": "07:30", "photos_enabled": "y",
}


def pending(patient: Patient) -> set:
    db.session.expire_all()
    return {(row.session, row.rule, row.fire_at) for row in db.session.scalars(
        sa.select(Reminder).where(Reminder.patient_id == patient.id,
                                  Reminder.status == "pending"))}


def planned(patient: Patient) -> set:
    """What the outbox should hold under the clinic's current settings."""
    now = datetime.now(UTC)
    return {(item.session, item.rule, item.fire_at) for item in outbox.plan(patient)
            if reminders.useful(item.expires_at, now)}


def patients(clinic, count: int) -> list[Patient]:
    start = datetime.now(UTC) - timedelta(hours=3)
    made = [enrol_patient(clinic, name=f"Patient {n}", first_session=start)[0]
            for n in range(count)]
    db.session.commit()
    return made


def counting(monkeypatch) -> Counter:
    """Count the patients re-planned (courses.after_courses_change), whatever the thread."""
    seen: Counter = Counter()
    lock = threading.Lock()
    real = courses.after_courses_change

    def count(patients):
        with lock:
            seen.update(patient.id for patient in patients)
        real(patients)

    monkeypatch.setattr(courses, "after_courses_change", count)
    return seen


def drain(size: int = 2) -> int:
    batches = 0
    while clinic_replans.run_batch(datetime.now(UTC), LEASE, size):
        batches += 1
    return batches


# 03:00 in Rome, in the clinic's quiet hours: nothing re-planned is due while the worker runs
# (in the morning, a session-day reminder re-planned for 07:30 was due at once, and sent).
NIGHT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_the_settings_request_queues_the_re_plan_and_the_worker_does_it(app, fake_push,
                                                                        runner, monkeypatch):
    with frozen(NIGHT):
        clinic = create_clinic()
        admin = signed_in_client(app, clinic, "boss@clinic.example", role="admin")
        [patient] = patients(clinic, 1)
        before = pending(patient)
        seen = counting(monkeypatch)
        assert post(admin, "/staff/settings", SETTINGS).status_code == 303
        assert seen == Counter(), "the request re-plans nobody"
        assert clinic_replans.pending(clinic.id)
        assert pending(patient) == before != planned(patient), "the old plan until the worker runs"
        result = runner.invoke(args=["reminders", "run", "--once"])
        assert result.exit_code == 0, result.output
        assert seen == Counter({patient.id: 1})
        assert pending(patient) == planned(patient)
        assert not clinic_replans.pending(clinic.id)


def test_batches_re_plan_each_current_patient_once_then_the_row_goes(app, monkeypatch):
    clinic, other = create_clinic(), create_clinic("Other")
    mine = patients(clinic, 5)
    courses.archive(mine[0], None)
    patients(other, 2)
    db.session.commit()
    seen = counting(monkeypatch)
    clinic_replans.request(clinic.id)
    db.session.commit()
    assert drain(size=2) == 2  # four current patients, two at a time
    assert seen == Counter({p.id: 1 for p in mine[1:]}), "archived and other clinics: not"
    assert drain() == 0 and db.session.scalar(sa.select(sa.func.count(ClinicReplan.clinic_id))) == 0


def test_a_change_mid_pass_starts_again_from_the_first_patient(app, monkeypatch):
    clinic = create_clinic()
    first, second, third = patients(clinic, 3)
    seen = counting(monkeypatch)
    clinic_replans.request(clinic.id)
    db.session.commit()
    assert clinic_replans.run_batch(datetime.now(UTC), LEASE, 2) == 2
    clinic_replans.request(clinic.id)  # the admin saves again: the first two had old settings
    db.session.commit()
    row = db.session.get(ClinicReplan, clinic.id, populate_existing=True)
    assert (row.generation, row.after_patient_id) == (2, 0)
    drain()
    assert seen == Counter({first.id: 2, second.id: 2, third.id: 1})


def test_a_batch_overtaken_by_a_newer_change_is_rolled_back_and_its_lease_given_back(
        app, monkeypatch):
    clinic = create_clinic()
    [patient] = patients(clinic, 1)
    db.session.execute(sa.delete(Reminder))  # so a re-plan would show: it adds rows
    db.session.commit()
    clinic_replans.request(clinic.id)
    db.session.commit()
    real_claim = clinic_replans.claim

    def overtaken(now, lease):
        held = real_claim(now, lease)
        clinic_replans.request(clinic.id)  # saved while this batch works
        db.session.commit()
        return held

    monkeypatch.setattr(clinic_replans, "claim", overtaken)
    assert clinic_replans.run_batch(datetime.now(UTC), LEASE) == 0
    assert pending(patient) == set(), "nothing of the overtaken batch stands"
    row = db.session.get(ClinicReplan, clinic.id, populate_existing=True)
    assert (row.generation, row.after_patient_id, row.lease_until) == (2, 0, None)
    monkeypatch.setattr(clinic_replans, "claim", real_claim)
    assert drain() == 1 and pending(patient) == planned(patient) != set()


def test_a_batch_re_plans_as_each_patient_alone_would_in_statements_that_do_not_grow(app):
    """outbox.replan_all, as a clinic's re-plan runs it: each patient's rows as outbox.plan has
    them one patient at a time (own windows, own reminder settings, an archived patient's
    cancelled), read in as many statements for a batch of eight as for one of two."""
    from test_page_cache import statements as sent_statements

    from meso.models import ClinicSettings, ReminderSettings, WindowOverride

    batches = []
    for size in (2, 8):
        clinic = create_clinic(f"Clinic of {size}")
        group = patients(clinic, size)
        db.session.add_all([WindowOverride(patient_id=group[0].id, key="heat", hours=96),
                            ReminderSettings(patient_id=group[1].id, heat=False, sun=False)])
        db.session.add(ClinicSettings(clinic_id=clinic.id, window_hours={"sun": 72}))
        courses.archive(group[-1], None)
        db.session.commit()
        batches.append((clinic.id, group))
    reads = []
    for clinic_id, group in batches:
        loaded = db.session.scalars(sa.select(Patient).where(Patient.clinic_id == clinic_id)
                                    .options(so.selectinload(Patient.course)
                                             .selectinload(Course.sessions),
                                             so.joinedload(Patient.clinic))).all()
        with sent_statements() as statements:
            changed = outbox.replan_all(loaded)
        db.session.commit()
        assert (changed.added or changed.updated) and changed.cancelled
        reads.append(len([x for x in statements if x.lstrip().startswith("SELECT")]))
        writes = len(statements) - reads[-1]  # no more than one a changed row
        assert writes <= changed.added + changed.updated + changed.cancelled, statements
        for patient in group:
            assert pending(patient) == planned(patient), patient.name
        assert pending(group[-1]) == set(), "archived: nothing pending"
    assert reads[0] == reads[1], reads


def test_the_worker_s_batch_reads_and_stamps_calendars_once_whatever_its_size(app):
    """clinic_replans.run_batch re-plans its batch together (courses.after_courses_change):
    as many reads, and one calendar-feed update, for eight patients as for two."""
    from test_page_cache import statements

    from meso.models import CalendarFeed

    looked = []
    for size in (2, 8):
        clinic = create_clinic(f"Clinic of {size}")
        group = patients(clinic, size)
        db.session.add_all([CalendarFeed(patient_id=p.id, token_hash=f"hash-{p.id}")
                            for p in group])
        clinic_replans.request(clinic.id)
        db.session.commit()
        with statements() as seen:
            assert clinic_replans.run_batch(datetime.now(UTC), LEASE, size=10) == size
        feeds = [s for s in seen if s.lstrip().startswith("UPDATE calendar_feed")]
        assert len(feeds) == 1, feeds
        looked.append(len([s for s in seen if s.lstrip().startswith("SELECT")]))
        db.session.expire_all()
        assert {f.revision for f in db.session.scalars(sa.select(CalendarFeed).where(
            CalendarFeed.patient_id.in_([p.id for p in group])))} == {1}, "each stamped once"
    assert looked[0] == looked[1], looked


def test_a_leased_clinic_waits_for_its_lease(app):
    clinic = create_clinic()
    clinic_replans.request(clinic.id)
    db.session.commit()
    now = datetime.now(UTC)
    held = clinic_replans.claim(now, LEASE)
    assert held is not None and held.clinic_id == clinic.id
    assert clinic_replans.claim(now, LEASE) is None, "a worker holds it"
    again = clinic_replans.claim(now + LEASE + timedelta(seconds=1), LEASE)
    assert again is not None and again.clinic_id == clinic.id, "a dead worker's clinic comes back"


def test_a_request_is_one_statement_whatever_the_clinic_s_size(app):
    clinic = create_clinic()
    patients(clinic, 3)
    clinic_id = clinic.id
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        clinic_replans.request(clinic_id)
        clinic_replans.request(clinic_id)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert len(statements) == 2 and all("clinic_replan" in s for s in statements)


def test_two_workers_re_plan_each_patient_exactly_once(app, monkeypatch):
    """PostgreSQL: two workers at once (SKIP LOCKED, leases) share three clinics' patients.
    SQLite has one worker (cli_reminders.single_sqlite_worker): the same work, alone."""
    postgres = db.engine.url.get_backend_name() == "postgresql"
    clinics = [create_clinic(f"Clinic {n}") for n in range(3)]
    everyone = [p.id for clinic in clinics for p in patients(clinic, 12)]
    for clinic in clinics:
        clinic_replans.request(clinic.id)
    db.session.commit()
    seen = counting(monkeypatch)
    batches: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        with app.app_context():
            try:
                while done := clinic_replans.run_batch(datetime.now(UTC), LEASE, 5):
                    batches.append(done)
            except BaseException as exc:  # shown by the assertion below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2 if postgres else 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert seen == Counter({pid: 1 for pid in everyone}), "each patient exactly once"
    assert sum(batches) == len(everyone)
    assert db.session.scalar(sa.select(sa.func.count(ClinicReplan.clinic_id))) == 0


def test_claims_skip_each_other_on_postgresql(app):
    clinics = [create_clinic(f"Clinic {n}") for n in range(2)]
    for clinic in clinics:
        clinic_replans.request(clinic.id)
    db.session.commit()
    if db.engine.url.get_backend_name() != "postgresql":
        assert clinic_replans.claim(datetime.now(UTC), LEASE) is not None
        return
    oldest = sa.select(ClinicReplan.clinic_id).order_by(ClinicReplan.requested_at).limit(1)
    with db.engine.connect() as one, db.engine.connect() as two:
        first = one.execute(oldest.with_for_update(skip_locked=True)).scalar()
        two.execute(sa.text("SET lock_timeout = '2s'"))  # waiting for `one` would fail here
        second = two.execute(oldest.with_for_update(skip_locked=True)).scalar()
        one.rollback()
        two.rollback()
    assert {first, second} == {c.id for c in clinics}
