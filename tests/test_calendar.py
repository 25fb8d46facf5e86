"""The course in the phone's own calendar: the secret feed (/cal/<token>.ics), the page that
makes, shows once and stops its link (/calendar), and the one-off file Today links to. Every
feed is parsed back with the icalendar library."""

from __future__ import annotations

import hashlib
import json
import secrets
import zipfile
from datetime import UTC, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa
from conftest import create_clinic, enrol_patient, open_invite
from gunicorn_server import Gunicorn
from helpers import csrf_meta, frozen, page_html, text_of
from icalendar import Calendar
from staff_helpers import new_client, post, signed_in_client

from meso import access, calendar_feeds, courses
from meso.extensions import db
from meso.logredact import redact
from meso.models import AuditEvent, CalendarFeed, ReminderSettings, TreatmentSession

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # day 5 after session 1 (2026-11-20 10:00 Rome)
BASE = "http://localhost"  # MESO_BASE_URL in the tests
HEALTH_WORDS = ("mesotherapy", "session", "treatment", "skin", "sauna", "heat", "sun",
                "exfoliant", "retinol", "acid", "peel", "clinic", "roma", "aftercare")


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(NOW):
        yield


@pytest.fixture
def clinic(app):
    return create_clinic()


@pytest.fixture
def patient(clinic):
    return enrol_patient(clinic)[0]


def phone_of(app, patient, name=None):
    """A phone that opened the patient's link (a fresh invite: the old one is spent)."""
    token = patient.issue_invite(datetime.now(UTC), 14)
    db.session.commit()
    phone = new_client(app)
    assert open_invite(phone, token).status_code == 303
    return phone


@pytest.fixture
def phone(app, patient):
    return phone_of(app, patient)


def make_link(phone) -> str:
    """Make the calendar link on /calendar as the patient does; return its token."""
    page = phone.get("/calendar")
    assert phone.post("/calendar/link", data={"csrf_token": csrf_meta(page)}).status_code == 303
    shown = page_html(phone.get("/calendar"))
    webcal = shown.select_one("a#subscribe")["href"]
    https = shown.select_one("input#calendar-address")["value"]
    token = https.removeprefix(f"{BASE}/cal/").removesuffix(".ics")
    assert https == f"{BASE}/cal/{token}.ics" and webcal == f"webcal://localhost/cal/{token}.ics"
    db.session.expire_all()
    return token


def fetch(token: str, client) -> Calendar:
    response = client.get(f"/cal/{token}.ics")
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    return Calendar.from_ical(response.data)


def by_uid(calendar: Calendar) -> dict:
    return {str(event["UID"]): event for event in calendar.events}


def start_of(event) -> datetime:
    return event.start.astimezone(UTC)


def uid(patient, session, rule="") -> str:
    suffix = f"-{rule}" if rule else ""
    return f"course-{patient.course.id}-session-{session.id}{suffix}@localhost"


def book(patient, local: str) -> TreatmentSession:
    """The clinic books a session (the service the staff page calls)."""
    session = courses.record_session(
        patient, datetime.fromisoformat(local).replace(tzinfo=ROME).astimezone(UTC), None)
    db.session.commit()
    return session


def first_session(patient) -> TreatmentSession:
    return min(patient.course.sessions, key=lambda s: s.starts_at)


# -- Today and the page ------------------------------------------------------------------------


def test_today_links_the_calendar_and_holds_no_secret(phone):
    today = phone.get("/today")
    card = page_html(today).select_one("#calendar")
    hrefs = [a["href"] for a in card.select("a[href]")]
    assert "/calendar" in hrefs
    [one_off] = [h for h in hrefs if h.endswith(".ics")]
    assert "/cal/" not in today.get_data(as_text=True), "Today is kept offline: no feed link"
    download = phone.get(one_off)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert download.headers["Content-Disposition"] == 'attachment; filename="calendar.ics"'
    assert download.headers["Cache-Control"] == "private, no-store"
    calendar = Calendar.from_ical(download.data)
    assert calendar["METHOD"] == "PUBLISH"  # a copy, stamped now: newer than any before it
    [session] = [e for e in calendar.events if str(e["SUMMARY"]).startswith("Mesotherapy")]
    assert session.DTSTAMP == NOW and session["SEQUENCE"] == 0


def test_the_one_off_file_is_only_the_phones_own(app, patient):
    response = new_client(app).get("/calendar/course.ics")
    assert response.status_code == 401 and b"BEGIN:VCALENDAR" not in response.data


def test_the_link_is_made_on_a_post_and_shown_once(phone):
    page = phone.get("/calendar")
    assert page_html(page).select_one("#calendar-off") is not None
    assert phone.post("/calendar/link").status_code == 400, "CSRF-protected"
    assert db.session.scalars(sa.select(CalendarFeed)).all() == []
    token = make_link(phone)
    again = page_html(phone.get("/calendar"))
    assert again.select_one("#subscribe") is None and token not in str(again)
    assert "on, made on Wed 25 Nov" in text_of(again.select_one("#calendar-on"))


def test_only_the_tokens_hash_is_stored(phone, patient):
    token = make_link(phone)
    row = db.session.get(CalendarFeed, patient.id)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = db.session.execute(sa.select(CalendarFeed.__table__)).one()
    assert all(token not in str(value) for value in stored)


# -- what the feed says ------------------------------------------------------------------------


def test_the_feed_holds_booked_sessions_and_the_ok_again_moments(app, patient, phone):
    second = book(patient, "2026-12-11T10:00")
    first = first_session(patient)
    calendar = fetch(make_link(phone), app.test_client())
    assert calendar["X-WR-CALNAME"] == "Aftercare at Clinica Roma"
    assert calendar["X-WR-TIMEZONE"] == "Europe/Rome"
    events = by_uid(calendar)
    sessions = {u: e for u, e in events.items() if "Mesotherapy" in str(e["SUMMARY"])}
    # Booked and held sessions only: sessions 3 and 4 are projected guesses, not in a calendar.
    assert {u: (str(e["SUMMARY"]), start_of(e)) for u, e in sessions.items()} == {
        uid(patient, first): ("Mesotherapy session 1 of 4", datetime(2026, 11, 20, 9, tzinfo=UTC)),
        uid(patient, second): ("Mesotherapy session 2 of 4",
                               datetime(2026, 12, 11, 9, tzinfo=UTC)),
    }
    assert sessions[uid(patient, second)]["LOCATION"] == "Clinica Roma"
    assert "+39 06 1234 5678" in sessions[uid(patient, second)]["DESCRIPTION"]
    assert sessions[uid(patient, second)].end - sessions[uid(patient, second)].start == (
        timedelta(hours=1))
    ok = {u: (str(e["SUMMARY"]), start_of(e)) for u, e in events.items() if u not in sessions}
    assert ok == {
        uid(patient, first, "heat_sun_ok"): ("Heat and the outdoors: OK again",
                                             datetime(2026, 11, 22, 9, tzinfo=UTC)),
        uid(patient, first, "exfoliants_ok"): ("Exfoliants: OK again",
                                               datetime(2026, 11, 27, 9, tzinfo=UTC)),
        uid(patient, first, "vitamin_a_ok"): ("Retinol and acid creams: OK again",
                                              datetime(2026, 12, 4, 9, tzinfo=UTC)),
        uid(patient, second, "heat_sun_ok"): ("Heat and the outdoors: OK again",
                                              datetime(2026, 12, 13, 9, tzinfo=UTC)),
        uid(patient, second, "exfoliants_ok"): ("Exfoliants: OK again",
                                                datetime(2026, 12, 18, 9, tzinfo=UTC)),
        uid(patient, second, "vitamin_a_ok"): ("Retinol and acid creams: OK again",
                                               datetime(2026, 12, 25, 9, tzinfo=UTC)),
    }
    for event in events.values():
        assert str(event["CLASS"]) == "PRIVATE" and event["URL"] == f"{BASE}/today"
        assert event.DTSTAMP.utcoffset() == timedelta(0)


def test_a_session_moved_by_the_clinic_moves_in_the_calendar(app, clinic, patient, phone):
    staff = signed_in_client(app, clinic)
    assert post(staff, f"/staff/patients/{patient.id}/sessions",
                {"record-starts_at": "2026-12-11T10:00"}).status_code == 303
    session = max(patient.course.sessions, key=lambda s: s.starts_at)
    token = make_link(phone)
    before = by_uid(fetch(token, app.test_client()))
    with frozen(NOW + timedelta(minutes=10)):  # within the staff session's idle limit
        moved = post(staff, f"/staff/patients/{patient.id}/sessions/{session.id}/move",
                     {f"move{session.id}-starts_at": "2026-12-14T16:15"})
        assert moved.status_code == 303
        after = by_uid(fetch(token, app.test_client()))
    assert after.keys() == before.keys(), "the same events, under the same UIDs"
    assert start_of(after[uid(patient, session)]) == datetime(2026, 12, 14, 15, 15, tzinfo=UTC)
    assert start_of(before[uid(patient, session)]) == datetime(2026, 12, 11, 9, tzinfo=UTC)
    heat = uid(patient, session, "heat_sun_ok")
    assert start_of(after[heat]) == datetime(2026, 12, 16, 15, 15, tzinfo=UTC)
    first = uid(patient, first_session(patient))
    assert start_of(after[first]) == start_of(before[first])
    for key in after:
        assert after[key]["SEQUENCE"] > before[key]["SEQUENCE"]
        assert after[key].DTSTAMP == NOW + timedelta(minutes=10) > before[key].DTSTAMP


def test_the_feed_reads_the_same_until_something_changes(app, patient, phone):
    token = make_link(phone)
    first = app.test_client().get(f"/cal/{token}.ics").data
    with frozen(NOW + timedelta(hours=5)):
        assert app.test_client().get(f"/cal/{token}.ics").data == first


def test_discreet_calendars_carry_no_health_word_in_their_titles(app, patient, phone):
    book(patient, "2026-12-11T10:00")
    token = make_link(phone)
    plain = fetch(token, app.test_client())
    assert any("mesotherapy" in str(e["SUMMARY"]).lower() for e in plain.events)
    db.session.add(ReminderSettings(patient_id=patient.id, discreet=True))
    courses.after_course_change(patient)
    db.session.commit()
    discreet = fetch(token, app.test_client())
    assert by_uid(discreet).keys() == by_uid(plain).keys()
    assert {str(e["SUMMARY"]) for e in discreet.events} == {"Appointment", "Reminder"}
    assert discreet["X-WR-CALNAME"] == discreet["NAME"] == "My appointments"
    shown = [str(discreet["X-WR-CALNAME"])] + [str(e["SUMMARY"]) for e in discreet.events]
    for text in shown:
        assert not any(word in text.lower() for word in HEALTH_WORDS), text
    assert all("LOCATION" not in e for e in discreet.events)
    page = page_html(phone.get("/calendar"))
    assert "read “Appointment” and “Reminder”" in text_of(page)


def test_the_ok_again_moments_follow_the_reminder_choices(app, patient, phone):
    token = make_link(phone)
    db.session.add(ReminderSettings(patient_id=patient.id, exfoliants=False))
    courses.after_course_change(patient)
    db.session.commit()
    rules = {str(e["UID"]).split("@")[0].rsplit("-", 1)[-1] for e in fetch(
        token, app.test_client()).events}
    assert "heat_sun_ok" in rules and not rules & {"exfoliants_ok", "vitamin_a_ok"}


def test_daylight_saving_times_are_the_real_instants(app):
    """Europe/Rome moves its clocks on 2026-03-29: sessions keep 10:00 on the wall clock, and a
    48-hour window ends 48 real hours later (11:00 by the clock)."""
    with frozen(datetime(2026, 3, 20, 9, tzinfo=UTC)):
        patient, _ = enrol_patient(create_clinic(), first_session=datetime(
            2026, 3, 27, 10, tzinfo=ROME).astimezone(UTC))
        second = book(patient, "2026-04-17T10:00")
        phone = phone_of(app, patient)
        events = by_uid(fetch(make_link(phone), app.test_client()))
    first = first_session(patient)
    assert start_of(events[uid(patient, first)]) == datetime(2026, 3, 27, 9, tzinfo=UTC)
    assert start_of(events[uid(patient, second)]) == datetime(2026, 4, 17, 8, tzinfo=UTC)
    assert events[uid(patient, second)].start.astimezone(ROME).hour == 10
    heat = events[uid(patient, first, "heat_sun_ok")]
    assert start_of(heat) == datetime(2026, 3, 29, 9, tzinfo=UTC)
    assert heat.start.astimezone(ROME).strftime("%H:%M") == "11:00"


# -- the link's life ---------------------------------------------------------------------------


def test_stopping_the_link_and_making_a_new_one(app, patient, phone):
    old = make_link(phone)
    sequence = fetch(old, app.test_client()).events[0]["SEQUENCE"]
    page = phone.get("/calendar")
    stopped = phone.post("/calendar/link/stop", data={"csrf_token": csrf_meta(page)})
    assert stopped.status_code == 303
    assert app.test_client().get(f"/cal/{old}.ics").status_code == 404
    shown = page_html(phone.get("/calendar"))
    assert "Your calendar link is stopped." in text_of(shown)
    # Who can read the appointments changed: the clinic's trail says when, and no secret.
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.patient_id == patient.id)
                                .order_by(AuditEvent.id)).all()
    assert [e.action for e in events][-2:] == ["calendar.linked", "calendar.unlinked"]
    assert all(e.detail == {} and e.staff_user_id is None for e in events[-2:])
    assert shown.select_one("#calendar-off") is not None
    new = make_link(phone)
    assert new != old
    assert app.test_client().get(f"/cal/{old}.ics").status_code == 404
    assert fetch(new, app.test_client()).events[0]["SEQUENCE"] >= sequence


def test_a_new_link_stops_the_old_one(app, phone):
    old = make_link(phone)
    new = make_link(phone)
    assert app.test_client().get(f"/cal/{old}.ics").status_code == 404
    fetch(new, app.test_client())


@pytest.mark.parametrize("token", [secrets.token_urlsafe(32), "x" * 500, "a.b", "%2e%2e"])
def test_unknown_tokens_are_not_found(app, phone, token):
    make_link(phone)
    response = app.test_client().get(f"/cal/{token}.ics")
    assert response.status_code == 404 and b"VCALENDAR" not in response.data


def test_sign_out_everywhere_and_archiving_stop_the_link(app, patient, phone):
    token = make_link(phone)
    access.sign_out_everywhere(patient, NOW)
    db.session.commit()
    assert app.test_client().get(f"/cal/{token}.ics").status_code == 404
    token = make_link(phone_of(app, patient))
    courses.archive(patient, None)
    db.session.commit()
    assert app.test_client().get(f"/cal/{token}.ics").status_code == 404


def test_a_fetch_is_noted_at_most_hourly(app, patient, phone):
    token = make_link(phone)
    assert db.session.get(CalendarFeed, patient.id).fetched_at is None
    fetch(token, app.test_client())
    db.session.expire_all()
    assert db.session.get(CalendarFeed, patient.id).fetched_at == NOW
    with frozen(NOW + timedelta(minutes=30)):
        fetch(token, app.test_client())
    db.session.expire_all()
    assert db.session.get(CalendarFeed, patient.id).fetched_at == NOW


def test_patients_feeds_never_cross(app, clinic, patient, phone):
    """Another patient of the same clinic, and one of another clinic: each link reads its own
    patient's course, whoever fetches it."""
    neighbour, _ = enrol_patient(clinic, name="Paola Verdi",
                                 first_session=datetime(2026, 11, 23, 15, tzinfo=UTC))
    stranger, _ = enrol_patient(create_clinic("Clinica Napoli"), name="Lia Neri",
                                first_session=datetime(2026, 11, 24, 8, tzinfo=UTC))
    tokens = {p.id: make_link(phone_of(app, p)) for p in (neighbour, stranger)}
    tokens[patient.id] = make_link(phone)
    for owner in (patient, neighbour, stranger):
        calendar = fetch(tokens[owner.id], phone)  # fetched by another patient's phone
        prefix = f"course-{owner.course.id}-session-"
        assert all(str(e["UID"]).startswith(prefix) for e in calendar.events)
        [session] = [e for e in calendar.events if "Mesotherapy" in str(e["SUMMARY"])]
        assert start_of(session) == first_session(owner).starts_at
    assert len(set(tokens.values())) == 3
    names = {p.id: fetch(tokens[p.id], phone)["X-WR-CALNAME"] for p in (patient, stranger)}
    assert names == {patient.id: "Aftercare at Clinica Roma",
                     stranger.id: "Aftercare at Clinica Napoli"}


def test_the_export_has_the_feed_but_never_its_token(app, patient, phone):
    token = make_link(phone)
    archive = zipfile.ZipFile(BytesIO(phone.get("/me/export").data))
    data = json.loads(archive.read("aftercare-data.json"))
    [row] = data["tables"]["calendar_feed"]
    assert "token_hash" not in row and row["patient_id"] == patient.id
    assert token not in archive.read("aftercare-data.json").decode()


# -- logs --------------------------------------------------------------------------------------


def test_calendar_links_are_redacted_in_any_log_line():
    token = secrets.token_urlsafe(32)
    assert redact(f'"GET /cal/{token}.ics HTTP/1.1" 200 -') == (
        '"GET /cal/[redacted] HTTP/1.1" 200 -')
    assert redact(f"webcal://aftercare.example/cal/{token}.ics") == (
        "webcal://aftercare.example/cal/[redacted]")
    assert redact("GET /calendar/course.ics") == "GET /calendar/course.ics"


@pytest.mark.sqlite  # the server reads the test's SQLite file
def test_the_feed_token_never_reaches_the_servers_logs(app, tmp_path, patient):
    token = calendar_feeds.issue(patient, NOW)
    db.session.commit()
    with Gunicorn(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"], workers=1) as server:
        got = requests.get(f"{server.base}/cal/{token}.ics", timeout=30)
        gone = requests.get(f"{server.base}/cal/{token[:-2]}xx.ics", timeout=30)
    assert got.status_code == 200 and gone.status_code == 404
    assert Calendar.from_ical(got.content).events
    access_lines = [json.loads(line) for line in server.lines()
                    if '"gunicorn.access"' in line]
    assert [e["path"] for e in access_lines if e["path"].startswith("/cal/")] == [
        "/cal/[redacted]", "/cal/[redacted]"]
    assert token not in server.output() and token[:20] not in server.output()


def test_two_taps_at_once_make_one_row_and_the_last_link_wins(app, patient, monkeypatch):
    """The other request makes the row between this one's look and its insert."""
    original = db.session.get
    calls = []

    def racing_get(model, key, **options):
        if model is CalendarFeed and not calls:
            calls.append(key)
            with db.engine.begin() as other:  # the other request, committed first
                other.execute(sa.insert(CalendarFeed).values(
                    patient_id=key, token_hash="0" * 64, revision=3, changed_at=NOW))
            return None
        return original(model, key, **options)

    monkeypatch.setattr(db.session, "get", racing_get)
    token = calendar_feeds.issue(patient, NOW)
    db.session.commit()
    monkeypatch.undo()
    [row] = db.session.scalars(sa.select(CalendarFeed)).all()
    assert calls == [patient.id]
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and row.revision == 3
