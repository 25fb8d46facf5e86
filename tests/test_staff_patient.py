"""The patient's page for staff and every action on it: sessions, plan, windows, devices,
access code, archive. Time is frozen so days and phases are exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import segno
import sqlalchemy as sa
from conftest import create_clinic, enrol_patient
from helpers import assert_no_inline_code, field_error, frozen, page_html, text_of
from staff_helpers import actions, new_client, post, signed_in_client

from meso import access, accesscode, courses, policy
from meso.extensions import db
from meso.models import PatientDevice, TreatmentSession

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 13:00 in Rome, day 5 after session 1


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(NOW):
        yield


@pytest.fixture
def clinic(app):
    return create_clinic()


@pytest.fixture
def client(app, clinic):
    return signed_in_client(app, clinic)


@pytest.fixture
def patient(clinic):
    return enrol_patient(clinic)[0]  # session 1: 2026-11-20 10:00 Rome


@pytest.fixture
def changes(monkeypatch):
    """Record every after_course_change call (the reminder engine's hook)."""
    calls = []
    original = courses.after_course_change
    monkeypatch.setattr(courses, "after_course_change",
                        lambda p: (calls.append(p.id), original(p)))
    return calls


def starts(patient) -> list[datetime]:
    db.session.expire_all()
    return [s.starts_at for s in sorted(patient.course.sessions, key=lambda s: s.number)]


def numbers(patient) -> list[int]:
    return [s.number for s in sorted(patient.course.sessions, key=lambda s: s.starts_at)]


def record(client, patient, local: str):
    return post(client, f"/staff/patients/{patient.id}/sessions", {"record-starts_at": local})


# -- the page --------------------------------------------------------------------------------


def test_detail_shows_course_today_access_and_is_audited(client, patient):
    response = client.get(f"/staff/patients/{patient.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Maria Rossi</h1>" in html
    assert "Session 1 of 4" in html and "Day 5" in html and "First weeks" in html
    page = page_html(html)
    # The record form is ready with now, in the patient's zone.
    assert 'value="2026-11-25T13:00"' in html
    # One held session, three projected every 3 weeks at the same local time.
    assert len(page.select(".session.session-held")) == 1
    assert len(page.select(".session.session-projected")) == 3
    assert "Fri 11 Dec, 10:00" in html
    # Their Today, in its words and rows: exfoliants until day 7 (27 Nov 10:00 Rome), heat
    # and sun fine again since day 2.
    preview = page.select_one("section.card.today-preview")
    exfoliants = preview.select_one('.until-row:has(.item[data-key="exfoliants"])')
    assert text_of(exfoliants.select_one(".until-when")).startswith(
        "Until Fri 27 Nov, 10:00 in 2 days")
    assert "OK from" not in text_of(preview)
    since = preview.select_one('.since-row:has(.item[data-key="heat"])')
    assert text_of(since.select_one(".since")) == "since Sun 22 Nov, 10:00"
    assert accesscode.code_for(patient) in html
    assert_no_inline_code(html)
    assert actions(patient_id=patient.id)[-1] == "patient.viewed"


def test_detail_of_a_missing_patient_is_404(client):
    assert client.get("/staff/patients/999999").status_code == 404


# -- record a session ------------------------------------------------------------------------


def test_record_today_s_session_moves_the_patient_to_day_0(client, patient, changes):
    response = record(client, patient, "2026-11-25T13:00")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/staff/patients/{patient.id}"
    assert starts(patient)[-1] == NOW
    plan = policy.plan_for(patient)
    assert (plan.day, plan.sessions_done, plan.phase) == (0, 2, "immediate")
    assert changes == [patient.id]
    assert "Session 2 recorded." in client.get(response.headers["Location"]).get_data(
        as_text=True)
    assert "session.recorded" in actions(patient_id=patient.id)


def test_record_a_future_session_books_it(client, patient):
    assert record(client, patient, "2026-12-09T15:30").status_code == 303
    plan = policy.plan_for(patient)
    assert plan.sessions_done == 1
    assert plan.next_session.booked
    assert plan.next_session.starts_at == datetime(2026, 12, 9, 14, 30, tzinfo=UTC)


def test_record_an_earlier_session_renumbers_them(client, patient):
    assert record(client, patient, "2026-11-01T09:00").status_code == 303
    assert starts(patient) == [datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
                               datetime(2026, 11, 20, 9, 0, tzinfo=UTC)]
    assert numbers(patient) == [1, 2]


@pytest.mark.parametrize(
    ("local", "message"),
    [
        ("2027-03-28T02:30", "2027-03-28 02:30 does not exist in Europe/Rome"),
        ("2026-11-20T18:00", "Session 1 is at Fri 20 Nov, 10:00, less than a day"),
        ("2029-01-01T10:00", "within a year before or two years after today"),
        ("", "Enter the date and time of the session."),
        ("tomorrow", "Not a valid datetime value."),
    ],
    ids=["dst-gap", "same-day", "far-future", "empty", "words"],
)
def test_record_bad_times_are_refused_next_to_the_field(client, patient, changes, local,
                                                        message):
    response = record(client, patient, local)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in (field_error(html, "record-starts_at") or "")
    assert len(starts(patient)) == 1
    assert changes == []


def test_record_more_than_planned_is_refused(client, clinic):
    patient, _ = enrol_patient(clinic, sessions=1)
    response = record(client, patient, "2026-11-25T13:00")
    assert response.status_code == 400
    assert "All 1 planned sessions are already recorded" in field_error(
        response.get_data(as_text=True), "record-starts_at")
    assert len(starts(patient)) == 1


# -- move and cancel -------------------------------------------------------------------------


def booked(client, patient, local="2026-12-11T10:00") -> TreatmentSession:
    assert record(client, patient, local).status_code == 303
    db.session.expire_all()
    return max(patient.course.sessions, key=lambda s: s.starts_at)


def test_move_a_booked_session(client, patient, changes):
    session = booked(client, patient)
    response = post(client, f"/staff/patients/{patient.id}/sessions/{session.id}/move",
                    {f"move{session.id}-starts_at": "2026-12-14T16:15"})
    assert response.status_code == 303
    assert starts(patient)[-1] == datetime(2026, 12, 14, 15, 15, tzinfo=UTC)
    assert changes == [patient.id, patient.id]
    assert actions(patient_id=patient.id)[-1] == "session.moved"


def test_move_before_another_session_renumbers(client, patient):
    session = booked(client, patient)
    post(client, f"/staff/patients/{patient.id}/sessions/{session.id}/move",
         {f"move{session.id}-starts_at": "2026-11-10T10:00"})
    db.session.expire_all()
    assert session.number == 1
    assert numbers(patient) == [1, 2]


def test_move_into_a_dst_gap_is_refused(client, patient):
    session = booked(client, patient)
    response = post(client, f"/staff/patients/{patient.id}/sessions/{session.id}/move",
                    {f"move{session.id}-starts_at": "2027-03-28T02:15"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "does not exist in Europe/Rome" in field_error(html, f"move{session.id}-starts_at")
    assert "<details class=\"session-change\" open>" in html
    assert starts(patient)[-1] == datetime(2026, 12, 11, 9, 0, tzinfo=UTC)


def test_cancel_a_session(client, patient, changes):
    session = booked(client, patient)
    response = post(client, f"/staff/patients/{patient.id}/sessions/{session.id}/cancel")
    assert response.status_code == 303
    assert len(starts(patient)) == 1
    assert changes == [patient.id, patient.id]
    assert actions(patient_id=patient.id)[-1] == "session.cancelled"


def test_the_last_session_cannot_be_cancelled(client, patient, changes):
    session = patient.course.sessions[0]
    response = post(client, f"/staff/patients/{patient.id}/sessions/{session.id}/cancel")
    assert response.status_code == 400
    assert "A course needs at least one session" in response.get_data(as_text=True)
    assert len(starts(patient)) == 1
    assert changes == []


def test_a_session_of_another_patient_is_404(client, clinic, patient):
    other, _ = enrol_patient(clinic, name="Other Person")
    session = other.course.sessions[0]
    for action in ("move", "cancel"):
        response = post(client, f"/staff/patients/{patient.id}/sessions/{session.id}/{action}",
                        {f"move{session.id}-starts_at": "2026-12-14T16:15"})
        assert response.status_code == 404
    assert len(starts(other)) == 1


# -- plan ------------------------------------------------------------------------------------


def test_change_the_plan(client, patient, changes):
    response = post(client, f"/staff/patients/{patient.id}/plan",
                    {"plan-planned_sessions": "6", "plan-interval_weeks": "2"})
    assert response.status_code == 303
    db.session.expire_all()
    assert (patient.course.planned_sessions, patient.course.interval_weeks) == (6, 2)
    assert policy.plan_for(patient).next_session.starts_at == datetime(
        2026, 12, 4, 9, 0, tzinfo=UTC)
    assert changes == [patient.id]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"plan-planned_sessions": "0", "plan-interval_weeks": "3"}, "plan-planned_sessions",
         "Number must be between 1 and 12."),
        ({"plan-planned_sessions": "4", "plan-interval_weeks": "x"}, "plan-interval_weeks",
         "Not a valid integer value."),
    ],
)
def test_change_the_plan_bad_input(client, patient, data, field, message):
    response = post(client, f"/staff/patients/{patient.id}/plan", data)
    assert response.status_code == 400
    assert message in field_error(response.get_data(as_text=True), field)
    db.session.expire_all()
    assert patient.course.planned_sessions == 4


def test_plan_cannot_drop_below_the_known_sessions(client, patient):
    booked(client, patient)
    response = post(client, f"/staff/patients/{patient.id}/plan",
                    {"plan-planned_sessions": "1", "plan-interval_weeks": "3"})
    assert response.status_code == 400
    assert "2 sessions are recorded or booked" in response.get_data(as_text=True)


# -- per-patient windows ---------------------------------------------------------------------


def test_override_a_window_for_one_patient(client, clinic, patient, changes):
    other, _ = enrol_patient(clinic, name="Other Person",
                             first_session=datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    patient_b = other
    changes.clear()
    response = post(client, f"/staff/patients/{patient_b.id}/windows", {"windows-heat": "72"})
    assert response.status_code == 303
    heat = {a.key: a.until for a in policy.plan_for(patient_b).avoid}["heat"]
    assert heat == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert policy.window_overrides(patient) == {}  # nobody else's plan changes
    html = page_html(client.get(f"/staff/patients/{patient_b.id}"))
    assert [row.th.label["for"] for row in html.select("tr.overridden")] == ["windows-heat"]
    heat_input = html.select_one("input#windows-heat")
    # 72 hours read back as 3 days; the placeholder says what an empty field means.
    assert (heat_input["placeholder"], heat_input["value"]) == ("2 days", "3")
    assert html.select_one("select#windows-heat_unit option[selected]")["value"] == "days"
    assert changes == [patient_b.id]
    # Emptying the field goes back to the clinic's window.
    post(client, f"/staff/patients/{patient_b.id}/windows", {"windows-heat": ""})
    assert policy.window_overrides(patient_b) == {}


@pytest.mark.parametrize("value", ["-1", "2161", "abc", "1.5"])
def test_window_override_out_of_bounds(client, patient, value):
    response = post(client, f"/staff/patients/{patient.id}/windows", {"windows-sun": value})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "windows-sun")
    assert policy.window_overrides(patient) == {}


# -- invite, access code, devices, archive ---------------------------------------------------


def test_invite_page_has_a_scannable_qr_of_the_link(client, clinic):
    response = post(client, "/staff/patients/new", {
        "name": "Lucia Bianchi", "area": "face", "first_session": "2026-11-25T12:00",
        "planned_sessions": "4", "interval_weeks": "3", "timezone": "Europe/Rome"})
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    page = page_html(html)
    link = page.select_one("a#invite-link")["href"]
    expected = segno.make(link, error="m", micro=False).svg_inline(
        scale=1, border=4, dark="#000", light="#fff", omitsize=True)
    # The same modules as a fresh QR code of the link: it encodes exactly the link.
    drawn = page.select_one('svg#invite-qr[role="img"] path[stroke="#000"]')["d"]
    assert drawn == page_html(expected).select_one('path[stroke="#000"]')["d"]
    assert "data-copy=\"invite-link\"" in html and "data-print" in html
    assert 'class="print-card print-only"' in html
    assert "+39 06 1234 5678" in html and "Hello Lucia" in html
    assert_no_inline_code(html)


def test_rotate_the_access_code(client, patient):
    old = accesscode.code_for(patient)
    response = post(client, f"/staff/patients/{patient.id}/access-code")
    assert response.status_code == 303
    new = accesscode.code_for(patient)
    assert new != old
    assert accesscode.check(old, "10.0.0.1", NOW).patient is None
    assert accesscode.check(new, "10.0.0.1", NOW).patient.id == patient.id


def test_revoke_all_devices(app, client, patient):
    token = access.add_device(patient, NOW)
    db.session.commit()
    phone = new_client(app)
    phone.set_cookie("meso_device", token)
    assert phone.get("/today").status_code == 200
    response = post(client, f"/staff/patients/{patient.id}/devices/revoke")
    assert response.status_code == 303
    assert phone.get("/today").status_code == 401
    revoked = db.session.scalar(sa.select(PatientDevice.revoked_at))
    assert revoked == NOW
    assert actions(patient_id=patient.id)[-1] == "devices.revoked"


def test_archive_and_restore(app, client, patient, changes):
    code = accesscode.code_for(patient)
    response = post(client, f"/staff/patients/{patient.id}/archive")
    assert response.status_code == 303
    db.session.expire_all()
    assert patient.archived_at == NOW and patient.invite_hash is None
    assert "Maria Rossi" not in client.get("/staff/").get_data(as_text=True)
    assert "Maria Rossi" in client.get("/staff/?archived=1").get_data(as_text=True)
    assert accesscode.check(code, "10.0.0.2", NOW).patient is None
    db.session.rollback()  # the failure count is not the point here
    assert changes == [patient.id]
    assert post(client, f"/staff/patients/{patient.id}/restore").status_code == 303
    db.session.expire_all()
    assert patient.archived_at is None
    assert "Maria Rossi" in client.get("/staff/").get_data(as_text=True)


def test_actions_are_post_only_and_need_csrf(client, patient):
    for path in ("sessions", "plan", "windows", "access-code", "devices/revoke", "archive"):
        url = f"/staff/patients/{patient.id}/{path}"
        assert client.get(url).status_code == 405
        assert client.post(url).status_code == 400
    db.session.expire_all()
    assert patient.archived_at is None and len(patient.course.sessions) == 1


def test_actions_need_sign_in(app, patient):
    anonymous = app.test_client()
    response = anonymous.get(f"/staff/patients/{patient.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/sign-in")


def test_detail_page_at_a_dst_change_uses_local_time(client, clinic):
    patient, _ = enrol_patient(clinic, name="Ora Legale",
                               first_session=datetime(2026, 10, 24, 8, 0, tzinfo=UTC))
    html = client.get(f"/staff/patients/{patient.id}").get_data(as_text=True)
    # 10:00 CEST; the projected session three weeks later stays at 10:00 (now CET).
    assert "Sat 24 Oct, 10:00" in html and "Sat 14 Nov, 10:00" in html
    assert policy.plan_for(patient, NOW - timedelta(days=40)).phase == "preparation"
