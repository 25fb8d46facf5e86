"""The Timeline and the phase strip in Debian's Chromium at a phone viewport: the Timeline of a
four-session course fits the budget (at most 2,400 CSS px tall at 360 x 780), nothing scrolls
sideways at 320 px, a closed session opens to its days. Screenshots in test-artifacts/."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import PHONE, create_clinic, enrol_patient, open_invite_in_browser, watch_console
from helpers import screenshot
from photo_helpers import jpeg
from playwright.sync_api import expect

from meso import courses, photo_store
from meso.extensions import db

pytestmark = pytest.mark.browser

BUDGET = 2400  # CSS px, the whole Timeline page at 360 x 780 (issue 15)
SIZE = """() => ({ height: document.documentElement.scrollHeight,
                   scroll: document.documentElement.scrollWidth,
                   width: document.documentElement.clientWidth })"""
OPEN_ALL = "document.querySelectorAll('details').forEach((d) => d.open = true)"


def four_sessions(clinic, stage: str, area="face", name="Maria Rossi"):
    """Enrol a patient of a four-session course (every 3 weeks) at a stage of it; return the
    invite token. Sessions are recorded as a clinic would, relative to now."""
    now = datetime.now(UTC)
    if stage == "before":  # enrolled today, the first session in five days
        return enrol_patient(clinic, name=name, area=area, first_session=now + timedelta(days=5))[1]
    if stage == "day 0":  # three hours after the first session
        return enrol_patient(clinic, name=name, area=area,
                             first_session=now - timedelta(hours=3))[1]
    # Two days after the fourth and last session, all four recorded.
    first = now - timedelta(weeks=9, days=2)
    patient, token = enrol_patient(clinic, name=name, area=area, first_session=first)
    for k in (1, 2, 3):
        courses.record_session(patient, first + timedelta(weeks=3 * k), None)
    db.session.commit()
    return token


@pytest.fixture
def clinic(app):
    return create_clinic()


@pytest.mark.parametrize("stage", ["before", "day 0", "after the last session"])
@pytest.mark.parametrize("area", ["face", "scalp"])
def test_the_timeline_of_a_four_session_course_fits_the_budget(app, live_server, browser, clinic,
                                                                stage, area):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = watch_console(page)
    open_invite_in_browser(page, live_server, four_sessions(clinic, stage, area))
    page.goto(f"{live_server}/timeline")
    expect(page.locator("section.cycle.current h2")).to_be_visible()
    size = page.evaluate(SIZE)
    screenshot(page, f"timeline-{area}-{stage.replace(' ', '-')}.png", full_page=True)
    assert size["height"] <= BUDGET, size
    assert size["scroll"] <= size["width"], size
    assert errors == []
    context.close()


@pytest.mark.parametrize("stage", ["day 0", "after the last session"])
def test_a_course_with_photos_after_every_session_fits_the_budget(app, live_server, browser,
                                                                 clinic, stage):
    """Two progress photos in each cycle: past sessions keep theirs folded with their days."""
    patient, token = enrol_patient(clinic, first_session=datetime.now(UTC) - timedelta(hours=3))
    if stage != "day 0":
        patient, token = four_sessions_with_patient(clinic)
    now = datetime.now(UTC)
    for session in patient.course.sessions:
        for after in (timedelta(hours=1), timedelta(hours=2)):
            if session.starts_at + after <= now:
                photo_store.add(patient, jpeg(size=(900, 1200)), session.starts_at + after)
    db.session.commit()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = watch_console(page)
    open_invite_in_browser(page, live_server, token)
    page.goto(f"{live_server}/timeline")
    expect(page.locator("section.cycle.current h2")).to_be_visible()
    # Every session's photos are on the page: the current one's in the photos card, the
    # others folded in their cycle, one tap away.
    current = len(patient.course.sessions)
    expect(page.locator("section.photos .photo-thumbs img")).to_have_count(2)
    if current > 1:
        folded = page.locator('section.cycle[data-session="1"] .cycle-photos img')
        expect(folded).to_have_count(2)
        expect(folded.first).to_be_hidden()
        page.locator('section.cycle[data-session="1"] summary').click()
        expect(folded.first).to_be_visible()
        page.locator('section.cycle[data-session="1"] summary').click()
        expect(folded.first).to_be_hidden()
    size = page.evaluate(SIZE)
    screenshot(page, f"timeline-photos-{stage.replace(' ', '-')}.png", full_page=True)
    assert size["height"] <= BUDGET, size
    assert size["scroll"] <= size["width"], size
    assert errors == []
    context.close()


def four_sessions_with_patient(clinic):
    """The four-session course two days after its last session (as four_sessions)."""
    now = datetime.now(UTC)
    first = now - timedelta(weeks=9, days=2)
    patient, token = enrol_patient(clinic, name="Paola Verdi", first_session=first)
    for k in (1, 2, 3):
        courses.record_session(patient, first + timedelta(weeks=3 * k), None)
    db.session.commit()
    return patient, token


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_nothing_scrolls_sideways_at_320_px_with_every_session_open(app, live_server, browser,
                                                                    clinic, scheme):
    context = browser.new_context(**{**PHONE, "viewport": {"width": 320, "height": 780}},
                                  color_scheme=scheme)
    page = context.new_page()
    open_invite_in_browser(page, live_server, four_sessions(clinic, "day 0"))
    size = page.evaluate(SIZE)
    assert size["scroll"] <= size["width"], ("today", size)  # the phase strip
    page.goto(f"{live_server}/timeline")
    expect(page.locator("section.cycle.current h2")).to_be_visible()
    page.evaluate(OPEN_ALL)
    expect(page.locator("section.cycle.future li.day").first).to_be_visible()
    size = page.evaluate(SIZE)
    assert size["scroll"] <= size["width"], ("timeline", size)
    screenshot(page, f"timeline-320-open-{scheme}.png", full_page=True)
    context.close()


def test_a_session_line_opens_to_its_days(app, live_server, browser, clinic):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    open_invite_in_browser(page, live_server, four_sessions(clinic, "day 0"))
    page.goto(f"{live_server}/timeline")
    current = page.locator("section.cycle.current")
    expect(current.locator('li.day[aria-current="date"] .today-badge')).to_have_text("Today")
    second = page.locator('section.cycle[data-session="2"]')
    days = second.locator("li.day")
    expect(days.first).to_be_hidden()
    second.get_by_role("heading", name="Session 2").click()
    expect(days.first).to_be_visible()
    expect(second.locator("li.event-session")).to_have_text(
        "Session 2 (planned, to be confirmed)")
    screenshot(page, "timeline-session-2-open.png", full_page=True)
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_phase_strip_on_today(app, live_server, browser, clinic, scheme):
    context = browser.new_context(**PHONE, color_scheme=scheme)
    page = context.new_page()
    open_invite_in_browser(page, live_server, four_sessions(clinic, "day 0"))
    steps = page.locator("ol.phases > li")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_have_text(re.compile(r"^\s*Settling · to \w{3} \d+ \w{3}\s*$"))
    expect(page.locator('ol.phases [aria-current="step"] .phase-name')).to_have_text("Settling")
    expect(steps.nth(2)).to_have_text(re.compile(r"^\s*Session 2 · week of \d+ \w{3}\s*$"))
    # One line a step: the strip is a short list, not a row of pills.
    heights = [steps.nth(i).bounding_box()["height"] for i in range(3)]
    assert max(heights) < 40, heights
    screenshot(page.locator("section.hero"), f"today-phase-strip-{scheme}.png")
    context.close()
