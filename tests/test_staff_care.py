"""Staff, the same care (issue 15, item 9): windows in days (hours for the first two days),
"Record session" confirmed on a page that names the date, the roster sorted by attention first
with "No check-in yet" and a reminders-off badge."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import create_clinic, enrol_patient
from helpers import assert_no_inline_code, field_error, frozen, page_html, text_of
from staff_helpers import post, signed_in_client

from meso import access, policy
from meso.extensions import db
from meso.models import CheckIn, ClinicSettings, PushSubscription

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 13:00 in Rome

SETTINGS = {
    "phone": "+39 06 9999", "heat": "3", "heat_unit": "days", "sun": "2", "sun_unit": "days",
    "makeup": "36", "makeup_unit": "hours", "exfoliants": "7", "exfoliants_unit": "days",
    "vitamin_a": "14", "vitamin_a_unit": "days", "acids_peels": "14",
    "acids_peels_unit": "days", "tanning_beds": "7", "tanning_beds_unit": "days",
    "hair_wash": "24", "hair_wash_unit": "hours", "first_weeks_days": "28",
    "reminder_time": "09:00", "quiet_start": "21:00", "quiet_end": "08:00",
    "photos_enabled": "y",
}


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(NOW):
        yield


@pytest.fixture
def clinic(app):
    return create_clinic()


@pytest.fixture
def admin(app, clinic):
    return signed_in_client(app, clinic, "boss@clinic.example", role="admin")


def selected_unit(html, field_id: str) -> str:
    return page_html(html).select_one(f"select#{field_id}_unit option[selected]")["value"]


# -- windows in days, hours for the first two days ----------------------------------------------


def test_clinic_windows_are_entered_in_days_or_hours_and_stored_in_hours(admin, clinic):
    assert post(admin, "/staff/settings", SETTINGS).status_code == 303
    stored = db.session.get(ClinicSettings, clinic.id).window_hours
    assert stored == {"heat": 72, "makeup": 36}  # the others are the defaults
    html = admin.get("/staff/settings").get_data(as_text=True)
    page = page_html(html)
    # Read back: days from two days on, hours below.
    assert page.select_one("input#heat")["value"] == "3" and selected_unit(html, "heat") == "days"
    assert page.select_one("input#makeup")["value"] == "36"
    assert selected_unit(html, "makeup") == "hours"
    assert selected_unit(html, "hair_wash") == "hours"
    assert page.select_one("#exfoliants-help").get_text() == "Default 7 days"
    label = page.select_one("select#heat_unit")["aria-label"]
    assert label == "Sauna, hot baths and workouts: unit"


@pytest.mark.parametrize(
    ("value", "unit", "message"),
    [("91", "days", "Between 0 and 2160 hours (90 days)."),
     ("-1", "hours", "Between 0 and 2160 hours (90 days)."),
     ("2.5", "days", "Enter a whole number of days or hours."),
     ("two", "days", "Enter a whole number of days or hours."),
     ("", "days", "This field is required.")],
)
def test_a_bad_clinic_window_is_refused_next_to_its_field(admin, clinic, value, unit, message):
    response = post(admin, "/staff/settings", {**SETTINGS, "heat": value, "heat_unit": unit})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_error(html, "heat") == message
    # What was typed stays, in its unit, to be corrected.
    assert page_html(html).select_one("input#heat").get("value", "") == value
    assert selected_unit(html, "heat") == unit
    assert db.session.get(ClinicSettings, clinic.id) is None


def test_a_patient_window_in_days(app, clinic):
    client = signed_in_client(app, clinic)
    patient = enrol_patient(clinic)[0]
    url = f"/staff/patients/{patient.id}/windows"
    assert post(client, url, {"windows-sun": "4", "windows-sun_unit": "days"}).status_code == 303
    assert policy.window_overrides(patient) == {"sun": 96}
    assert post(client, url, {"windows-sun": "30", "windows-sun_unit": "hours"}).status_code == 303
    assert policy.window_overrides(patient) == {"sun": 30}
    html = client.get(f"/staff/patients/{patient.id}").get_data(as_text=True)
    assert page_html(html).select_one("input#windows-sun")["value"] == "30"
    assert selected_unit(html, "windows-sun") == "hours"
    response = post(client, url, {"windows-sun": "100", "windows-sun_unit": "days"})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "windows-sun") == (
        "Between 0 and 2160 hours (90 days).")
    assert policy.window_overrides(patient) == {"sun": 30}


# -- Record session, confirmed ------------------------------------------------------------------


def test_record_session_asks_first_naming_the_date(app, clinic):
    client = signed_in_client(app, clinic)
    patient = enrol_patient(clinic)[0]  # session 1: Fri 20 Nov 10:00 Rome
    page = page_html(client.get(f"/staff/patients/{patient.id}"))
    form = page.select_one("form.record")
    assert form["action"] == f"/staff/patients/{patient.id}/sessions/confirm"
    assert "primary" not in (form.select_one("button").get("class") or [])  # secondary
    response = post(client, form["action"], {"record-starts_at": "2026-12-13T14:00"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert_no_inline_code(html)
    confirm = page_html(html)
    assert text_of(confirm.select_one("h1")) == "Record session 2 for Maria Rossi?"
    assert text_of(confirm.select_one(".confirm-when")) == (
        "Sunday, 13 December 2026 at 14:00 (Europe/Rome)")
    assert "This books it" in html
    assert len(patient.course.sessions) == 1  # nothing saved yet
    # The confirmation carries the time and its own CSRF token to the real action.
    final = confirm.select_one("form.confirm-actions")
    assert final["action"] == f"/staff/patients/{patient.id}/sessions"
    fields = {i["name"]: i["value"] for i in final.select("input[type=hidden]")}
    assert fields["record-starts_at"] == "2026-12-13T14:00" and fields["csrf_token"]
    assert client.post(final["action"], data=fields).status_code == 303
    db.session.expire_all()
    assert [s.number for s in patient.course.sessions] == [1, 2]
    # Without the token, the confirmation's form records nothing.
    del fields["csrf_token"]
    assert client.post(final["action"], data=fields).status_code == 400


def test_a_refused_session_is_refused_before_the_confirmation(app, clinic):
    client = signed_in_client(app, clinic)
    patient = enrol_patient(clinic, sessions=1)[0]
    response = post(client, f"/staff/patients/{patient.id}/sessions/confirm",
                    {"record-starts_at": "2026-12-13T14:00"})
    assert response.status_code == 400
    assert "All 1 planned sessions are already recorded" in field_error(
        response.get_data(as_text=True), "record-starts_at")
    response = post(client, f"/staff/patients/{patient.id}/sessions/confirm",
                    {"record-starts_at": "2026-03-29T02:30"})  # the clocks skip it in Rome
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "record-starts_at")


def test_a_past_time_is_recorded_as_held(app, clinic):
    client = signed_in_client(app, clinic)
    patient = enrol_patient(clinic)[0]
    html = post(client, f"/staff/patients/{patient.id}/sessions/confirm",
                {"record-starts_at": "2026-11-25T10:00"}).get_data(as_text=True)
    assert "This records it as held" in html
    assert text_of(page_html(html).select_one("form.confirm-actions button")) == (
        "Record session 2")


# -- the roster ---------------------------------------------------------------------------------


def roster_rows(client, query="") -> dict[str, str]:
    page = page_html(client.get(f"/staff/{query}"))
    return {row.select_one("td.name a").get_text(): text_of(row)
            for row in page.select("tbody tr")}


def names(client, query="") -> list[str]:
    return list(roster_rows(client, query))


def test_the_roster_puts_who_needs_attention_first_by_default(app, clinic):
    client = signed_in_client(app, clinic)

    def calm(name, days_ago, push=True):
        patient = enrol_patient(clinic, name=name,
                                first_session=NOW - timedelta(days=days_ago))[0]
        access.add_device(patient, NOW - timedelta(days=days_ago))
        if push:
            db.session.add(PushSubscription(patient_id=patient.id, endpoint=f"https://fcm."
                                            f"googleapis.com/{name}", p256dh="p", auth="a"))
        for day in range(1, 4):
            db.session.add(CheckIn(patient_id=patient.id, feeling=4, idempotency_key=f"{name}{day}",
                                   local_date=(NOW - timedelta(days=days_ago - day)).date(),
                                   created_at=NOW - timedelta(days=days_ago - day)))
        return patient

    calm("Soon Calm", 10)  # next session in 11 days
    calm("Later Calm", 5)  # next session in 16 days
    enrol_patient(clinic, name="Late Unopened", first_session=NOW - timedelta(days=4))
    db.session.commit()
    # Attention first (the link not opened), then by next session; "next" keeps that order.
    assert names(client) == ["Late Unopened", "Soon Calm", "Later Calm"]
    assert names(client, "?sort=next") == ["Soon Calm", "Later Calm", "Late Unopened"]
    select = page_html(client.get("/staff/")).select_one("select#sort option[selected]")
    assert select["value"] == "attention"
    rows = roster_rows(client)
    assert "No check-in yet" in rows["Late Unopened"] and "—" not in rows["Late Unopened"]
    assert "Reminders off" in rows["Late Unopened"]
    assert "Push" in rows["Soon Calm"] and "Reminders off" not in rows["Soon Calm"]


def test_all_reminder_kinds_off_is_reminders_off(app, clinic):
    from meso.models import ReminderSettings

    client = signed_in_client(app, clinic)
    patient = enrol_patient(clinic, first_session=NOW - timedelta(days=6))[0]
    access.add_device(patient, NOW)
    db.session.add(PushSubscription(patient_id=patient.id, endpoint="https://fcm.googleapis.com/x",
                                    p256dh="p", auth="a"))
    settings = ReminderSettings(patient_id=patient.id, sun=False, heat=False, exfoliants=False,
                                sessions=False, checkins=True)
    db.session.add(settings)
    db.session.commit()
    assert "Reminders off" not in roster_rows(client)["Maria Rossi"]
    settings.checkins = False
    db.session.commit()
    row = roster_rows(client)["Maria Rossi"]
    assert "Push" in row and "Reminders off" in row
    assert "Reminders off" in text_of(page_html(client.get(
        f"/staff/patients/{patient.id}")).select_one(".patient-head .reach"))


def test_a_checkin_shows_its_date_not_no_check_in(app, clinic):
    client = signed_in_client(app, clinic)
    patient = enrol_patient(clinic, first_session=NOW - timedelta(days=2))[0]
    db.session.add(CheckIn(patient_id=patient.id, feeling=4, idempotency_key="k",
                           local_date=date(2026, 11, 24), created_at=NOW - timedelta(days=1)))
    db.session.commit()
    row = roster_rows(client)["Maria Rossi"]
    assert "Tue 24 Nov" in row and "No check-in yet" not in row
