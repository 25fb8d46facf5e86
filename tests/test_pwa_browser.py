"""The PWA in Debian's Chromium at a phone viewport: the service worker, offline pages, the
offline check-in queue, install guidance and updates. Real worker, real caches, real network
switch (context.set_offline also cuts the worker's own requests)."""

from __future__ import annotations

import re
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import (
    PASSWORD,
    PHONE,
    create_clinic,
    create_staff,
    enrol_patient,
    open_invite_in_browser,
    watch_console,
)
from helpers import frozen, screenshot, wait_until
from playwright.sync_api import expect

from meso import access
from meso.extensions import db
from meso.models import CheckIn

pytestmark = pytest.mark.browser

IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")

WAIT_FOR_CONTROL = """async () => {
    const sw = navigator.serviceWorker;
    const control = (async () => {
        const ready = await sw.ready;
        if (!sw.controller) {
            await new Promise((resolve) => sw.addEventListener("controllerchange", resolve,
                                                                 { once: true }));
        }
        const worker = ready.active;
        while (worker.state !== "activated") {
            await new Promise((resolve) => worker.addEventListener("statechange", resolve,
                                                                     { once: true }));
        }
    })();
    const late = new Promise((_, reject) => setTimeout(
        () => reject(new Error("the service worker did not take control in 20 s")), 20000));
    await Promise.race([control, late]);
    const registration = await sw.getRegistration();
    return { scope: registration.scope, state: registration.active.state,
             script: sw.controller.scriptURL };
}"""

CACHED_URLS = """async () => {
    const found = {};
    for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        found[name] = (await cache.keys()).map((request) => new URL(request.url).pathname);
    }
    return found;
}"""


def patient_phone(browser, live_server, token, **options):
    """A new phone (browser context) that opened the patient's link; returns (context, page)."""
    context = browser.new_context(**{**PHONE, **options})
    page = context.new_page()
    open_invite_in_browser(page, live_server, token)
    return context, page


def controlled(page, live_server) -> None:
    """Wait until the worker controls the page, then load Today and Timeline through it."""
    info = page.evaluate(WAIT_FOR_CONTROL)
    assert info == {"scope": f"{live_server}/", "state": "activated",
                    "script": f"{live_server}/sw.js?lang=en"}
    page.goto(f"{live_server}/today")
    page.goto(f"{live_server}/timeline")
    page.goto(f"{live_server}/today")


def count_checkins() -> int:
    db.session.rollback()  # a fresh read: the live server commits in its own thread
    return db.session.scalar(sa.select(sa.func.count(CheckIn.id)))


@pytest.fixture
def clinic(app):
    clinic = create_clinic()
    create_staff(clinic)
    return clinic


@pytest.fixture
def token(clinic):
    """A patient whose session was three hours ago: every restriction still running."""
    _, token = enrol_patient(clinic, first_session=datetime.now(UTC) - timedelta(hours=3))
    return token


def test_today_and_timeline_work_offline_and_staff_pages_never_do(app, live_server, browser,
                                                                   token):
    context, page = patient_phone(browser, live_server, token)
    errors = watch_console(page)
    page.clock.install()  # the page's own clock, to show the countdowns tick from the copy
    controlled(page, live_server)
    expect(page.locator("#today-title")).to_be_visible()
    online_title = page.locator("h1").inner_text()
    note = page.locator(".offline-note")
    expect(note).to_be_hidden()
    plan_online = page.evaluate("fetch('/api/plan').then((r) => r.json())")

    # Staff sign in on the same phone, online: the pages work but are never stored.
    page.goto(f"{live_server}/staff/sign-in")
    page.get_by_label("Email").fill("anna@clinic.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/staff/.*"))
    staff_url = page.url
    page.goto(f"{live_server}/today")

    context.set_offline(True)
    page.goto(f"{live_server}/today")
    expect(page.locator("h1")).to_have_text(online_title)
    expect(note).to_be_visible()
    rendered = datetime.fromisoformat(note.get_attribute("data-rendered-at"))
    expect(note.locator(".offline-text")).to_have_text(f"Offline — updated at {rendered:%H:%M}")
    # The countdowns keep ticking from the stored end instants: 44 hours on, the 48-hour
    # window has an hour or so left, in hours and minutes now.
    countdown = page.locator("#avoid .until-row .countdown").first
    expect(countdown).to_have_text(re.compile(r"^in [12] days?$"))
    page.clock.fast_forward("44:00:00")
    page.clock.run_for(21_000)  # the next tick of countdown.js
    expect(countdown).to_have_text(re.compile(r"^in (\d+ min|1 h( \d+ min)?)$"))
    page.clock.resume()
    screenshot(page, "offline.png")

    page.goto(f"{live_server}/timeline")
    expect(page.locator("#timeline-title")).to_be_visible()
    expect(note).to_be_visible()
    assert page.evaluate("fetch('/api/plan').then((r) => r.json())") == plan_online
    page.goto(f"{live_server}/")
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("#today-title")).to_be_visible()

    # A page never stored (a staff page above all) offline: the offline page, not a copy.
    for url in (staff_url, f"{live_server}/staff/sign-in", f"{live_server}/checkins/new"):
        page.goto(url)
        expect(page.locator("h1"), url).to_have_text("You are offline")
    screenshot(page, "offline-page.png")
    cached = page.evaluate(CACHED_URLS)
    assert sorted(cached["meso-pages-v1"]) == ["/api/plan", "/timeline", "/today"]
    assert not any(url.startswith("/staff") for urls in cached.values() for url in urls)
    context.close()
    assert errors == []


def test_the_first_visit_is_enough_to_open_offline(app, live_server, browser, token):
    """A patient opens their link once, in the clinic; on the train, Today opens offline."""
    context, page = patient_phone(browser, live_server, token)
    stored = "() => caches.open('meso-pages-v1').then((c) => c.keys()).then((k) => k.length)"
    wait_until(lambda: page.evaluate(stored) == 2, message="Today and Timeline stored")
    context.set_offline(True)
    page.goto(f"{live_server}/timeline")
    expect(page.locator(".offline-note")).to_be_visible()
    page.goto(f"{live_server}/today")
    expect(page.locator(".offline-note")).to_be_visible()
    expect(page.locator("#today-title")).to_be_visible()
    context.close()


def test_a_revoked_phone_loses_its_stored_pages(app, live_server, browser, clinic):
    patient, token = enrol_patient(clinic, first_session=datetime.now(UTC) - timedelta(hours=3))
    context, page = patient_phone(browser, live_server, token)
    controlled(page, live_server)
    access.revoke_devices(patient, datetime.now(UTC))  # the clinic signs the phone out
    db.session.commit()
    page.goto(f"{live_server}/today")
    expect(page.get_by_role("heading", name="Open the link from your clinic")).to_be_visible()
    wait_until(lambda: page.evaluate(CACHED_URLS)["meso-pages-v1"] == [],
               message="the stored pages deleted")
    context.set_offline(True)
    page.goto(f"{live_server}/timeline")
    expect(page.locator("h1")).to_have_text("You are offline")
    context.close()


def test_the_worker_revalidates_its_copy_and_shows_it_on_a_304(app, live_server, browser,
                                                               clinic):
    """Online, a kept page costs a 304 while it is unchanged: the worker asks with its copy's
    ETag and shows the copy, as the live page; a change brings the new page."""
    patient, token = enrol_patient(clinic, first_session=datetime.now(UTC) - timedelta(hours=3))
    inner = app.wsgi_app
    asked = []  # (If-None-Match, status) of each request for /today

    def spy(environ, start_response):
        if environ["PATH_INFO"] != "/today":
            return inner(environ, start_response)

        def record(status, headers, *rest):
            asked.append((environ.get("HTTP_IF_NONE_MATCH"), status.split()[0]))
            return start_response(status, headers, *rest)

        return inner(environ, record)

    # One instant for the whole test: the page changes at least every minute (its countdowns).
    with frozen(datetime.now(UTC).replace(second=0, microsecond=0)):
        app.wsgi_app = spy
        try:
            context, page = patient_phone(browser, live_server, token)
            errors = watch_console(page)
            controlled(page, live_server)
            asked.clear()
            page.goto(f"{live_server}/today")
            expect(page.locator("#today-title")).to_be_visible()
            expect(page.locator(".offline-note")).to_be_hidden()  # shown as the live page
            tag = page.evaluate("caches.open('meso-pages-v1').then((c) => c.match('/today'))"
                                ".then((r) => r.headers.get('ETag'))")
            assert asked == [(tag, "304")]

            patient.name = "Lucia Rossi"  # a change: the next visit brings the new page
            db.session.commit()
            page.goto(f"{live_server}/today")
            expect(page.locator(".hero .eyebrow")).to_have_text("Hello Lucia")
            assert asked[-1] == (tag, "200")
            context.close()
        finally:
            app.wsgi_app = inner
    assert errors == []


def test_offline_check_in_waits_on_the_phone_then_is_sent_exactly_once(app, live_server,
                                                                       browser, token):
    context, page = patient_phone(browser, live_server, token)
    errors = watch_console(page)
    controlled(page, live_server)
    context.set_offline(True)
    page.goto(f"{live_server}/today")
    card = page.locator("#checkin")
    card.get_by_label("Good", exact=True).check()
    card.get_by_label("Fever").check()
    card.get_by_role("button", name="Send check-in").click()
    status = card.locator(".checkin-status")
    expect(status).to_have_text("Saved on this phone. It will be sent to your clinic as soon "
                                "as you are back online.")
    # A red flag is answered at once, offline too, with the clinic's number.
    expect(card.locator('#advice[data-advice="call_clinic"]')).to_be_visible()
    expect(card.get_by_role("link", name=re.compile("Call Clinica Roma"))).to_be_visible()
    expect(card.locator("#call-clinic")).to_be_visible()
    expect(card.locator("form")).to_be_hidden()
    screenshot(card, "checkin-offline.png")
    assert page.evaluate("JSON.parse(localStorage.getItem('meso.checkins')).length") == 1
    assert count_checkins() == 0

    context.set_offline(False)  # the "online" event sends the queue
    expect(status).to_have_text("Sent to your clinic.")
    # The server's answer replaces the one given offline: the same advice, now with its reason.
    expect(card.locator("#advice .reasons li")).to_have_text(
        ["You noticed a warning sign: your clinic wants to hear about it today."])
    expect(card.locator('#advice[data-advice="call_clinic"]')).to_be_visible()
    assert count_checkins() == 1
    db.session.rollback()
    row = db.session.scalars(sa.select(CheckIn)).one()
    assert (row.feeling, row.symptoms) == (4, "fever")
    assert page.evaluate("localStorage.getItem('meso.checkins')") is None

    # Another one offline, then the tab is closed: the next open sends it, once.
    page.goto(f"{live_server}/today")  # online: the stored copy now knows about the first
    context.set_offline(True)
    page.goto(f"{live_server}/today")
    expect(page.locator(".checkin-done")).to_have_text("You checked in today. Thank you.")
    page.get_by_text("Something changed? Check in again").click()
    page.locator("#checkin").get_by_label("OK", exact=True).check()
    page.locator("#checkin").get_by_role("button", name="Send check-in").click()
    # No red flag: the advice waits for the server; the card says to call if worried.
    answer = page.locator("#checkin #advice")
    expect(answer.locator(".not-read")).to_be_visible()
    expect(answer).to_have_attribute("data-advice", "")
    expect(answer.locator("[data-advice-block]:visible")).to_have_count(0)
    page.reload()  # still offline: the stored copy says one is waiting
    expect(page.locator("#checkin .checkin-status")).to_have_text(
        "A check-in is waiting to be sent. It goes as soon as you are back online.")
    page.close()
    context.set_offline(False)
    page = context.new_page()
    errors += watch_console(page)
    page.goto(f"{live_server}/timeline")
    wait_until(lambda: count_checkins() == 2, message="the queued check-in")
    wait_until(lambda: page.evaluate("localStorage.getItem('meso.checkins')") is None,
               message="an empty queue")
    page.reload()  # a reload with an empty queue sends nothing more
    expect(page.locator("#timeline-title")).to_be_visible()
    assert page.evaluate("localStorage.getItem('meso.checkins')") is None
    assert count_checkins() == 2
    context.close()
    # Chromium logs each request that failed while offline; anything else is a real error.
    assert [e for e in errors if "net::ERR_INTERNET_DISCONNECTED" not in e] == []


def test_a_check_in_whose_answer_was_lost_is_stored_once(app, live_server, browser, token):
    """The server stored it but the phone never heard back: sending again changes nothing."""
    # Request interception does not see requests a service worker handles: no worker here.
    context, page = patient_phone(browser, live_server, token, service_workers="block")
    seen = []

    def lose_the_answer(route):
        seen.append(route.request.post_data_json["key"])
        route.fetch()  # the server receives and stores it...
        route.abort("connectionreset")  # ...and the answer is lost on the way back

    page.route("**/checkins", lose_the_answer)
    page.locator("#checkin").get_by_label("Very good").check()
    page.locator("#checkin").get_by_role("button", name="Send check-in").click()
    status = page.locator("#checkin .checkin-status")
    expect(status).to_contain_text("Saved on this phone")
    assert count_checkins() == 1
    page.unroute("**/checkins")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(status).to_have_text("Sent to your clinic.")
    assert count_checkins() == 1
    assert len(seen) == 1
    context.close()


# Today's check-in card as pages rendered it before check-ins had signs, a trend and an advice.
OLDER_COPY = """() => {
    document.querySelectorAll("#checkin fieldset.signs, #checkin fieldset.trend")
        .forEach((fieldset) => fieldset.remove());
    document.querySelector("#checkin .checkin-result").innerHTML =
        ["emergency", "contact", "low", "ok"].map((name) =>
            `<div data-guidance="${name}" hidden><p>${name}</p></div>`).join("");
}"""


def test_an_older_copy_of_today_still_answers_a_red_flag(app, live_server, browser, token):
    """The service worker may show a copy of Today kept before this version (offline, with the
    new scripts): a red flag is still answered there, and no signs are made up."""
    context, page = patient_phone(browser, live_server, token, service_workers="block")
    errors = watch_console(page)
    sent = []
    page.on("request", lambda r: sent.append(r.post_data_json) if r.method == "POST" else None)
    page.evaluate(OLDER_COPY)
    card = page.locator("#checkin")
    card.get_by_label("Good", exact=True).check()
    card.get_by_label("Fever").check()
    card.get_by_role("button", name="Send check-in").click()
    expect(card.locator('[data-guidance="contact"]')).to_be_visible()
    expect(card.locator(".checkin-status")).to_have_text("Sent to your clinic.")
    expect(card.locator('[data-guidance="contact"]')).to_be_visible()
    expect(card.locator('[data-guidance]:visible')).to_have_count(1)
    [body] = sent
    assert "signs" not in body and body["symptoms"] == ["fever"]
    db.session.rollback()
    row = db.session.scalars(sa.select(CheckIn)).one()
    assert (row.signs, row.advice) == ({}, "call_clinic")
    context.close()
    assert errors == []


def test_a_check_in_with_a_stale_token_renews_it(app, live_server, browser, token):
    """An offline copy of Today may carry an old CSRF token: the queue fetches a new one."""
    context, page = patient_phone(browser, live_server, token)
    page.evaluate("document.querySelector('meta[name=csrf-token]').content = 'stale'")
    page.locator("#checkin").get_by_label("Bad").check()
    page.locator("#checkin").get_by_role("button", name="Send check-in").click()
    wait_until(lambda: count_checkins() == 1, message="the check-in")
    expect(page.locator('#checkin #advice[data-advice="expected"]')).to_be_visible()
    context.close()


def test_install_button_appears_when_the_browser_offers_it(app, live_server, browser, token):
    context, page = patient_phone(browser, live_server, token)
    errors = watch_console(page)
    card = page.locator("#install")
    expect(card).to_be_hidden()
    expect(page.locator("#ios-hint")).to_be_hidden()
    prevented = page.evaluate("""() => {
        const offer = new Event("beforeinstallprompt", { cancelable: true });
        offer.prompt = () => { window.prompted = true; return Promise.resolve(); };
        offer.userChoice = Promise.resolve({ outcome: "accepted" });
        window.dispatchEvent(offer);
        return offer.defaultPrevented;
    }""")
    assert prevented, "the page keeps the offer for its own button"
    expect(card).to_be_visible()
    card.scroll_into_view_if_needed()
    screenshot(page, "install.png")
    card.get_by_role("button", name="Install the app").click()
    expect(card).to_be_hidden()
    assert page.evaluate("window.prompted") is True
    context.close()
    assert errors == []


def test_ios_hint_is_shown_until_dismissed(app, live_server, browser, token):
    context, page = patient_phone(browser, live_server, token, user_agent=IPHONE_UA)
    # Today's reminders card gives the steps itself: the hint is for the other pages.
    expect(page.locator('#reminders [data-show="ios"]')).to_be_visible()
    expect(page.locator("#ios-hint")).to_be_hidden()
    page.goto(f"{live_server}/timeline")
    hint = page.locator("#ios-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("Add to Home Screen")
    expect(hint.locator("svg.glyph")).to_have_count(2)
    hint.scroll_into_view_if_needed()
    screenshot(page, "ios-hint.png")
    hint.get_by_role("button", name="Got it").click()
    expect(hint).to_be_hidden()
    page.reload()
    expect(page.locator("#timeline-title")).to_be_visible()
    expect(page.locator("#ios-hint")).to_be_hidden()
    context.close()


@pytest.mark.parametrize("installed", ["ios", "standalone"])
def test_nothing_is_offered_once_installed(app, live_server, browser, token, installed):
    context = browser.new_context(**PHONE, user_agent=IPHONE_UA)
    page = context.new_page()
    if installed == "ios":  # Safari's own flag for a Home Screen app
        page.add_init_script("Object.defineProperty(navigator, 'standalone', {value: true})")
    else:  # Chromium cannot emulate display-mode: answer the media query as an installed app
        page.add_init_script("""{
            const real = window.matchMedia.bind(window);
            window.matchMedia = (query) => query === "(display-mode: standalone)"
                ? { matches: true, media: query } : real(query);
        }""")
    open_invite_in_browser(page, live_server, token)
    page.evaluate("window.dispatchEvent(new Event('beforeinstallprompt', {cancelable: true}))")
    expect(page.locator("#today-title")).to_be_visible()
    expect(page.locator("#ios-hint")).to_be_hidden()
    expect(page.locator("#install")).to_be_hidden()
    context.close()


def test_a_new_version_takes_over_and_reloads_the_page(app, live_server, browser, token,
                                                       tmp_path):
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    app.static_folder = str(static)
    context, page = patient_phone(browser, live_server, token)
    controlled(page, live_server)
    old = page.evaluate("caches.keys()")
    page.evaluate("window.beforeUpdate = true")
    with (static / "css" / "app.css").open("a") as css:
        css.write("\nbody { --release: 2; }\n")
    with page.expect_event("load"):
        page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    assert page.evaluate("window.beforeUpdate") is None, "the page reloaded on the new worker"
    wait_until(lambda: len(page.evaluate("caches.keys()")) == 2, message="old caches deleted")
    new = page.evaluate("caches.keys()")
    assert "meso-pages-v1" in new and set(new) != set(old)
    css = page.evaluate("fetch('/static/css/app.css').then((r) => r.text())")
    assert "--release: 2" in css
    context.close()


def test_a_slow_network_shows_the_stored_copy(app, live_server, browser, token):
    """One bar of signal: after a few seconds without an answer, the last copy is shown."""
    context, page = patient_phone(browser, live_server, token)
    controlled(page, live_server)
    inner = app.wsgi_app
    signal_back = threading.Event()  # once set, a stalled answer goes out at once
    stalled = []  # the requests held back right now

    def stall(environ, start_response):
        if environ["PATH_INFO"] != "/today":
            return inner(environ, start_response)
        stalled.append(environ)
        try:
            signal_back.wait(timeout=9)
            return inner(environ, start_response)
        finally:
            stalled.remove(environ)

    app.wsgi_app = stall
    try:
        started = time.monotonic()
        page.goto(f"{live_server}/today")
        waited = time.monotonic() - started
        expect(page.locator(".offline-note")).to_be_visible()
        assert 5 < waited < 8.5, waited
    finally:
        signal_back.set()  # the held requests end before the app and its database go away
        wait_until(lambda: not stalled, message="the stalled requests to end")
        context.close()
        app.wsgi_app = inner


def test_no_layout_shift_when_the_page_and_countdowns_start(app, live_server, browser, token):
    """Countdowns are rendered by the server and only updated in place; the offline note is
    in the stored copy from its first paint. Online and offline, nothing moves."""
    context, page = patient_phone(browser, live_server, token)
    controlled(page, live_server)
    page.clock.install()
    for offline in (False, True):
        context.set_offline(offline)
        page.goto(f"{live_server}/today")
        countdown = page.locator(".countdown").first
        expect(countdown).to_have_text(re.compile(r"^in \d+ days?$"))
        before = countdown.inner_text()
        page.clock.run_for(21_000)  # countdown.js ticks...
        # ...and once the row's end is hours away, not days, its words change in place.
        page.evaluate("""() => {
            document.querySelector('.until-row').dataset.until =
                new Date(Date.now() + 5 * 3600 * 1000).toISOString();
        }""")
        page.clock.run_for(21_000)
        expect(countdown).not_to_have_text(before)
        shift = page.evaluate("""() => new Promise((resolve) => {
            let total = 0;
            new PerformanceObserver((list) => {
                for (const entry of list.getEntries()) total += entry.value;
            }).observe({ type: "layout-shift", buffered: true });
            setTimeout(() => resolve(total), 0);
        })""")
        assert shift == 0, ("offline" if offline else "online", shift)
    context.close()
