"""Each language in Debian's Chromium: no sideways scroll at 320 px and axe clean on the
patient's pages and a staff page; the service worker's offline page stays in the language it
was given, and follows the patient's switch on Today.

Longer words (French and Spanish run a third longer than English) are what can push a
320 px page sideways: these tests mean most once the catalogues are translated.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import PASSWORD, PHONE, create_clinic, create_staff, enrol_patient
from helpers import wait_until
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from test_a11y import OVERFLOW, violations
from test_pwa_browser import WAIT_FOR_CONTROL

from meso import locales
from meso.extensions import db

pytestmark = pytest.mark.browser

PAGES = ("/today", "/timeline", "/checkins/new")


def tag(lang: str) -> str:
    return locales.locale_of(lang).replace("_", "-")


@pytest.fixture
def clinic(app):
    clinic = create_clinic()
    create_staff(clinic)
    return clinic


def patient_in(clinic, lang: str) -> str:
    session = datetime.now(UTC) - timedelta(hours=3)  # every restriction running
    patient, token = enrol_patient(clinic, name=f"Maria {lang}", first_session=session)
    patient.lang = lang
    db.session.commit()
    return token


CONTROLLED_BY = """async ([script, offline]) => Boolean(
    navigator.serviceWorker.controller
    && navigator.serviceWorker.controller.scriptURL.endsWith(script)
    && await caches.match(offline))"""


def controlled_by(page, script: str, offline: str) -> bool:
    try:
        return page.evaluate(CONTROLLED_BY, [script, offline])
    except PlaywrightError:  # the page reloading as the new worker takes control
        return False


def open_link(page, base: str, token: str) -> None:
    """The landing's one button, whatever language it is in; then Today."""
    page.goto(f"{base}/i/{token}")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{base}/today")
    page.wait_for_load_state("load")


@pytest.mark.parametrize("lang", locales.SUPPORTED)
def test_each_language_fits_320px_and_is_axe_clean(app, live_server, browser, clinic, lang):
    context = browser.new_context(**{**PHONE, "viewport": {"width": 320, "height": 780}})
    page = context.new_page()
    open_link(page, live_server, patient_in(clinic, lang))
    overflow, found = {}, []
    for path in (*PAGES, f"/offline?lang={lang}"):
        page.goto(f"{live_server}{path}")
        expect(page.locator("html")).to_have_attribute("lang", tag(lang))
        page.evaluate("document.querySelectorAll('details').forEach((d) => d.open = true)")
        result = page.evaluate(OVERFLOW)
        if result["scroll"] > result["width"] or result["wide"]:
            overflow[path] = result
        found += violations(page)
    context.close()
    assert overflow == {}
    assert found == []


@pytest.mark.parametrize("lang", ["it", "fr", "es"])
def test_staff_pages_in_each_language_fit_and_are_axe_clean(app, live_server, browser, clinic,
                                                            lang):
    context = browser.new_context(**{**PHONE, "viewport": {"width": 320, "height": 780},
                                     "locale": tag(lang)})  # the browser's Accept-Language
    page = context.new_page()
    page.goto(f"{live_server}/staff/sign-in")
    expect(page.locator("html")).to_have_attribute("lang", tag(lang))
    page.locator("#email").fill("anna@clinic.example")
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live_server}/staff/")
    overflow, found = {}, []
    for path in ("/staff/patients/new", "/staff/account"):
        page.goto(f"{live_server}{path}")
        expect(page.locator("html")).to_have_attribute("lang", tag(lang))
        result = page.evaluate(OVERFLOW)
        if result["scroll"] > result["width"] or result["wide"]:
            overflow[path] = result
        found += violations(page)
    context.close()
    assert overflow == {}
    assert found == []


def test_the_offline_page_keeps_the_patients_language_and_follows_the_switch(
        app, live_server, browser, clinic):
    # The phone's browser speaks English: the offline page must not.
    context = browser.new_context(**{**PHONE, "locale": "en-GB"})
    page = context.new_page()
    open_link(page, live_server, patient_in(clinic, "it"))
    control = page.evaluate(WAIT_FOR_CONTROL)
    assert control["script"] == f"{live_server}/sw.js?lang=it"
    context.set_offline(True)
    page.goto(f"{live_server}/access-code")  # never kept: the offline page answers
    expect(page.locator("html")).to_have_attribute("lang", "it-IT")
    expect(page.locator(".offline-page")).to_be_visible()
    context.set_offline(False)

    # The patient switches to French on Today: the next page registers the French worker.
    page.goto(f"{live_server}/today")
    expect(page.locator(".your-data-more .lang-now")).to_have_text("Italiano")
    page.locator(".your-data-more summary").click()  # the switch is inside "Your data"
    page.locator("form.lang-switch select[name=lang]").select_option("fr")
    page.locator("form.lang-switch button[type=submit]").click()
    # The new page, then (maybe) its reload when the French worker takes over.
    expect(page.locator("html")).to_have_attribute("lang", "fr-FR", timeout=20000)
    # The French worker controls the page (app.js reloads it then), its offline page stored.
    wait_until(lambda: controlled_by(page, "/sw.js?lang=fr", "/offline?lang=fr"),
               message="the French worker in control")
    context.set_offline(True)
    page.goto(f"{live_server}/access-code")
    expect(page.locator("html")).to_have_attribute("lang", "fr-FR")
    expect(page.locator(".offline-page")).to_be_visible()
    context.close()
