"""The front desk in Chromium at tablet size: enrol, read the QR code and the access code,
record the second session, and see the roster follow."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import segno
from conftest import create_clinic, create_staff, enrol_through_form, watch_console
from helpers import page_html, screenshot
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TABLET = {"viewport": {"width": 820, "height": 1180}, "device_scale_factor": 1,
          "has_touch": True, "locale": "en-GB"}


def test_front_desk_at_tablet_size(app, live_server, browser):
    clinic = create_clinic()
    create_staff(clinic)
    rome = ZoneInfo("Europe/Rome")
    first = (datetime.now(UTC) - timedelta(weeks=3, hours=1)).astimezone(rome)
    context = browser.new_context(**TABLET)
    page = context.new_page()
    errors = watch_console(page)
    link = enrol_through_form(page, live_server, first)

    # The invite page: link, a QR code of exactly that link, big, and the access code.
    assert re.fullmatch(rf"{re.escape(live_server)}/i/[A-Za-z0-9_\-]{{43,}}", link)
    qr = page.locator("svg#invite-qr")
    box = qr.bounding_box()
    assert box["width"] >= 280 and box["height"] >= 280, box  # readable at arm's length
    drawn = qr.locator("path[stroke]").get_attribute("d")
    fresh = segno.make(link, error="m", micro=False).svg_inline(scale=1, border=4,
                                                                  omitsize=True)
    assert drawn == page_html(fresh).select_one('path[stroke="#000"]')["d"]
    expect(page.locator("#access-code")).to_have_text(
        re.compile(r"^[2-9A-Z]{4}-[2-9A-Z]{3}-[2-9A-Z]{3}$"))
    screenshot(page, "staff-invite.png")

    # The roster: session 1 of 4, day 21, the next session (session 2) is due now: overdue.
    page.get_by_role("link", name="Patients", exact=True).click()
    row = page.locator("table.roster tbody tr", has_text="Lucia Bianchi")
    expect(row).to_contain_text("1 of 4")
    expect(row).to_contain_text("overdue")

    # Record session 2 now (the form is filled with the current time), after a page that
    # names the date in full.
    row.get_by_role("link", name="Lucia Bianchi").click()
    page.get_by_role("button", name="Record session…").click()
    expect(page.locator("h1")).to_have_text("Record session 2 for Lucia Bianchi?")
    expect(page.locator(".confirm-when time")).to_contain_text(re.compile(r"\d{4} at \d\d:\d\d"))
    screenshot(page, "staff-confirm-session.png")
    page.get_by_role("button", name="Record session 2").click()
    expect(page.locator(".flash-ok")).to_have_text("Session 2 recorded.")
    expect(page.locator(".patient-head .summary")).to_contain_text(
        re.compile(r"Session 2 of 4\s*·\s*Day 0\s*·\s*Immediate"))
    screenshot(page, "staff-patient.png")

    page.get_by_role("link", name="Patients", exact=True).click()
    row = page.locator("table.roster tbody tr", has_text="Lucia Bianchi")
    expect(row).to_contain_text("2 of 4")
    expect(row).to_contain_text("Immediate")
    expect(row).not_to_contain_text("overdue")
    screenshot(page, "staff-roster.png")
    context.close()
    assert errors == []
