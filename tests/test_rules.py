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


# -- the reminder worker's batch: every patient's context at once -------------------------------


def test_the_workers_batch_reads_each_patients_settings_zone_and_protocol_as_one_by_one(app):
    """policy.reminder_contexts gives what reminder_settings_for, zone_for and protocol_for
    give, for patients with and without their own settings, windows and clinic settings, in
    a fixed number of statements however many patients there are."""
    from meso.models import Patient, WindowOverride

    plain, tuned = create_clinic(name="Plain"), create_clinic(name="Tuned")
    db.session.add(ClinicSettings(clinic_id=tuned.id, window_hours={"heat": 96},
                                  first_weeks_days=28, reminder_time=time(7, 30),
                                  quiet_start=time(20), quiet_end=time(9)))
    db.session.commit()
    patients = []
    for n, clinic in enumerate([plain, tuned] * 3):
        patient, _ = enrol_patient(clinic, name=f"Patient {n}",
                                   timezone="America/New_York" if n % 3 else "Europe/Rome")
        patients.append(patient)
    db.session.add_all([
        ReminderSettings(patient_id=patients[0].id, discreet=True, heat=False),
        ReminderSettings(patient_id=patients[3].id, morning=time(6), quiet_start=time(22)),
        WindowOverride(patient_id=patients[1].id, key="heat", hours=72),
        WindowOverride(patient_id=patients[1].id, key="sun", hours=120),
        WindowOverride(patient_id=patients[4].id, key="heat", hours=24),
    ])
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.scalars(sa.select(Patient).where(Patient.id.in_(
        [p.id for p in patients]))).all()
    for patient in loaded:  # what the worker's query loads with them
        patient.clinic.settings, patient.course  # noqa: B018

    statements = []

    def seen(*args) -> None:
        statements.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        contexts = policy.reminder_contexts(list(loaded))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert len(statements) == 2  # their settings, their windows: not two per patient
    for patient in loaded:
        assert contexts[patient.id] == (policy.reminder_settings_for(patient),
                                        policy.zone_for(patient), policy.protocol_for(patient))
    by_id = {p.id: contexts[p.id] for p in patients}
    assert by_id[patients[0].id][0].discreet and "heat" not in by_id[patients[0].id][0].categories
    assert by_id[patients[1].id][2].windows["heat"] == timedelta(hours=72)
    assert by_id[patients[4].id][2].windows["heat"] == timedelta(hours=24)
    assert by_id[patients[5].id][2].windows["heat"] == timedelta(hours=96)  # the clinic's
    assert by_id[patients[5].id][0].morning == time(7, 30)
    assert policy.reminder_contexts([]) == {}
