"""Today and the Timeline rendered once per change (meso/page_cache.py): a kept page is served
for as long as nothing it shows changed, and never after. Every kind of write and the passing
of time bring the page a fresh render would give."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta

import pytest
import redis
import sqlalchemy as sa
from conftest import create_clinic, create_staff, enrol_patient, open_invite
from helpers import frozen, page_html
from photo_helpers import jpeg
from sqlalchemy import event

from meso import access, clinics, courses, create_app, outbox, page_cache, photo_store, push
from meso import subscriptions as subs
from meso.extensions import db
from meso.models import CheckIn, ClinicSettings, OutboundEmail, PatientDevice, ReminderSettings
from meso.patient import pages

SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, 5, tzinfo=UTC)  # 13:05 in Rome, three hours on
PAGES = ["/today", "/timeline"]
REDIS_URL = "redis://127.0.0.1:6379/14"


@contextmanager
def statements(engine=None):
    """The SQL statements sent while the block runs (on this app's engine, or ``engine``)."""
    engine = engine or db.engine
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def clinic(app):
    clinic = create_clinic()
    create_staff(clinic, role="admin")
    return clinic


@pytest.fixture
def patient_phone(app, clinic):
    patient, token = enrol_patient(clinic, first_session=SESSION)
    phone = app.test_client()
    assert open_invite(phone, token).status_code == 303
    return patient, phone


@contextmanager
def fresh_app(app, **config):
    """The same deployment with nothing kept: what a page is when rendered now. (Its
    connections are closed at the end: PostgreSQL's would otherwise linger.)"""
    other = create_app({**app.config, "MESO_PAGE_CACHE_ENTRIES": 0, **config},
                       instance_path=app.instance_path)
    try:
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def shown(response) -> str:
    """The page without this response's own values (CSRF token, fresh keys)."""
    html = page_html(response)
    for tag in html.select('meta[name="csrf-token"], input[name="csrf_token"], '
                           'input[name="key"]'):
        tag.decompose()
    return str(html)


def as_rendered_now(app, phone, path):
    """The page as served (kept or not) and as a render with nothing kept would give it."""
    served = phone.get(path)
    with fresh_app(app) as other:
        again = other.test_client()
        again._cookies = phone._cookies  # the same phone: its device cookie and session
        return shown(served), shown(again.get(path))


# -- kept, and cheap --------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_a_kept_page_costs_one_statement(app, patient_phone, path):
    _, phone = patient_phone
    with frozen(NOW):
        with statements() as cold:
            phone.get(path)
        with statements() as warm:
            response = phone.get(path)
    assert response.status_code == 200
    assert len(cold) <= 6, "\n".join(cold)
    assert len(warm) <= 3, "\n".join(warm)
    assert len(warm) == 1  # the device, the patient, the clinic, the course: one query


@pytest.mark.parametrize("path", PAGES)
def test_a_kept_page_is_the_page_a_render_gives(app, patient_phone, path):
    _, phone = patient_phone
    with frozen(NOW):
        phone.get(path)
        kept, rendered = as_rendered_now(app, phone, path)
    assert kept == rendered


def test_each_response_gets_its_own_values(app, patient_phone):
    _, phone = patient_phone
    with frozen(NOW):
        first = page_html(phone.get("/today"))
    with frozen(NOW + timedelta(minutes=7)):
        second = page_html(phone.get("/today"))
    keys = [html.select_one('input[name="key"]')["value"] for html in (first, second)]
    assert keys[0] != keys[1]
    note = second.select_one(".offline-note")
    assert note["data-rendered-at"] == "2026-11-20T13:12:00+01:00"  # served, not first made
    assert "Offline — updated at 13:12" in note.get_text()
    assert "@@meso" not in str(second)


# -- never stale ------------------------------------------------------------------------------


def check_in(patient, phone):
    db.session.add(CheckIn(patient_id=patient.id, local_date=NOW.date(), feeling=2,
                           idempotency_key="k-1", created_at=NOW))


def record_session(patient, phone):
    courses.record_session(patient, NOW + timedelta(days=6), None)  # booked earlier than planned


def change_plan(patient, phone):
    courses.change_plan(patient, 6, 4, None)


def set_a_window(patient, phone):
    courses.set_window_overrides(patient, {"heat": 12}, None)


def drop_a_window(patient, phone):
    courses.set_window_overrides(patient, {"heat": 12}, None)
    db.session.commit()
    phone.get("/today")  # kept with the window...
    courses.set_window_overrides(patient, {"heat": None}, None)  # ...which goes


def reminder_settings(patient, phone):
    db.session.add(ReminderSettings(patient_id=patient.id, quiet_start=time(23),
                                    quiet_end=time(6)))


def subscribe_and_be_pruned(patient, phone):
    device = db.session.scalar(sa.select(PatientDevice).where(
        PatientDevice.patient_id == patient.id))
    sub = push.Subscription("https://fcm.googleapis.com/fcm/send/x1", "p" * 87, "a" * 22)
    subs.store(patient, device, sub)
    db.session.commit()
    phone.get("/today")  # kept with one device getting reminders...
    outbox.prune([sub.endpoint])  # ...which the push service says is gone


def revoke_other_devices(patient, phone):
    phone.get("/today")
    access.revoke_devices(patient, NOW)
    access.add_device(patient, NOW)


def clinic_settings(patient, phone):
    clinics.update_settings(create_staff(patient.clinic, "admin@clinic.example", role="admin"),
                            {"heat": 24}, 14, time(9), time(22), time(7))


def clinic_phone(patient, phone):
    patient.clinic.phone = "+39 06 0000 0000"


def rename(patient, phone):
    patient.name = "Lucia Rossi"


def add_a_photo(patient, phone):
    photo_store.add(patient, jpeg(), NOW)


def photos_turned_off(patient, phone):
    db.session.add(ClinicSettings(clinic_id=patient.clinic_id, photos_enabled=False))


WRITES: dict[str, Callable] = {f.__name__: f for f in (
    check_in, record_session, change_plan, set_a_window, drop_a_window, reminder_settings,
    subscribe_and_be_pruned, clinic_settings, clinic_phone, rename, add_a_photo,
    photos_turned_off)}
# What each write changes that the page shows (the rest leave Today as it was).
CHANGES = {"/today": set(WRITES) - {"drop_a_window", "subscribe_and_be_pruned", "add_a_photo",
                                    "photos_turned_off"},
           "/timeline": {"record_session", "change_plan", "add_a_photo", "photos_turned_off",
                         "clinic_phone"}}


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("write", WRITES)
def test_every_write_brings_the_new_page(app, patient_phone, path, write):
    patient, phone = patient_phone
    with frozen(NOW):
        before = shown(phone.get(path))
        WRITES[write](patient, phone)
        db.session.commit()
        kept, rendered = as_rendered_now(app, phone, path)
    assert kept == rendered
    if write in CHANGES[path]:
        assert kept != before, "the write changed nothing on the page: a weak test"


def test_a_signed_out_device_gets_no_kept_page(app, patient_phone):
    patient, phone = patient_phone
    with frozen(NOW):
        phone.get("/today")
        revoke_other_devices(patient, phone)
        db.session.commit()
        assert phone.get("/today").status_code == 401


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("later", [
    timedelta(hours=10, minutes=55),  # local midnight: day 1
    timedelta(hours=48),  # heat, sun and make-up end
    timedelta(weeks=3),  # the next session's planned time: overdue
])
def test_time_brings_the_new_page_at_its_instant(app, patient_phone, path, later):
    _, phone = patient_phone
    with frozen(NOW):
        before = shown(phone.get(path))
    with frozen(NOW + later):
        kept, rendered = as_rendered_now(app, phone, path)
    assert kept == rendered != before


def test_a_new_release_never_serves_the_old_ones_pages(app, patient_phone):
    _, phone = patient_phone
    with frozen(NOW):
        phone.get("/today")
        app.extensions["meso_page_build"] = "another-release"
        with statements() as seen:
            phone.get("/today")
    assert len(seen) > 1  # rendered again


# -- Redis --------------------------------------------------------------------------------


@pytest.fixture
def redis_app(app):
    app.config["REDIS_URL"] = REDIS_URL
    page_cache.init_app(app)
    yield app
    with redis.Redis.from_url(REDIS_URL) as client:
        for key in client.scan_iter(page_cache.PREFIX + "*"):
            client.delete(key)


def test_with_redis_one_render_serves_every_machine(redis_app, patient_phone):
    patient, phone = patient_phone
    # Another machine: its own process memory, the same Redis.
    with fresh_app(redis_app, REDIS_URL=REDIS_URL) as other, frozen(NOW):
        first = phone.get("/today")
        with redis_app.test_request_context(), redis.Redis.from_url(REDIS_URL) as client:
            ttl = client.pttl(page_cache.key("today", patient))
        elsewhere = other.test_client()
        elsewhere._cookies = phone._cookies
        with other.app_context():
            engine = db.engine
        with statements(engine) as seen:
            second = elsewhere.get("/today")
    assert 0 < ttl <= 10 * 3600 * 1000 + 55 * 60 * 1000  # until local midnight
    assert len(seen) == 1
    assert shown(second) == shown(first)


def test_a_redis_that_does_not_answer_costs_a_render_not_an_error(app, patient_phone, caplog):
    _, phone = patient_phone
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    page_cache.init_app(app)
    with frozen(NOW):
        response = phone.get("/today")
    assert response.status_code == 200
    assert "page cache: Redis" in caplog.text


def test_the_kept_page_holds_its_marks_not_anyones_token(app, patient_phone):
    _, phone = patient_phone
    with frozen(NOW):
        token = page_html(phone.get("/today")).select_one('meta[name="csrf-token"]')["content"]
    kept = list(app.extensions["meso_page_cache"].pages.values())
    assert kept and all(token not in page for _, page in kept)
    assert all(pages.CSRF_MARK in page and pages.FRESH_MARK in page for _, page in kept)


def test_the_workers_outbox_rows_leave_the_patients_pages_kept(app, patient_phone):
    """The worker writes a reminder or a staff e-mail at every send: no patient page shows
    them, so they neither bump the version nor touch the patient's row."""
    patient, _phone = patient_phone
    db.session.refresh(patient)
    before = patient.version
    email = OutboundEmail(clinic_id=patient.clinic_id, patient_id=patient.id,
                          dedupe_key="attention:test", to_address="a@clinic.example",
                          subject="s", body="b", status="pending", attempts=0,
                          next_attempt_at=NOW)
    db.session.add(email)
    db.session.commit()
    with statements() as seen:
        email.status, email.attempts = "sent", 1
        db.session.commit()
    db.session.refresh(patient)
    assert patient.version == before
    assert not any("UPDATE patient" in s for s in seen)
    db.session.add(CheckIn(patient_id=patient.id, local_date=NOW.date(), feeling=4,
                           idempotency_key="v" * 32))
    db.session.commit()
    db.session.refresh(patient)
    assert patient.version == before + 1  # a row a page shows still bumps it


def test_the_served_note_is_formatted_once_a_minute_for_each_zone_and_language(app):
    """pages.served keeps its words per local minute: one instant in two zones (or two
    languages) never shares them."""
    clinic = create_clinic()
    rome, _ = enrol_patient(clinic, name="Rome")
    york, _ = enrol_patient(clinic, name="York", timezone="America/New_York")
    pages._SERVED.clear()
    with app.test_request_context(), frozen(NOW):
        here, there, again = pages.served(rome), pages.served(york), pages.served(rome)
    assert (here.clock, there.clock) == ("13:05", "07:05")
    assert again is here, "formatted once"
    assert here.iso != there.iso
