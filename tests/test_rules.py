"""One source per rule: the defaults, quiet hours and "is this reminder still useful" agree
wherever they are used, because each is asked of one place."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from conftest import create_clinic, enrol_patient

from meso import courses, outbox, policy, protocol, reminders
from meso.extensions import db
from meso.models import ClinicSettings, Reminder, ReminderSettings
from meso.staff.forms import EnrolForm, PlanForm

SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_a_new_clinic_and_a_new_patient_start_from_the_protocols_defaults(app):
    clinic = create_clinic()
    patient, _ = enrol_patient(clinic, first_session=SESSION)
    settings = ClinicSettings.of(clinic.id)
    assert policy.clinic_protocol(clinic) == protocol.DEFAULT_PROTOCOL
    assert policy.clinic_window_hours(settings) == policy.default_window_hours()
    assert settings.first_weeks_days == protocol.DEFAULT_PROTOCOL.first_weeks.days
    expected = (protocol.DEFAULT_MORNING, *protocol.DEFAULT_QUIET_HOURS)
    assert (settings.reminder_time, settings.quiet_start, settings.quiet_end) == expected
    # The patient's settings before they choose: the clinic's, the same as the pure default.
    chosen = policy.reminder_settings_for(patient)
    assert chosen == reminders.Settings() == reminders.DEFAULT_SETTINGS
    # A saved row that leaves the times alone stores the same defaults.
    db.session.add(ReminderSettings(patient_id=patient.id))
    db.session.flush()
    row = db.session.get(ReminderSettings, patient.id)
    assert (row.morning, row.quiet_start, row.quiet_end) == expected
    assert policy.reminder_settings_for(patient) == chosen


def test_the_default_plan_of_a_course_is_the_protocols_everywhere(app, runner):
    form = EnrolForm(meta={"csrf": False})
    assert (form.planned_sessions.data, form.interval_weeks.data) == (
        protocol.DEFAULT_SESSIONS, protocol.DEFAULT_INTERVAL_WEEKS)
    data = courses.Enrolment("Maria Rossi", "face", SESSION, "Europe/Rome")
    assert (data.planned_sessions, data.interval_weeks) == (
        protocol.DEFAULT_SESSIONS, protocol.DEFAULT_INTERVAL_WEEKS)
    ranges = [field.validators[1] for field in PlanForm(meta={"csrf": False})]
    assert [(v.min, v.max) for v in ranges] == [protocol.SESSIONS_RANGE, protocol.INTERVAL_RANGE]


@pytest.mark.parametrize(
    ("start", "end", "morning", "longest", "problem"),
    [
        (time(21), time(8), time(9), None, None),
        (time(21), time(21), time(9), None, "same"),
        (time(21), time(8), time(7), None, "morning"),
        (time(21), time(8), time(8), None, None),  # the quiet ends as the morning begins
        (time(1), time(6), time(23), None, None),  # quiet hours within one night
        (time(18), time(10), time(11), None, None),  # 16 hours: the clinic may
        (time(18), time(10), time(11), timedelta(hours=14), "too_long"),  # a patient may not
        (time(21), time(11), time(12), timedelta(hours=14), None),  # 14 hours exactly
    ],
)
def test_quiet_hours_are_checked_by_one_rule(start, end, morning, longest, problem):
    assert reminders.quiet_hours_conflict(start, end, morning, longest) == problem


def test_quiet_hours_mean_the_same_for_a_form_and_for_a_reminder():
    settings = reminders.Settings(quiet_start=time(22), quiet_end=time(7))
    for hour in range(24):
        local = datetime(2026, 11, 20, hour, 30, tzinfo=UTC)
        assert reminders.in_quiet_hours(local, settings) == reminders.quiet_at(
            local.time(), time(22), time(7)) == (hour >= 22 or hour < 7)


def test_a_reminder_is_useful_until_it_expires_in_python_and_in_sql(app):
    expires = SESSION + timedelta(hours=2)
    assert reminders.useful(expires, expires - timedelta(seconds=1))
    assert not reminders.useful(expires, expires)
    clinic = create_clinic()
    patient, _ = enrol_patient(clinic, first_session=datetime.now(UTC) - timedelta(hours=1))
    db.session.commit()
    rows = db.session.scalars(sa.select(Reminder).where(Reminder.patient_id == patient.id)).all()
    assert rows
    for row in rows:
        for at in (row.expires_at - timedelta(seconds=1), row.expires_at):
            in_sql = db.session.scalar(sa.select(sa.func.count()).where(
                Reminder.id == row.id, reminders.useful(Reminder.expires_at, at)))
            assert bool(in_sql) == reminders.useful(row.expires_at, at)
    # The outbox plans only what is still useful now.
    assert {(r.session, r.rule) for r in rows} == {
        item.key for item in outbox.plan(patient)
        if reminders.useful(item.expires_at, rows[0].updated_at)}
