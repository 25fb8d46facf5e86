"""The clinic follows up, in Chromium: a phone check-in on day 3 (swelling getting worse, a
fever) tells the patient to call the clinic and puts them at the top of the staff roster with
an alert badge; the patient page shows the answers; a note acknowledges it and the patient
leaves the top. Screenshots at phone and desktop widths."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from checkin_flow import send_checkin_in_browser
from conftest import (
    PASSWORD,
    PHONE,
    create_clinic,
    create_staff,
    enrol_patient,
    open_invite_in_browser,
    watch_console,
)
from helpers import screenshot
from playwright.sync_api import expect
from test_a11y import violations

from meso import access
from meso.extensions import db

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 900}, "device_scale_factor": 1,
           "locale": "en-GB"}


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/staff/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_be_visible()


def test_a_call_clinic_check_in_puts_the_patient_on_top_until_acknowledged(
        app, live_server, browser):
    clinic = create_clinic()
    create_staff(clinic)
    create_staff(clinic, email="luca@clinic.example")
    now = datetime.now(UTC)
    # By next session, the overdue patient comes first and Maria Rossi after. Maria's session
    # was three local days ago at this wall-clock time: today is her day 3.
    early = enrol_patient(clinic, name="Anna Prima", first_session=now - timedelta(days=25))[0]
    access.add_device(early, now)
    db.session.commit()
    rome = ZoneInfo("Europe/Rome")
    session = (datetime.now(rome) - timedelta(days=3)).astimezone(UTC)
    _, token = enrol_patient(clinic, name="Maria Rossi", first_session=session)
    patient_phone = browser.new_context(**PHONE)
    maria = patient_phone.new_page()
    patient_errors = watch_console(maria)
    open_invite_in_browser(maria, live_server, token)

    desk = browser.new_context(**DESKTOP)
    page = desk.new_page()
    errors = watch_console(page)
    sign_in(page, live_server, "anna@clinic.example")
    rows = page.locator("table.roster tbody tr")
    expect(rows.first.locator("td.name a")).to_have_text("Anna Prima")
    expect(page.locator("[data-attention]")).to_have_count(0)

    # Maria's phone sends a check-in: swelling getting worse, a fever: "call the clinic".
    answer = send_checkin_in_browser(maria, live_server, feeling=2,
                                     signs={"redness": "moderate", "swelling": "strong"},
                                     trend="worse", symptoms=["fever"])
    expect(answer).to_have_attribute("data-advice", "call_clinic")
    expect(maria.locator("#call-clinic")).to_be_visible()
    patient_phone.close()
    page.reload()
    top = rows.first
    expect(top.locator("td.name a")).to_have_text("Maria Rossi")
    expect(top).to_have_attribute("data-attention", "call_clinic")
    expect(top.locator(".badge.alert")).to_have_text(re.compile(r"Call back"))
    expect(rows.nth(1).locator("td.name a")).to_have_text("Anna Prima")
    screenshot(page, "attention-roster-desktop.png", full_page=True)
    found = violations(page)

    top.locator("td.name a").click()
    card = page.locator("#attention")
    expect(card).to_be_visible()
    expect(card.locator(".advice-badge")).to_have_text(re.compile("Told to call the clinic today"))
    expect(card.locator("dl.answers")).to_contain_text("Swelling: Strong")
    expect(card.locator("dl.answers")).to_contain_text("Fever")
    expect(page.locator("#planned-reminders ol.planned li").first).to_be_visible()
    screenshot(page, "attention-patient-desktop.png", full_page=True)
    found += violations(page)

    # The same at phone width, as a colleague on the move (in dark mode).
    phone = browser.new_context(**PHONE, color_scheme="dark")
    mobile = phone.new_page()
    phone_errors = watch_console(mobile)
    sign_in(mobile, live_server, "luca@clinic.example")
    mobile_top = mobile.locator("table.roster tbody tr").first
    expect(mobile_top).to_have_attribute("data-attention", "call_clinic")
    expect(mobile_top.locator(".badge.alert")).to_be_visible()
    screenshot(mobile, "attention-roster-phone.png", full_page=True)
    found += violations(mobile)
    mobile_top.locator("td.name a").click()
    expect(mobile.locator("#attention")).to_be_visible()
    screenshot(mobile, "attention-patient-phone.png", full_page=True)
    found += violations(mobile)
    phone.close()

    # An empty note is refused next to the field; a short note acknowledges.
    card.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#attention-note-error")).to_contain_text("Write a short note")
    screenshot(page, "attention-note-error-desktop.png")
    found += violations(page)
    assert errors == ["Failed to load resource: the server responded with a status of 400 "
                      "(BAD REQUEST)"]  # that refusal, and nothing else
    errors.clear()
    page.get_by_label("Note").fill("Called back: seen tomorrow at 9.")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".flash-ok")).to_have_text("Acknowledged 1 check-in.")
    expect(page.locator("#attention")).to_have_count(0)
    expect(page.locator("#checkins .acknowledged").first).to_contain_text(
        "Acknowledged by anna@clinic.example")

    page.get_by_role("link", name="Patients", exact=True).click()
    expect(rows.first.locator("td.name a")).to_have_text("Anna Prima")
    expect(page.locator("[data-attention]")).to_have_count(0)
    desk.close()
    assert errors == [] and phone_errors == [] and patient_errors == []
    assert found == []
