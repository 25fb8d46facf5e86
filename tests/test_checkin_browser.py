"""A phone check-in in Debian's Chromium: day 3, swelling getting worse and a fever; then
trouble breathing, answered first on the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from checkin_flow import send_checkin_in_browser
from conftest import PHONE, create_clinic, enrol_patient, open_invite_in_browser, watch_console
from helpers import screenshot
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_phone_check_in_on_day_3_with_a_fever_shows_the_call_button(app, live_server,
                                                                      browser):
    clinic = create_clinic()
    rome = ZoneInfo("Europe/Rome")
    # Three local days ago, at this wall-clock time: today is day 3.
    session = (datetime.now(rome) - timedelta(days=3)).astimezone(UTC)
    _, token = enrol_patient(clinic, first_session=session)
    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    errors = watch_console(page)
    open_invite_in_browser(page, live_server, token)
    screenshot(page.locator("#checkin"), "checkin-form.png")

    answer = send_checkin_in_browser(page, live_server, feeling=2, signs={"swelling": "moderate"},
                                     trend="worse", symptoms=["fever"])
    expect(answer).to_have_attribute("data-advice", "call_clinic")
    call = page.locator("#call-clinic")
    expect(call).to_be_visible()
    expect(call).to_have_attribute("href", "tel:+390612345678")
    expect(answer.locator(".advice-call_clinic .advice-title")).to_have_text(
        "Call your clinic today")
    expect(answer.locator(".reasons li").first).to_be_visible()
    expect(answer.locator(".not-read")).to_be_visible()
    expect(page.locator("#call-emergency")).to_be_hidden()
    answer.scroll_into_view_if_needed()
    screenshot(page, "checkin-call-clinic.png")

    # Trouble breathing: the emergency call moves to the top of the page, before anything.
    answer = send_checkin_in_browser(page, live_server, feeling=3, symptoms=["breathing"])
    expect(answer).to_have_attribute("data-advice", "emergency")
    emergency = page.locator("#call-emergency")
    expect(emergency).to_be_visible()
    expect(emergency).to_have_attribute("href", "tel:112")
    expect(page.locator("#call-clinic")).to_be_hidden()
    first = page.evaluate("document.querySelector('main').firstElementChild.contains("
                          "document.getElementById('call-emergency'))")
    assert first
    assert page.evaluate("window.scrollY") == 0
    screenshot(page, "checkin-emergency.png")
    phone.close()
    assert errors == []
