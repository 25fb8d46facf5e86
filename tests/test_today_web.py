"""Issue 15 through the test client: "None of these" stored apart from a question left out,
"Ask for a time" (and the clinic seeing it), the access code on demand, the reminder time
pickers, and a clinic's opening hours on its settings page."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from conftest import create_clinic, enrol_patient, open_invite
from helpers import csrf_meta, field_error, frozen, page_html, text_of
from staff_helpers import actions, post, signed_in_client

from meso import accesscode, courses, opening_hours
from meso.extensions import db
from meso.models import CheckIn, ClinicSettings, Course, Patient

SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # Fri 10:00 in Rome
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # the next morning


@pytest.fixture
def clinic(app):
    return create_clinic()


def patient_phone(app, clinic, **enrol):
    with frozen(NOW):
        patient, token = enrol_patient(clinic, first_session=SESSION, **enrol)
        phone = app.test_client()
        assert open_invite(phone, token).status_code == 303
    return patient, phone


def stored() -> list[CheckIn]:
    db.session.rollback()
    return db.session.scalars(sa.select(CheckIn).order_by(CheckIn.id)).all()


def checkin(phone, **answers):
    with frozen(NOW):
        token = csrf_meta(phone.get("/today"))
        return phone.post("/checkins", headers={"X-CSRFToken": token}, json={
            "key": f"k{len(stored()):015d}x", "feeling": 4, "symptoms": [], **answers})


# -- "None of these" -------------------------------------------------------------------------


def test_none_of_these_is_stored_apart_from_a_question_left_out(app, clinic):
    _, phone = patient_phone(app, clinic)
    fine = checkin(phone, no_flags=True)
    assert fine.status_code == 201 and fine.get_json()["no_flags"] is True
    skipped = checkin(phone)
    assert skipped.status_code == 201 and skipped.get_json()["no_flags"] is False
    assert [(c.no_flags, c.symptom_keys) for c in stored()] == [(True, []), (False, [])]


@pytest.mark.parametrize(("answers", "field"), [
    ({"no_flags": True, "symptoms": ["fever"]}, "symptoms"),
    ({"no_flags": "yes"}, "no_flags"),
    ({"no_flags": 1}, "no_flags"),
])
def test_none_of_these_with_a_red_flag_is_refused(app, clinic, answers, field):
    _, phone = patient_phone(app, clinic)
    response = checkin(phone, **answers)
    assert response.status_code == 400
    assert list(response.get_json()["errors"]) == [field]
    assert stored() == []


def test_the_form_sends_none_of_these_too(app, clinic):
    _, phone = patient_phone(app, clinic)
    with frozen(NOW):
        html = phone.get("/today").get_data(as_text=True)
        form = page_html(html).select_one("#checkin form.checkin-form.compact")
        box = form.select_one('fieldset.symptoms input[type="checkbox"][name="no_flags"]')
        assert box["value"] == "1" and text_of(box.parent) == "None of these"
        response = phone.post("/checkins", data={
            "csrf_token": csrf_meta(html), "key": form.select_one('input[name="key"]')["value"],
            "feeling": "5", "no_flags": "1"})
    assert response.status_code == 200
    assert [c.no_flags for c in stored()] == [True]


def test_today_shows_one_row_of_feelings_and_the_rest_on_demand(app, clinic):
    _, phone = patient_phone(app, clinic)
    with frozen(NOW):
        html = phone.get("/today").get_data(as_text=True)
    card = page_html(html).select_one("#checkin")
    scale = card.select(".choices.scale label.choice input[name='feeling']")
    assert [r["value"] for r in scale] == ["5", "4", "3", "2", "1"]
    assert card.select_one(".checkin-more[hidden]") is not None
    assert card.select_one(".checkin-more button.primary.wide[type='submit']") is not None
    # The red-flag alert waits in the form, hidden, with both call buttons (not the answer's ids).
    alert = card.select_one('.flag-alert[role="alert"][hidden]')
    assert alert.select_one('[data-flag-level="call_clinic"] a.call')["href"] == (
        "tel:+390612345678")
    assert alert.select_one('[data-flag-level="call_clinic"] a.call-emergency-line')[
        "href"] == "tel:112"
    assert alert.select_one('[data-flag-level="emergency"] a.call-emergency')["href"] == "tel:112"
    assert not alert.select("#call-clinic, #call-emergency")
    # The check-in page shows every question at once.
    with frozen(NOW):
        full = page_html(phone.get("/checkins/new").get_data(as_text=True))
    assert full.select_one(".checkin-more:not([hidden])") is not None


# -- the next session ------------------------------------------------------------------------


def test_ask_for_a_time_is_stored_and_shown_to_the_clinic(app, clinic):
    patient, phone = patient_phone(app, clinic)
    with frozen(NOW):
        html = phone.get("/today").get_data(as_text=True)
        next_card = page_html(html).select_one("#next")
        assert "week of 11 Dec · time to be confirmed" in text_of(next_card)
        assert text_of(next_card.select_one(".progress")) == "●○○○ 1 of 4 done"
        form = next_card.select_one("form.ask-time")
        assert form["action"] == "/next-session/ask"
        # Without the CSRF token, nothing is asked.
        assert phone.post("/next-session/ask").status_code == 400
        response = phone.post("/next-session/ask", data={"csrf_token": csrf_meta(html)})
        assert response.status_code == 303 and response.location.endswith("/today#next")
        again = phone.post("/next-session/ask", data={"csrf_token": csrf_meta(html)})
        assert again.status_code == 303
        html = phone.get("/today").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Course, patient.course.id).time_requested_at == NOW
    next_card = page_html(html).select_one("#next")
    assert next_card.select_one("form.ask-time") is None
    assert "You asked for a time on Sat 21 Nov." in text_of(next_card)

    staff = signed_in_client(app, clinic)  # on the real clock: its session is a fresh one
    roster = page_html(staff.get("/staff/").get_data(as_text=True))
    page = page_html(staff.get(f"/staff/patients/{patient.id}").get_data(as_text=True))
    assert text_of(roster.select_one(".time-requested")) == "asked for a time"
    assert text_of(page.select_one(".time-requested")) == "asked for a time on Sat 21 Nov"

    # Booking the session answers the request.
    with frozen(NOW):
        courses.record_session(db.session.get(Patient, patient.id),
                               datetime(2026, 12, 11, 9, 0, tzinfo=UTC), None)
        db.session.commit()
        html = phone.get("/today").get_data(as_text=True)
    roster = page_html(staff.get("/staff/").get_data(as_text=True))
    assert db.session.get(Course, patient.course.id).time_requested_at is None
    assert "Fri 11 Dec, 10:00" in text_of(page_html(html).select_one("#next"))
    assert roster.select_one(".time-requested") is None


# -- the access code, on demand --------------------------------------------------------------


def test_the_access_code_comes_on_demand_and_never_inside_today(app, clinic):
    patient, phone = patient_phone(app, clinic)
    with frozen(NOW):
        today = phone.get("/today").get_data(as_text=True)
        response = phone.get("/api/access-code")
    code = accesscode.code_for(db.session.get(Patient, patient.id))
    assert response.status_code == 200 and response.get_json() == {"code": code}
    assert response.headers["Cache-Control"] == "no-store"
    assert code not in today and code.replace("-", "") not in today
    card = page_html(today).select_one("#access-code-card")
    assert card["data-code-url"] == "/api/access-code"
    assert card.select_one('a[data-action="show-code"]')["href"] == "/access-code"
    assert app.test_client().get("/api/access-code").status_code == 401


# -- reminder settings -----------------------------------------------------------------------


def test_reminder_times_are_picked_on_the_locales_clock(app, clinic):
    _, phone = patient_phone(app, clinic)
    with frozen(NOW):
        html = phone.get("/reminders").get_data(as_text=True)
    page = page_html(html)
    morning = page.select_one("select#morning")
    options = [(o["value"], o.get_text()) for o in morning.select("option")]
    assert ("21:15", "21:15") in options and len(options) == 96
    assert [o["value"] for o in morning.select("option[selected]")] == ["09:00"]
    assert page.select_one("select#quiet_start option[selected]")["value"] == "21:00"
    # Settings first, then the switch that saves them too.
    order = [s.get("id") or s["class"][1] for s in page.select("main section.card")]
    assert order == ["reminder-settings", "reminders", "reminder-email"]
    assert page.select_one("form.reminder-settings-form") is not None


# -- opening hours, the clinic's setting -----------------------------------------------------

SETTINGS = {
    "phone": "+39 06 1234 5678", "heat": "48", "sun": "48", "makeup": "48", "exfoliants": "168",
    "vitamin_a": "336", "acids_peels": "336", "tanning_beds": "168", "hair_wash": "24",
    "first_weeks_days": "28", "reminder_time": "09:00", "quiet_start": "21:00",
    "quiet_end": "08:00",
}


def hours_fields(week) -> dict:
    fields = {}
    for day, hours in enumerate(week):
        fields[f"opens_{day}"], fields[f"closes_{day}"] = hours or ("", "")
    return fields


def test_an_admin_sets_the_opening_hours(app, clinic):
    admin = signed_in_client(app, clinic, "boss@clinic.example", role="admin")
    page = page_html(admin.get("/staff/settings").get_data(as_text=True))
    rows = page.select("table.opening-hours tbody tr")
    assert [text_of(r.select_one("th")) for r in rows] == [
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    week = [("09:00", "19:00")] * 5 + [("09:00", "13:00"), None]
    response = post(admin, "/staff/settings", {**SETTINGS, **hours_fields(week)})
    assert response.status_code == 303
    stored_week = opening_hours.parse(ClinicSettings.of(clinic.id).opening_hours)
    assert stored_week is not None and stored_week[5] == (time(9), time(13))
    assert stored_week[6] is None
    assert actions()[-1] == "settings.changed"
    page = page_html(admin.get("/staff/settings").get_data(as_text=True))
    assert page.select_one("#opens_0")["value"] == "09:00"
    assert page.select_one("#closes_5")["value"] == "13:00"
    # Every day emptied: no hours, and nobody is told the clinic is closed.
    assert post(admin, "/staff/settings", {**SETTINGS, **hours_fields([None] * 7)}
                ).status_code == 303
    assert ClinicSettings.of(clinic.id).opening_hours is None


@pytest.mark.parametrize(("day", "opens", "closes", "field", "message"), [
    (0, "09:00", "", "closes_0", "Give both times"),
    (2, "", "18:00", "opens_2", "Give both times"),
    (4, "19:00", "09:00", "closes_4", "Closing comes after opening"),
])
def test_opening_hours_that_make_no_sense_are_refused(app, clinic, day, opens, closes, field,
                                                       message):
    admin = signed_in_client(app, clinic, "boss@clinic.example", role="admin")
    fields = hours_fields([None] * 7)
    fields[f"opens_{day}"], fields[f"closes_{day}"] = opens, closes
    response = post(admin, "/staff/settings", {**SETTINGS, **fields})
    assert response.status_code == 400
    assert message in field_error(response.get_data(as_text=True), field)
    assert db.session.get(ClinicSettings, clinic.id) is None


def test_the_clinic_closed_tonight_on_today(app, clinic):
    admin = signed_in_client(app, clinic, "boss@clinic.example", role="admin")
    week = [("09:00", "19:00")] * 6 + [None]
    assert post(admin, "/staff/settings", {**SETTINGS, **hours_fields(week)}).status_code == 303
    _, phone = patient_phone(app, clinic)
    with frozen(SESSION + timedelta(hours=11)):  # Fri 21:00 in Rome
        html = phone.get("/today").get_data(as_text=True)
    note = text_of(page_html(html).select_one("#red-flags .out-of-hours"))
    assert note.startswith("Your clinic is closed now. It opens again tomorrow 09:00.")


def test_the_answer_says_what_it_means_for_today(app, clinic):
    _, phone = patient_phone(app, clinic)
    with frozen(NOW):
        html = phone.get("/today").get_data(as_text=True)
    blocks = page_html(html).select("#checkin #advice [data-advice-block]")
    said = {b["data-advice-block"]: text_of(b.select_one(".advice-today") or "") for b in blocks}
    assert said == {
        "expected": "For today: nothing changes. Keep to today's list of what to avoid and "
                    "what to do.",
        "watch": "For today: keep to today's aftercare as usual, and note whether it gets "
                 "better or worse.",
        "call_clinic": "For today: call before the day is over, and keep to today's aftercare "
                       "until your clinic says otherwise.",
        "emergency": "",  # nothing but the call
    }
    with frozen(NOW):
        token = csrf_meta(html)
        form = page_html(html).select_one("#checkin form")
        answer = phone.post("/checkins", data={
            "csrf_token": token, "key": form.select_one('input[name="key"]')["value"],
            "feeling": "4", "no_flags": "1"}).get_data(as_text=True)
    shown = page_html(answer).select_one('#advice [data-advice-block="expected"]')
    assert "For today: nothing changes." in text_of(shown)


def test_the_kept_today_changes_its_words_at_the_evening_and_when_the_clinic_closes(app,
                                                                                   clinic):
    """Today is kept until its next change (meso/page_cache.py): the evening hour and the
    clinic's closing are changes too, with no write in between."""
    settings = ClinicSettings(clinic_id=clinic.id, opening_hours=[["09:00", "18:30"]] * 7)
    db.session.add(settings)
    db.session.commit()
    _, phone = patient_phone(app, clinic)
    saturday = datetime(2026, 11, 21, tzinfo=UTC)  # Rome is UTC+1
    said = []
    for hour, minute in ((16, 59), (17, 1), (17, 29), (17, 31)):  # 17:59 ... 18:31 in Rome
        with frozen(saturday.replace(hour=hour, minute=minute)):
            html = page_html(phone.get("/today").get_data(as_text=True))
        said.append((text_of(html.select_one("#normal h2")),
                     html.select_one("#red-flags .out-of-hours") is not None))
    assert said == [("Normal today", False), ("Normal tonight", False),
                    ("Normal tonight", False), ("Normal tonight", True)]
