"""Today on a 360 x 780 phone in Debian's Chromium, issue 15's budgets: the evening of day 0 at
21:00 fits in three screens (at most 2,400 CSS px), the header's Call button is on the first
screen, nothing scrolls sideways at 320 px, and ticking a red flag says what to do at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import PHONE, create_clinic, enrol_patient, open_invite_in_browser, watch_console
from helpers import frozen, screenshot
from playwright.sync_api import expect

from meso.extensions import db
from meso.models import ClinicSettings

pytestmark = pytest.mark.browser

ROME = ZoneInfo("Europe/Rome")
# A Sunday session at 14:00: exfoliants end on Sun 6 Dec, retinol on Sun 13 Dec.
SESSION = datetime(2026, 11, 29, 14, 0, tzinfo=ROME)
DAY_0_EVENING = datetime(2026, 11, 29, 21, 0, tzinfo=ROME)
DAY_10 = datetime(2026, 12, 9, 10, 0, tzinfo=ROME)
HEIGHT_BUDGET = 2400  # CSS px: three screens of a 360 x 780 phone

PAGE_HEIGHT = "document.documentElement.scrollHeight"
# What each part of the page takes, to say where a budget went.
SECTION_HEIGHTS = """() => Object.fromEntries([...document.querySelectorAll(
    "header, main > *, footer")].map((el) => [el.id || el.className,
                                               Math.round(el.getBoundingClientRect().height)]))"""
SIDEWAYS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


def phone_at(browser, live_server, at: datetime, clinic=None, **context):
    """A patient's phone opening their link at ``at``: the server's clock and the page's stop
    there (the caller keeps the server's frozen)."""
    clinic = clinic or create_clinic()
    _, token = enrol_patient(clinic, first_session=SESSION.astimezone(UTC))
    phone = browser.new_context(**{**PHONE, **context})
    page = phone.new_page()
    page.clock.set_fixed_time(at)
    open_invite_in_browser(page, live_server, token)
    return phone, page


@pytest.mark.parametrize("user_agent", [None, IPHONE], ids=["android", "iphone"])
def test_day_0_at_nine_in_the_evening_fits_three_screens_with_the_call_button_first(
        app, live_server, browser, user_agent):
    agent = {"user_agent": user_agent} if user_agent else {}
    with frozen(DAY_0_EVENING):
        phone, page = phone_at(browser, live_server, DAY_0_EVENING, **agent)
        errors = watch_console(page)
        page.reload()
        expect(page.locator("#normal h2")).to_have_text("Normal tonight")
        call = page.locator("header .call-top")
        expect(call).to_be_visible()
        expect(call).to_have_attribute("href", "tel:+390612345678")
        box = call.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 780  # the first screen
        if user_agent:  # the Home Screen steps are there, on the card that needs them
            expect(page.locator('#reminders [data-show="ios"]')).to_be_visible()
        name = "today-day0-2100" + ("-iphone" if user_agent else "")
        screenshot(page, f"{name}-first-screen.png")
        # The two Sundays read differently; the nearest end is said as "in 2 days".
        rows = page.locator("#avoid .until-row")
        expect(rows).to_have_count(3)
        expect(rows.nth(0).locator(".until")).to_have_text("Until Tue 1 Dec, 14:00")
        expect(rows.nth(0).locator(".countdown")).to_have_text("in 2 days")
        expect(rows.nth(1).locator(".until")).to_have_text("Until Sun 6 Dec, 14:00")
        expect(rows.nth(2).locator(".until")).to_have_text("Until Sun 13 Dec, 14:00")
        expect(rows.nth(2).locator(".countdown")).to_have_text("in 2 weeks")
        # Each reason is one tap away.
        why = rows.nth(0).locator('.why[data-key="heat"]')
        expect(why).to_be_hidden()
        rows.nth(0).locator("summary").click()
        expect(why).to_have_text("Heat can irritate the treated skin and make swelling worse.")
        rows.nth(0).locator("summary").click()
        expect(why).to_be_hidden()
        screenshot(page, f"{name}.png", full_page=True)
        height = page.evaluate(PAGE_HEIGHT)
        assert height <= HEIGHT_BUDGET, str(page.evaluate(SECTION_HEIGHTS))
        phone.close()
    assert errors == []


def test_no_sideways_scrolling_at_320_px(app, live_server, browser):
    with frozen(DAY_0_EVENING):
        phone, page = phone_at(browser, live_server, DAY_0_EVENING,
                               viewport={"width": 320, "height": 700})
        page.locator("#checkin .scale .choice").first.click()  # the whole check-in open
        page.locator('#checkin input[name="symptoms"][value="fever"]').check()
        page.evaluate("document.querySelectorAll('details').forEach((d) => d.open = true)")
        assert page.evaluate(SIDEWAYS) is False
        phone.close()


def test_ticking_a_red_flag_says_what_to_do_before_sending(app, live_server, browser):
    with frozen(DAY_0_EVENING):
        phone, page = phone_at(browser, live_server, DAY_0_EVENING)
        errors = watch_console(page)
        card = page.locator("#checkin")
        expect(card.locator(".checkin-more")).to_be_hidden()  # one row until a feeling
        card.get_by_label("Not good").check()
        expect(card.locator(".checkin-more")).to_be_visible()
        expect(card.get_by_role("alert")).to_be_hidden()
        card.get_by_label("Fever").check()
        alert = card.get_by_role("alert")
        expect(alert).to_be_visible()
        expect(alert.get_by_role("link", name="Call Clinica Roma · +39 06 1234 5678")
               ).to_be_visible()
        expect(alert.get_by_role("link", name="Emergency: call 112")).to_be_visible()
        screenshot(card, "today-flag-alert.png")
        # Trouble breathing: emergency services first.
        card.get_by_label("Trouble breathing").check()
        expect(alert.locator(".advice-emergency .advice-title")).to_have_text(
            "Call emergency services now")
        expect(alert.locator(".advice-call_clinic")).to_be_hidden()
        # "None of these" clears them, and the alert goes.
        card.get_by_label("None of these").check()
        expect(card.get_by_label("Fever")).not_to_be_checked()
        expect(alert).to_be_hidden()
        send = card.get_by_role("button", name="Send check-in")
        assert send.bounding_box()["width"] >= card.locator("form").bounding_box()["width"] - 1
        phone.close()
    assert errors == []


def test_day_10_and_the_clinic_closed_at_night(app, live_server, browser):
    clinic = create_clinic()
    with frozen(DAY_10):
        for scheme in ("light", "dark"):
            phone, page = phone_at(browser, live_server, DAY_10, clinic, color_scheme=scheme)
            page.reload()
            expect(page.locator("#normal h2")).to_have_text("Normal today")
            expect(page.locator("#avoid .until-row .until")).to_have_text(
                ["Until Sun 13 Dec, 14:00"])
            expect(page.locator("#ok-again .since")).to_have_text(
                ["since Tue 1 Dec, 14:00", "since Sun 6 Dec, 14:00"])
            screenshot(page, f"today-day10{'-dark' if scheme == 'dark' else ''}.png",
                       full_page=True)
            phone.close()
    at_night = SESSION + timedelta(hours=9)  # 23:00, the clinic is closed
    clinic_hours = [["09:00", "19:00"]] * 6 + [None]
    with frozen(at_night):
        phone, page = phone_at(browser, live_server, at_night, clinic)
        settings = ClinicSettings.of(clinic.id)
        settings.opening_hours = clinic_hours
        db.session.add(settings)
        db.session.commit()
        page.reload()
        closed = page.locator("#red-flags .out-of-hours")
        expect(closed).to_contain_text("Your clinic is closed now. It opens again tomorrow 09:00.")
        screenshot(page.locator("#red-flags"), "today-out-of-hours.png")
        phone.close()
