"""The front desk in Chromium at tablet size: enrol, read the QR code and the access code,
record the second session, and see the roster follow."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import segno
from conftest import create_clinic, create_staff, enrol_through_form, watch_console

pytestmark = pytest.mark.browser

TABLET = {"viewport": {"width": 820, "height": 1180}, "device_scale_factor": 1,
          "has_touch": True, "locale": "en-GB"}
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


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
    assert drawn == re.search(r'stroke="#000" d="([^"]+)"', fresh).group(1)
    code = page.locator("#access-code").inner_text()
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{3}-[2-9A-Z]{3}", code)
    page.screenshot(path=str(SHOTS / "staff-invite.png"))

    # The roster: session 1 of 4, day 21, the next session (session 2) is due now: overdue.
    page.get_by_role("link", name="Patients", exact=True).click()
    row = page.locator("table.roster tbody tr", has_text="Lucia Bianchi")
    assert "1 of 4" in row.inner_text() and "overdue" in row.inner_text()

    # Record session 2 now (the form is filled with the current time).
    row.get_by_role("link", name="Lucia Bianchi").click()
    page.get_by_role("button", name="Record session").click()
    assert page.locator(".flash-ok").inner_text() == "Session 2 recorded."
    summary = " ".join(page.locator(".patient-head .summary").inner_text().split())
    assert "Session 2 of 4 · Day 0 · Immediate" in summary
    page.screenshot(path=str(SHOTS / "staff-patient.png"))

    page.get_by_role("link", name="Patients", exact=True).click()
    row = page.locator("table.roster tbody tr", has_text="Lucia Bianchi")
    text = " ".join(row.inner_text().split())
    assert "2 of 4" in text and "Immediate" in text and "overdue" not in text
    page.screenshot(path=str(SHOTS / "staff-roster.png"))
    context.close()
    assert errors == []
