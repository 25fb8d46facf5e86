"""The clinic follows up, on the staff pages: alerts first on the roster with their badge,
missed check-ins, the answers and the acknowledge form on the patient's page, and what the
patient will receive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import create_clinic, csrf_token, enrol_patient
from helpers import assert_no_inline_code, field_error, frozen, page_html, text_of
from staff_helpers import actions, add_checkin, new_client, post, signed_in_client

from meso import access, formatting, policy, reminders
from meso.extensions import db
from meso.models import (
    AuditEvent,
    CheckIn,
    PatientDevice,
    PushSubscription,
    ReminderSettings,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # Wednesday 13:00 in Rome
ROME = ZoneInfo("Europe/Rome")


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(NOW):
        yield


@pytest.fixture
def clinic(app):
    return create_clinic()


@pytest.fixture
def client(app, clinic):
    return signed_in_client(app, clinic, "anna@clinic.example")


def enrol(clinic, name, days_ago, **kwargs):
    return enrol_patient(clinic, name=name, first_session=NOW - timedelta(days=days_ago),
                         **kwargs)[0]


def roster(client, url="/staff/"):
    response = client.get(url)
    assert response.status_code == 200
    return page_html(response)


def names(page) -> list[str]:
    return [a.get_text() for a in page.select("tbody td.name > a")]


def row_of(page, name):
    [row] = [tr for tr in page.select("tbody tr")
             if tr.select_one("td.name > a").get_text() == name]
    return row


def ack_url(patient) -> str:
    return f"/staff/patients/{patient.id}/attention/acknowledge"


# -- the roster ---------------------------------------------------------------------------------


@pytest.fixture
def ward(clinic):
    """Five patients; by next session alone they would read A, B, C, D, E."""
    patients = {name: enrol(clinic, name, days) for name, days in (
        ("Anna Prima", 20), ("Bruno Secondo", 12), ("Carla Terza", 5), ("Dario Quarto", 4),
        ("Elena Quinta", 1))}
    for patient in patients.values():
        access.add_device(patient, NOW)
    db.session.commit()
    return patients


@pytest.mark.parametrize("sort", ["next", "name", "recent"])
def test_alerts_come_first_whatever_the_sort(client, ward, sort):
    calm_order = names(roster(client, f"/staff/?sort={sort}"))
    add_checkin(ward["Dario Quarto"], NOW - timedelta(hours=1), "call_clinic", symptoms="fever")
    add_checkin(ward["Bruno Secondo"], NOW - timedelta(hours=3), "call_clinic")
    add_checkin(ward["Elena Quinta"], NOW - timedelta(minutes=5), "emergency",
                symptoms="breathing")
    add_checkin(ward["Anna Prima"], NOW - timedelta(hours=5), "watch")
    page = roster(client, f"/staff/?sort={sort}")
    assert_no_inline_code(str(page))
    rest = [name for name in calm_order
            if name not in ("Elena Quinta", "Bruno Secondo", "Dario Quarto")]
    # Emergency, then call the clinic with the oldest alert first, then the chosen sort.
    assert names(page) == ["Elena Quinta", "Bruno Secondo", "Dario Quarto", *rest]
    rows = page.select("tbody tr")
    assert [tr.get("data-attention") for tr in rows] == [
        "emergency", "call_clinic", "call_clinic", None, None]
    badges = [text_of(tr.select_one(".badge.alert")) for tr in rows[:3]]
    assert badges == ["⚠ Emergency advised", "☎ Call back", "☎ Call back"]
    assert rows[0].select_one(".badge.alert")["class"] == ["badge", "alert", "alert-emergency"]
    # The glyph is a cue beside the words, hidden from screen readers.
    assert rows[1].select_one(".badge.alert [aria-hidden=true]").get_text() == "☎"
    assert "Waiting since Wed 25 Nov, 10:00" in text_of(rows[1])
    assert rows[1].select_one("td.name a")["href"].endswith("#attention")
    assert not rows[3].select(".badge.alert")
    # No health detail on the roster: the badge, never the answers.
    assert "Fever" not in str(page) and "breathing" not in str(page).lower()


def test_acknowledging_takes_the_patient_off_the_top(client, ward):
    patient = ward["Dario Quarto"]
    add_checkin(patient, NOW - timedelta(hours=1), "call_clinic")
    assert names(roster(client))[0] == "Dario Quarto"
    response = post(client, ack_url(patient), {"attention-note": "Called back, all fine."})
    assert response.status_code == 303
    # Back in next-session order (the default sort keeps the other reasons to look first).
    page = roster(client, "/staff/?sort=next")
    assert names(page) == list(ward)
    assert row_of(page, "Dario Quarto").get("data-attention") is None
    assert not page.select(".badge.alert")


def test_needs_attention_only_lists_alerts_and_missed_check_ins(client, clinic):
    alert = enrol(clinic, "Alert Person", 10)
    add_checkin(alert, NOW - timedelta(days=1), "call_clinic")
    quiet = enrol(clinic, "Quiet Person", 3)  # day 3: days 1 and 2 passed without a check-in
    for patient in (alert, quiet):
        access.add_device(patient, NOW)
    fine = enrol(clinic, "Fine Person", 3)
    access.add_device(fine, NOW)
    for day in (1, 2):
        add_checkin(fine, NOW - timedelta(days=3 - day), "expected")
    page = roster(client, "/staff/?attention=1")
    assert names(page) == ["Alert Person", "Quiet Person"]
    assert text_of(row_of(page, "Quiet Person").select_one(".badge.quiet")) == (
        "No check-in days 1, 2")
    assert row_of(page, "Quiet Person").get("data-attention") is None
    everyone = roster(client)
    assert not row_of(everyone, "Fine Person").select(".badge.quiet")


def test_a_single_missed_day_is_named(client, clinic):
    patient = enrol(clinic, "Quiet Person", 3)
    access.add_device(patient, NOW)
    add_checkin(patient, NOW - timedelta(days=2), "expected")  # day 1
    badge = row_of(roster(client), "Quiet Person").select_one(".badge.quiet")
    assert text_of(badge) == "No check-in day 2"


def test_the_roster_never_shows_another_clinic_s_alerts(client, clinic):
    mine = enrol(clinic, "Maria Rossi", 5)
    other = enrol(create_clinic(name="Clinica Napoli", phone="+39 081 000"), "Luca Napoli", 5)
    add_checkin(other, NOW - timedelta(hours=1), "emergency")
    page = roster(client)
    assert names(page) == ["Maria Rossi"] and not page.select("[data-attention]")
    add_checkin(mine, NOW - timedelta(hours=1), "call_clinic")
    assert [tr.get("data-attention") for tr in roster(client).select("tbody tr")] == [
        "call_clinic"]


def count_statements(app, client, url) -> int:
    statements = []

    def executed(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", executed)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", executed)
    return len(statements)


def test_the_roster_runs_the_same_statements_for_3_or_30_patients(app, client, clinic):
    def add(n: int, first: int) -> None:
        for i in range(first, first + n):
            patient = enrol(clinic, f"Patient {i:02d}", (i % 6) + 1)
            if i % 3 == 0:
                add_checkin(patient, NOW - timedelta(hours=i), ("call_clinic", "emergency")[i % 2])
            elif i % 3 == 1:
                access.add_device(patient, NOW)
        db.session.commit()

    add(3, 0)
    few = {url: count_statements(app, client, url) for url in ("/staff/", "/staff/?attention=1")}
    add(27, 3)
    many = {url: count_statements(app, client, url) for url in ("/staff/", "/staff/?attention=1")}
    assert many == few, (few, many)
    assert len(names(roster(client))) == 30


# -- acknowledging ------------------------------------------------------------------------------


@pytest.fixture
def alerted(clinic):
    patient = enrol(clinic, "Maria Rossi", 3)
    add_checkin(patient, NOW - timedelta(hours=2), "call_clinic", feeling=2, symptoms="fever",
                signs={"redness": "mild", "swelling": "strong", "tenderness": "moderate",
                       "bumps": "none", "bruising": "none"}, trend="worse")
    return patient


def open_count(patient) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn).where(
        CheckIn.patient_id == patient.id, CheckIn.acknowledged_at.is_(None),
        CheckIn.advice.in_(("call_clinic", "emergency")))) or 0


@pytest.mark.parametrize("note", ["", "    ", "x" * 281])
def test_acknowledge_needs_a_short_note(client, alerted, note):
    response = post(client, ack_url(alerted), {"attention-note": note})
    assert response.status_code == 400
    assert_no_inline_code(response)
    error = field_error(response, "attention-note")
    assert error is not None and "note" in error
    page = page_html(response)
    textarea = page.select_one("#attention textarea#attention-note")
    assert textarea["aria-invalid"] == "true"
    assert "attention-note-error" in textarea["aria-describedby"]
    assert open_count(alerted) == 1
    assert "checkin.acknowledged" not in actions(patient_id=alerted.id)


def test_acknowledge_without_csrf_is_refused(app, client, alerted):
    response = client.post(ack_url(alerted), data={"attention-note": "Called back"})
    assert response.status_code == 400
    assert open_count(alerted) == 1


def test_acknowledge_saves_the_note_and_shows_who_and_when(client, alerted):
    later = NOW + timedelta(minutes=20)
    with frozen(later):
        response = post(client, ack_url(alerted),
                        {"attention-note": "  Called back; seen tomorrow at 9.  "})
        assert response.status_code == 303
        assert response.headers["Location"] == f"/staff/patients/{alerted.id}#checkins"
        page = page_html(client.get(f"/staff/patients/{alerted.id}"))
    assert open_count(alerted) == 0
    assert page.select_one("#attention") is None
    assert "Acknowledged 1 check-in." in text_of(page.select_one(".flashes"))
    entry = page.select_one("#checkins .checkin-entry")
    assert text_of(entry.select_one(".acknowledged")) == (
        "✓ Acknowledged by anna@clinic.example on Wed 25 Nov, 13:20: "
        "Called back; seen tomorrow at 9.")
    [event] = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "checkin.acknowledged"))
    assert event.detail["count"] == 1 and "Called" not in str(event.detail)


def test_a_second_acknowledgement_says_a_colleague_was_first(app, client, clinic, alerted):
    colleague = signed_in_client(app, clinic, "luca@clinic.example")
    assert post(colleague, ack_url(alerted), {"attention-note": "Done"}).status_code == 303
    post(client, ack_url(alerted), {"attention-note": "Me too"})
    assert "a colleague already did" in client.get(f"/staff/patients/{alerted.id}").get_data(
        as_text=True)
    assert db.session.scalar(sa.select(CheckIn.acknowledgement_note)) == "Done"


def test_an_alert_that_arrived_after_the_page_stays_open(client, alerted):
    page = page_html(client.get(f"/staff/patients/{alerted.id}"))
    seen = page.select_one("#attention input[name=attention-seen_up_to]")["value"]
    newer = add_checkin(alerted, NOW - timedelta(minutes=1), "emergency")
    response = post(client, ack_url(alerted),
                    {"attention-note": "Called back", "attention-seen_up_to": seen})
    assert response.headers["Location"].endswith("#attention")
    assert open_count(alerted) == 1
    page = page_html(client.get(f"/staff/patients/{alerted.id}"))
    assert [int(a["data-checkin"]) for a in page.select("#attention .checkin-entry")] == [
        newer.id]
    assert "still needs attention" in text_of(page.select_one(".flashes"))


def test_another_clinic_s_patient_is_404(app, alerted):
    other = create_clinic(name="Clinica Napoli", phone="+39 081 000")
    stranger = signed_in_client(app, other, "luca@napoli.example", role="admin")
    response = post(stranger, ack_url(alerted), {"attention-note": "Not mine"})
    assert response.status_code == 404
    assert "Maria" not in response.get_data(as_text=True)
    assert open_count(alerted) == 1


def test_a_signed_out_visitor_cannot_acknowledge(app, alerted):
    visitor = new_client(app)
    response = visitor.post(ack_url(alerted), data={
        "attention-note": "Hello", "csrf_token": csrf_token(visitor, "/staff/sign-in")})
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
    assert open_count(alerted) == 1


# -- the patient's page -------------------------------------------------------------------------


def test_the_page_shows_open_alerts_first_with_every_answer(client, alerted):
    add_checkin(alerted, NOW - timedelta(days=1), "expected", feeling=4,
                signs={"redness": "mild", "swelling": "none", "tenderness": "none",
                       "bumps": "none", "bruising": "none"}, trend="better")
    response = client.get(f"/staff/patients/{alerted.id}")
    assert_no_inline_code(response)
    page = page_html(response)
    card = page.select_one("section#attention")
    # Right after the head, before the sessions and everything else.
    assert card.find_previous_sibling("section")["class"] == ["card", "patient-head"]
    assert text_of(card.h2) == "⚠ Needs attention"
    entry = card.select_one(".checkin-entry")
    assert text_of(entry.select_one(".checkin-when")) == "Wed 25 Nov, 11:00 · Day 3"
    assert text_of(entry.select_one(".advice-badge")) == "☎ Told to call the clinic today"
    answers = {text_of(div.dt): text_of(div.dd) for div in entry.select("dl.answers > div")}
    assert answers == {
        "Feeling": "Not good (2/5)",
        "Signs": "Redness: Mild Swelling: Strong Tenderness: Moderate Bumps: None "
                 "Bruising: None",
        "Since yesterday": "Worse",
        "Warning signs ticked": "Fever",
    }
    form = card.select_one("form.acknowledge")
    assert form["action"] == f"/staff/patients/{alerted.id}/attention/acknowledge"
    assert form.select_one("input[name=csrf_token]")["value"]
    assert form.select_one("textarea#attention-note")["maxlength"] == "280"
    assert form.select_one("label[for=attention-note]")
    # The history below has the other one; the open one is read at the top, not twice.
    history = page.select("#checkins .checkin-entry")
    assert [text_of(h.select_one(".advice-badge")) for h in history] == ["Expected for the day"]
    assert "Since yesterday Better" in text_of(history[0])
    assert text_of(page.select_one("#checkins a[href='#attention']")) == (
        "1 open check-in is shown above.")


def test_an_old_check_in_without_signs_reads_as_not_asked(client, clinic):
    patient = enrol(clinic, "Maria Rossi", 2)
    add_checkin(patient, NOW - timedelta(hours=3), "call_clinic", symptoms="pain,rash")
    entry = page_html(client.get(f"/staff/patients/{patient.id}")).select_one(
        "#attention .checkin-entry")
    answers = {text_of(div.dt): text_of(div.dd) for div in entry.select("dl.answers > div")}
    assert answers["Signs"] == "Not asked (an older check-in)"
    assert answers["Since yesterday"] == "Not asked"
    assert answers["Warning signs ticked"] == "Severe or increasing pain A rash or hives"


def test_the_page_shows_missed_check_ins(client, clinic):
    patient = enrol(clinic, "Maria Rossi", 3)  # Sunday 22 Nov 13:00; today is day 3
    add_checkin(patient, NOW - timedelta(days=1), "expected")  # day 2
    page = page_html(client.get(f"/staff/patients/{patient.id}"))
    assert [text_of(li) for li in page.select("#checkins .missed li")] == [
        "No check-in day 1 Mon 23 Nov"]
    assert page.select_one("#attention") is None


def planned(page) -> list[tuple[str, str, str, str]]:
    """The planned reminders shown: (rule, UTC instant, title, body)."""
    return [(li["data-key"], utc(li.time["datetime"]), text_of(li.select_one(".planned-title")),
             text_of(li.select_one(".planned-body")))
            for li in page.select("ol.planned li")]


def utc(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).isoformat()


def expected_upcoming(patient) -> list[tuple[str, str, str, str]]:
    with frozen(NOW):
        course = patient.course
        items = reminders.preview(course, course.session_starts, policy.protocol_for(patient),
                                  policy.reminder_settings_for(patient), formatting.wording())
    upcoming = [i for i in items if datetime.fromisoformat(i["at"]) > NOW]
    return [(i["key"], utc(i["at"]), i["title"], i["body"]) for i in upcoming]


def test_planned_reminders_are_the_preview_of_the_patient_s_plan(app, client, clinic):
    # A session 2 hours ago, a window of the patient's own, a reminder category turned off.
    patient = enrol(clinic, "Maria Rossi", 2 / 24)
    client_post = post(client, f"/staff/patients/{patient.id}/windows", {"windows-heat": "72"})
    assert client_post.status_code == 303
    access.add_device(patient, NOW)
    device = db.session.scalar(sa.select(PatientDevice).where(
        PatientDevice.patient_id == patient.id))
    db.session.add(ReminderSettings(patient_id=patient.id, sun=False))
    db.session.add(PushSubscription(patient_id=patient.id, device_id=device.id,
                                    endpoint="https://fcm.googleapis.com/fcm/send/x",
                                    p256dh="k", auth="a"))
    db.session.commit()
    page = page_html(client.get(f"/staff/patients/{patient.id}"))
    section = page.select_one("section#planned-reminders")
    assert text_of(section.h2) == "What this patient will receive"
    shown = planned(page)
    assert len(shown) > 5
    assert shown == expected_upcoming(patient)
    # Their own heat window (72 h) is the one the heat reminder names and fires at.
    heat = [row for row in shown if row[0] == "heat_ok"]
    assert heat and datetime.fromisoformat(heat[0][1]) == NOW - timedelta(hours=2) + timedelta(
        hours=72), heat
    # The sun category is off: no sun reminder, and the page says so.
    assert not [row for row in shown if row[0].startswith("sun")]
    assert "Turned off by the patient: Sun." in text_of(section)
    assert not section.select(".reminders-state.off")


def test_planned_reminders_say_when_reminders_are_off(client, clinic):
    patient = enrol(clinic, "Maria Rossi", 1)
    section = page_html(client.get(f"/staff/patients/{patient.id}")).select_one(
        "#planned-reminders")
    assert "has not opened their link" in text_of(section.select_one(".reminders-state.off"))
    assert planned(section) == expected_upcoming(patient)
    access.add_device(patient, NOW)
    db.session.commit()
    section = page_html(client.get(f"/staff/patients/{patient.id}")).select_one(
        "#planned-reminders")
    assert "has not turned them on" in text_of(section.select_one(".reminders-state.off"))
    # An address on file carries them instead, once the server can send e-mail.
    patient.email, patient.email_consent_at = "maria@example.org", NOW
    db.session.commit()
    client.application.config["SMTP_URL"] = "smtp://127.0.0.1:2525"
    section = page_html(client.get(f"/staff/patients/{patient.id}")).select_one(
        "#planned-reminders")
    assert not section.select(".reminders-state.off")
    assert "goes to their e-mail address" in text_of(section.select_one(".reminders-state.email"))


def test_an_archived_patient_receives_nothing(client, clinic):
    patient = enrol(clinic, "Maria Rossi", 1)
    access.add_device(patient, NOW)
    db.session.commit()
    assert post(client, f"/staff/patients/{patient.id}/archive").status_code == 303
    section = page_html(client.get(f"/staff/patients/{patient.id}")).select_one(
        "#planned-reminders")
    assert "the patient is archived" in text_of(section.select_one(".reminders-state.off"))


def test_staff_tell_none_of_these_from_a_question_left_out(client, clinic):
    patient = enrol(clinic, "Maria Rossi", 2)
    add_checkin(patient, NOW - timedelta(hours=3), no_flags=True)
    add_checkin(patient, NOW - timedelta(hours=2))
    entries = page_html(client.get(f"/staff/patients/{patient.id}")).select(
        "#checkins .checkin-entry")
    ticked = [{text_of(div.dt): text_of(div.dd) for div in entry.select("dl.answers > div")}[
        "Warning signs ticked"] for entry in entries]
    assert sorted(ticked) == ["None (the patient chose “None of these”)",
                              "None ticked (“None of these” not chosen)"]
