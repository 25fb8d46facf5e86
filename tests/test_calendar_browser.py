"""The calendar in Debian's Chromium at a phone viewport: from Today's card to a calendar link,
shown once, with axe, tap targets and reflow checked on the way (test_a11y's checks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import PHONE, create_clinic, enrol_patient, open_invite_in_browser, watch_console
from helpers import screenshot
from playwright.sync_api import expect
from test_a11y import OVERFLOW, TAP_TARGETS, violations

pytestmark = pytest.mark.browser


def test_from_todays_card_to_a_calendar_link(app, live_server, browser):
    _, token = enrol_patient(create_clinic(),
                             first_session=datetime.now(UTC) - timedelta(hours=3))
    context = browser.new_context(**{**PHONE, "viewport": {"width": 320, "height": 780}})
    page = context.new_page()
    errors = watch_console(page)
    open_invite_in_browser(page, live_server, token)
    card = page.locator("#calendar")
    expect(card.get_by_role("link", name="Download the dates (.ics)")).to_have_attribute(
        "href", "/calendar/course.ics")
    card.scroll_into_view_if_needed()
    screenshot(page, "calendar-card.png")
    card.get_by_role("link", name="Add to my calendar").click()
    expect(page).to_have_url(f"{live_server}/calendar")
    expect(page.locator("#calendar-off")).to_have_text("You have no calendar link yet.")
    page.get_by_role("button", name="Make my calendar link").click()
    subscribe = page.get_by_role("link", name="Subscribe on this phone")
    expect(subscribe).to_be_visible()
    feed = page.locator("#calendar-address").input_value()
    assert feed.startswith(f"{live_server}/cal/") and feed.endswith(".ics")
    assert subscribe.get_attribute("href") == "webcal://" + feed.split("://", 1)[1]
    assert page.evaluate(TAP_TARGETS) == []
    overflow = page.evaluate(OVERFLOW)
    assert overflow["scroll"] <= overflow["width"] and overflow["wide"] == [], overflow
    assert violations(page) == []
    screenshot(page, "calendar-link.png", full_page=True)
    # Shown once: a reload says the link is on, without it.
    page.reload()
    expect(page.locator("#calendar-on")).to_contain_text("Your calendar link is on")
    assert feed not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Stop my calendar link").click()
    expect(page.locator("#calendar-off")).to_be_visible()
    assert violations(page) == []
    context.close()
    assert errors == []
