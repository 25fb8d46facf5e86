"""The invite landing and the access code in Debian's Chromium at phone size: one button opens
the aftercare, another patient's phone is asked before it switches, and the access code never
lands in the service worker's caches."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import (
    PHONE,
    create_clinic,
    enrol_patient,
    open_invite_in_browser,
    watch_console,
)
from helpers import wait_until
from playwright.sync_api import expect

from meso import accesscode
from meso.extensions import db
from meso.models import Patient

pytestmark = pytest.mark.browser

# Every cached response of every cache, as {url path: body text}.
CACHED_BODIES = """async () => {
    const found = {};
    for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        for (const request of await cache.keys()) {
            const response = await cache.match(request);
            found[name + " " + new URL(request.url).pathname] = await response.text();
        }
    }
    return found;
}"""
IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")
CONTROLLED = "() => Boolean(navigator.serviceWorker && navigator.serviceWorker.controller)"


@pytest.fixture
def clinic(app):
    return create_clinic()


def enrolled(clinic, name="Maria Rossi") -> str:
    session = datetime.now(UTC) - timedelta(hours=3)
    return enrol_patient(clinic, name=name, first_session=session)[1]


def kept_pages(page) -> dict[str, str] | None:
    """Every cached body, once Today and the Timeline are among them."""
    bodies = page.evaluate(CACHED_BODIES)
    return bodies if {"meso-pages-v1 /today", "meso-pages-v1 /timeline"} <= set(bodies) else None


def test_the_landing_has_one_button_that_opens_today(app, live_server, browser, clinic):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = watch_console(page)
    token = enrolled(clinic)
    page.goto(f"{live_server}/i/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your aftercare from your clinic")
    expect(page.get_by_role("button")).to_have_count(1)
    expect(page.get_by_role("button")).to_have_text("Open my aftercare")
    expect(page.locator('meta[name="robots"]')).to_have_attribute("content", "noindex, nofollow")
    assert all(c["name"] != "meso_device" for c in context.cookies())
    open_invite_in_browser(page, live_server, token)
    expect(page.locator("#today-title")).to_contain_text("Session 1 of 4")
    assert any(c["name"] == "meso_device" for c in context.cookies())
    context.close()
    assert errors == []


def test_another_patients_phone_is_asked_then_switches(app, live_server, browser, clinic):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = watch_console(page)
    open_invite_in_browser(page, live_server, enrolled(clinic))
    page.goto(f"{live_server}/i/{enrolled(clinic, 'Luca Bianchi')}")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "This phone already has an aftercare open")
    expect(page.get_by_text("It is open here for Maria.")).to_be_visible()
    # Keeping the current one changes nothing.
    page.get_by_role("link", name="Keep Maria's aftercare").click()
    expect(page).to_have_url(f"{live_server}/today")
    expect(page.locator(".hero .eyebrow")).to_have_text("Hello Maria")
    page.go_back()
    page.get_by_role("button", name="Switch to this aftercare").click()
    expect(page).to_have_url(f"{live_server}/today")
    expect(page.locator(".hero .eyebrow")).to_have_text("Hello Luca")
    context.close()
    assert errors == []


def test_the_access_code_is_shown_on_demand_and_never_cached(app, live_server, browser,
                                                           clinic):
    """On an iPhone (whose Home Screen app keeps its own cookies): Today's button fetches the
    code and shows it with a copy button; neither Today nor the code's page is ever kept."""
    token = enrolled(clinic)
    context = browser.new_context(**PHONE, user_agent=IPHONE_UA)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    errors = watch_console(page)
    open_invite_in_browser(page, live_server, token)
    wait_until(lambda: page.evaluate(CONTROLLED), message="the service worker in control",
               page=page)
    page.reload()  # Today and Timeline now go through the worker, which keeps them
    card = page.locator("#access-code-card")
    expect(card.locator("#access-code")).to_be_hidden()
    card.get_by_role("link", name="Show my access code").click()
    expect(page).to_have_url(f"{live_server}/today")  # shown in place, on demand
    code_text = card.locator("#access-code")
    expect(code_text).to_have_text(re.compile(r"^[2-9A-Z]{4}-[2-9A-Z]{3}-[2-9A-Z]{3}$"))
    code = code_text.inner_text()
    expect(card.get_by_role("link", name="Show my access code")).to_be_hidden()
    card.get_by_role("button", name="Copy the code").click()
    expect(card.locator(".copy-status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == code
    # Its own page, for a phone without scripts: the same code, and a copy button too.
    page.goto(f"{live_server}/access-code")
    expect(page.locator("#access-code")).to_have_text(code)
    page.get_by_role("link", name="Back to Today").click()
    page.goto(f"{live_server}/timeline")
    bodies = wait_until(lambda: kept_pages(page), message="Today and Timeline kept", page=page)
    assert not [key for key, body in bodies.items()
                if code in body or code.replace("-", "") in body]
    assert not any(key.endswith("/access-code") for key in bodies)
    # Offline, the code page is not there: the offline page is.
    context.set_offline(True)
    page.goto(f"{live_server}/access-code")
    expect(page.locator("h1")).to_have_text("You are offline")
    context.close()
    assert errors == []
    db.session.rollback()  # a fresh read: the live server committed the code in its thread
    assert code == accesscode.code_for(db.session.scalar(sa.select(Patient)))
