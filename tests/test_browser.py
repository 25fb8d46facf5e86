"""End to end in Debian's Chromium at a phone viewport: enrol, open the link, read Today."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import (
    PHONE,
    create_clinic,
    create_staff,
    enrol_through_form,
    open_invite_in_browser,
    watch_console,
)
from helpers import screenshot
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

def test_enrol_then_patient_reads_today_on_a_phone(app, live_server, browser):
    clinic = create_clinic()
    create_staff(clinic)
    rome = ZoneInfo("Europe/Rome")
    # Three hours ago, on the minute: the heat window has 45 h left.
    session_local = (datetime.now(UTC) - timedelta(hours=3)).astimezone(rome).replace(
        second=0, microsecond=0, tzinfo=None
    )
    heat_ends = (session_local.replace(tzinfo=rome).astimezone(UTC) + timedelta(hours=48))

    staff_context = browser.new_context(**PHONE)
    staff_page = staff_context.new_page()
    staff_errors = watch_console(staff_page)
    link = enrol_through_form(staff_page, live_server, session_local)
    staff_context.close()

    phone = browser.new_context(**PHONE)  # a fresh context: the patient's own phone
    page = phone.new_page()
    errors = watch_console(page)
    # The link's landing, its one button, then Today: the token does not stay in the bar.
    open_invite_in_browser(page, live_server, link.rsplit("/", 1)[1])

    day = (datetime.now(rome).date() - session_local.date()).days
    expect(page.locator("h1")).to_have_text(f"Day {day} · Session 1 of 4 · Face")
    current = page.locator('.phases [aria-current="step"]')
    expect(current.locator(".phase-name")).to_have_text("Settling")

    # The header's Call button, on the first screen.
    expect(page.locator("header .call-top")).to_be_in_viewport()
    heat = page.locator("#avoid .until-row").filter(has=page.locator('.item[data-key="heat"]'))
    ends = heat_ends.astimezone(rome)
    expect(heat).to_have_attribute("data-until", ends.isoformat())
    expect(heat.locator(".until")).to_have_text(re.compile(rf"^Until .*{ends:%H:%M}$"))
    countdown = heat.locator(".countdown")
    expect(countdown).to_have_text(re.compile(r"^in [12] days?$"))  # 45 h: no hours and minutes

    # The countdown is live: when its end passes, the script says so (and CSP let it run).
    page.evaluate(
        """() => {
            document.querySelector('.until-row').dataset.until =
                new Date(Date.now() - 1000).toISOString();
            document.dispatchEvent(new Event('visibilitychange'));
        }"""
    )
    expect(countdown).to_have_text("OK now")
    page.reload()

    # The README's two pictures: docs/screenshots/ with `make screenshots`.
    screenshot(page, "today.png", readme=True, full_page=True)
    page.get_by_role("link", name="Timeline").click()
    page.wait_for_url(f"{live_server}/timeline")
    expect(page.locator('.day[aria-current="date"] .today-badge')).to_have_text("Today")
    screenshot(page, "timeline.png", readme=True)
    phone.close()
    assert errors == [] and staff_errors == []
