"""Accessibility in Debian's Chromium: axe-core (WCAG 2.2 AA and best practice) with zero
violations on every patient page and the staff sign-in, roster and enrol pages, in light and
dark mode; tap targets, reflow at 320 px and 200 % text, visible focus, reduced motion."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import (
    PASSWORD,
    PHONE,
    create_clinic,
    create_staff,
    enrol_patient,
    open_invite_in_browser,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

AXE = Axe()  # axe-core bundled with the package: runs offline
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": [
    "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}}
IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")
OFFER_INSTALL = """() => {
    const offer = new Event("beforeinstallprompt", { cancelable: true });
    offer.prompt = () => Promise.resolve();
    offer.userChoice = Promise.resolve({ outcome: "dismissed" });
    window.dispatchEvent(offer);
}"""
SUBMIT_WITHOUT_SCRIPT = "document.querySelector('form.checkin-form').submit()"


def violations(page) -> list[str]:
    """axe's findings on the page as it is now, one readable line per rule and element."""
    found = AXE.run(page, options=AXE_OPTIONS).response["violations"]
    return [f"{page.url} {v['id']} ({v['impact']}): {n['target']} {n['failureSummary']}"
            for v in found for n in v["nodes"]]


@pytest.fixture
def clinic(app):
    clinic = create_clinic()
    create_staff(clinic)
    return clinic


def enrolled(clinic, hours_since_session=3, name="Maria Rossi"):
    session = datetime.now(UTC) - timedelta(hours=hours_since_session)
    return enrol_patient(clinic, name=name, first_session=session)[1]


def patient_states(page, live_server):
    """Walk a patient's phone through every page and state; yield a name at each stop."""
    page.goto(f"{live_server}/today")
    page.evaluate(OFFER_INSTALL)  # the install card showing
    yield "today"
    page.goto(f"{live_server}/timeline")
    yield "timeline"
    page.goto(f"{live_server}/checkins/new")
    yield "check-in page"
    with page.expect_navigation():  # no answer chosen: errors next to the question
        page.evaluate(SUBMIT_WITHOUT_SCRIPT)
    yield "check-in errors"
    page.locator("form.checkin-form").get_by_label("Not good").check()
    page.locator("form.checkin-form").get_by_label("Fever").check()
    with page.expect_navigation():
        page.evaluate(SUBMIT_WITHOUT_SCRIPT)
    yield "check-in result"
    page.goto(f"{live_server}/today")
    card = page.locator("#checkin")
    card.get_by_text("Something changed? Check in again").click()
    card.get_by_label("Trouble breathing").check()
    card.get_by_label("Bad").check()
    card.get_by_role("button", name="Send check-in").click()
    # The emergency call, moved to the top of the page once the server has answered too.
    expect(page.locator('main > .checkin-result #advice[data-advice="emergency"]')).to_be_visible()
    expect(page.locator("#checkin .checkin-status")).to_have_text("Sent to your clinic.")
    yield "today after a red-flag check-in"
    page.goto(f"{live_server}/offline")
    yield "offline page"
    page.goto(f"{live_server}/nowhere")
    yield "not found"


def test_axe_finds_nothing_on_patient_pages(app, live_server, browser, clinic, scheme):
    found = []
    context = browser.new_context(**PHONE, color_scheme=scheme)
    page = context.new_page()
    page.goto(f"{live_server}/today")  # no link opened yet
    found += violations(page)
    page.goto(f"{live_server}/i/{'x' * 43}")
    found += violations(page)
    token = enrolled(clinic)
    page.goto(f"{live_server}/i/{token}")  # the landing, before its button
    found += violations(page)
    open_invite_in_browser(page, live_server, token)
    page.goto(f"{live_server}/i/{enrolled(clinic, name='Luca Bianchi')}")
    expect(page.get_by_role("button", name="Switch to this aftercare")).to_be_visible()
    found += violations(page)  # the question before switching to another patient
    for _state in patient_states(page, live_server):
        found += violations(page)
    context.close()

    # Before the first session, on an iPhone (the Home Screen hint), and an offline copy.
    context = browser.new_context(**PHONE, color_scheme=scheme, user_agent=IPHONE_UA)
    page = context.new_page()
    open_invite_in_browser(page, live_server, enrolled(clinic, -50, "Lucia Bianchi"))
    found += violations(page)  # Today: the reminders card gives the Home Screen steps
    page.goto(f"{live_server}/timeline")
    expect(page.locator("#ios-hint")).to_be_visible()
    found += violations(page)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    context.set_offline(True)
    page.reload()
    expect(page.locator(".offline-note")).to_be_visible()
    found += violations(page)
    context.close()
    assert found == []


def test_axe_finds_nothing_on_staff_pages(app, live_server, browser, clinic, scheme):
    enrolled(clinic)
    context = browser.new_context(**PHONE, color_scheme=scheme)
    page = context.new_page()
    page.goto(f"{live_server}/staff/sign-in")
    found = violations(page)
    page.get_by_label("Email").fill("anna@clinic.example")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    found += violations(page)  # the error next to the field
    page.get_by_label("Email").fill("anna@clinic.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Enrol a patient").first.wait_for()
    found += violations(page)  # the roster
    page.get_by_role("link", name="Enrol a patient").first.click()
    page.get_by_label("Patient name").wait_for()
    found += violations(page)
    page.get_by_role("button", name="Enrol and get the link").click()  # empty: errors
    found += violations(page)
    context.close()
    assert found == []


@pytest.fixture(params=["light", "dark"])
def scheme(request):
    return request.param


# -- beyond axe -----------------------------------------------------------------------------

TAP_TARGETS = """() => {
    const small = [];
    const targets = document.querySelectorAll(
        "a[href], button, input:not([type=hidden]), select, textarea, summary");
    for (const el of targets) {
        // A radio or checkbox is tapped through the label around it.
        const box = (["radio", "checkbox"].includes(el.type) && el.closest("label")) || el;
        const rect = box.getBoundingClientRect();
        if (!rect.width && !rect.height) continue;  // not shown
        // Links inside a sentence are exempt (WCAG 2.5.8); links standing alone are not.
        const parent = el.parentElement;
        if (el.tagName === "A" && parent.textContent.trim() !== el.textContent.trim()) continue;
        if (rect.height < 44 || rect.width < 44) {
            small.push(`${el.tagName} "${el.textContent.trim().slice(0, 30)}" `
                       + `${Math.round(rect.width)}x${Math.round(rect.height)}`);
        }
    }
    return small;
}"""

OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll("body *")].filter((el) => {
        const rect = el.getBoundingClientRect();
        return rect.width && (rect.right > width + 1 || rect.left < -1)
            && !el.closest(".visually-hidden, .skip");
    }).map((el) => `${el.tagName}.${el.className}`);
    return { scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5) };
}"""


def test_tap_targets_are_at_least_44px(app, live_server, browser, clinic):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    small = {}
    page.goto(f"{live_server}/today")  # the "open your link" page
    small["no access"] = page.evaluate(TAP_TARGETS)
    token = enrolled(clinic)
    page.goto(f"{live_server}/i/{token}")
    small["invite landing"] = page.evaluate(TAP_TARGETS)
    open_invite_in_browser(page, live_server, token)
    for state in patient_states(page, live_server):
        page.evaluate("document.querySelectorAll('details').forEach((d) => d.open = true)")
        small[state] = page.evaluate(TAP_TARGETS)
    context.close()
    assert {state: found for state, found in small.items() if found} == {}


@pytest.mark.parametrize(
    ("width", "text_zoom"),
    [(320, 100), (360, 200), (640, 100)],  # narrow phone; 200 % text; 1280 px desktop at 200 %
)
def test_pages_reflow_without_sideways_scrolling(app, live_server, browser, clinic, width,
                                                 text_zoom):
    context = browser.new_context(**{**PHONE, "viewport": {"width": width, "height": 780}})
    page = context.new_page()
    open_invite_in_browser(page, live_server, enrolled(clinic))
    overflow = {}
    for state in patient_states(page, live_server):
        page.evaluate(f"document.documentElement.style.fontSize = '{text_zoom}%'")
        result = page.evaluate(OVERFLOW)
        if result["scroll"] > result["width"] or result["wide"]:
            overflow[state] = result
    context.close()
    assert overflow == {}


def test_keyboard_focus_is_visible_and_in_reading_order(app, live_server, browser, clinic):
    context = browser.new_context(**{**PHONE, "is_mobile": False, "has_touch": False})
    page = context.new_page()
    open_invite_in_browser(page, live_server, enrolled(clinic))
    stops = []
    for _ in range(40):
        page.keyboard.press("Tab")
        stop = page.evaluate("""() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            const rect = el.getBoundingClientRect();
            return { name: el.tagName + " " + (el.textContent || el.value || "").trim()
                                                .slice(0, 20),
                     top: rect.top + window.scrollY, visible: rect.width > 0,
                     outline: style.outlineStyle !== "none"
                              && parseFloat(style.outlineWidth) >= 2 };
        }""")
        if stop["name"].startswith("BODY"):
            break
        stops.append(stop)
    assert stops[0]["name"].startswith("A Skip to content")
    assert len(stops) > 10
    unseen = [s["name"] for s in stops if not (s["outline"] and s["visible"])]
    assert unseen == []
    tops = [s["top"] for s in stops[1:]]
    # Reading order: each stop is below the previous one, or on the same row.
    assert all(b >= a - 60 for a, b in itertools.pairwise(tops)), stops
    context.close()


def test_reduced_motion_stops_every_animation(app, live_server, browser, clinic):
    context = browser.new_context(**PHONE, reduced_motion="reduce")
    page = context.new_page()
    open_invite_in_browser(page, live_server, enrolled(clinic))
    moving = page.evaluate("""() => [...document.querySelectorAll("*")].filter((el) => {
        const style = getComputedStyle(el);
        return style.animationName !== "none"
            || style.transitionDuration.split(",").some((d) => parseFloat(d) > 0)
            || style.scrollBehavior === "smooth";
    }).map((el) => el.tagName)""")
    assert moving == []
    context.close()
