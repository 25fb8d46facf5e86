"""Few queries: a patient's pages cost a handful of SQL statements, however much the patient
has (sessions, their own windows, settings, a check-in, devices), and Babel's skeleton
matching is done once per locale."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_skeleton
from conftest import create_clinic, create_staff, enrol_patient, open_invite
from helpers import frozen
from sqlalchemy import event

from meso import clinics, courses, formatting, policy
from meso.extensions import db
from meso.models import CheckIn, ClinicSettings, PushSubscription, ReminderSettings, WindowOverride

SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = SESSION + timedelta(weeks=16, hours=3)  # after the sixth session
# At most this many statements a page, the device's hourly last-seen write aside.
BUDGET = {"/today": 6, "/timeline": 6, "/api/plan": 6}


@contextmanager
def statements():
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def patient_with_everything(clinic, sessions: int):
    """A patient with every row a page may read: sessions, windows, settings, a check-in."""
    patient, token = enrol_patient(clinic, first_session=SESSION, sessions=6)
    for number in range(2, sessions + 1):
        courses.record_session(patient, SESSION + timedelta(weeks=3 * (number - 1)), None)
    db.session.add_all([
        ClinicSettings(clinic_id=clinic.id, window_hours={"heat": 72}, first_weeks_days=14,
                       reminder_time=time(9), quiet_start=time(22), quiet_end=time(7)),
        WindowOverride(patient_id=patient.id, key="sun", hours=96),
        ReminderSettings(patient_id=patient.id),
        CheckIn(patient_id=patient.id, local_date=NOW.astimezone(ZoneInfo("Europe/Rome")).date(),
                feeling=4, idempotency_key="k1", created_at=NOW),
        PushSubscription(patient_id=patient.id, endpoint="https://fcm.googleapis.com/x",
                         p256dh="p", auth="a"),
    ])
    db.session.commit()
    return patient, token


@pytest.mark.parametrize("sessions", [1, 6])
@pytest.mark.parametrize("path", list(BUDGET))
def test_a_patient_page_costs_a_few_statements(app, path, sessions):
    _, token = patient_with_everything(create_clinic(), sessions)
    phone = app.test_client()  # each request in its own context and session, as on a server
    assert open_invite(phone, token).status_code == 303
    with frozen(NOW):
        phone.get(path)  # the device's last-seen write, once an hour, is not the page's
        with statements() as seen:
            response = phone.get(path)
    assert response.status_code == 200
    assert len(seen) <= BUDGET[path], "\n".join(seen)


def test_a_clinic_without_settings_costs_no_more(app):
    _, token = enrol_patient(create_clinic(), first_session=SESSION)
    phone = app.test_client()
    assert open_invite(phone, token).status_code == 303
    with frozen(NOW):
        phone.get("/today")
        with statements() as seen:
            phone.get("/today")
    assert len(seen) <= BUDGET["/today"], "\n".join(seen)


def test_new_clinic_settings_reach_the_plan_in_the_same_request(app):
    """Clinic.settings is loaded with the clinic; a row added later must not hide behind a
    None loaded earlier (meso.clinics expires it)."""
    clinic = create_clinic()
    staff = create_staff(clinic, role="admin")
    assert policy.clinic_protocol(clinic).windows["heat"] == timedelta(hours=48)
    clinics.update_settings(staff, {**policy.default_window_hours(), "heat": 72}, 14,
                            time(9), time(21), time(8))
    assert policy.clinic_protocol(clinic).windows["heat"] == timedelta(hours=72)


@pytest.mark.parametrize("locale", ["en_GB", "it_IT", "fr_FR", "es_ES", "de_DE"])
@pytest.mark.parametrize("skeleton", ["EEEHm", "MMMEd", "Hm"])
def test_skeletons_are_matched_once_and_format_as_babel_does(locale, skeleton):
    instant = datetime(2026, 11, 26, 14, 5, tzinfo=ZoneInfo("Europe/Rome"))
    formatting.pattern.cache_clear()
    ours = formatting.format_datetime(instant, formatting.pattern(locale, skeleton),
                                      tzinfo=instant.tzinfo, locale=locale)
    assert ours == format_skeleton(skeleton, instant, tzinfo=instant.tzinfo, locale=locale)
    formatting.pattern(locale, skeleton)
    assert formatting.pattern.cache_info().hits == 1
