"""Reminders end to end in Debian's Chromium at a phone viewport.

Headless Chromium reaches no real push service, so pushManager.subscribe is stubbed (an init
script) to hand out a subscription on the fake push service. Everything else is real: the
card and its script, POST /push/subscriptions, the worker, encryption, the service worker's
push handler (fed through CDP ServiceWorker.deliverPushMessage) and its click-through.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import PHONE, create_clinic, enrol_patient, open_invite_in_browser, watch_console
from helpers import frozen, screenshot, wait_until
from playwright.sync_api import expect

from meso import ratelimit, trial_push, worker
from meso.extensions import db
from meso.models import PushSubscription, Reminder, ReminderSettings, utcnow

pytestmark = pytest.mark.browser

STUB = """
(() => {
  const subscription = %s;
  // Like a real one, the subscription outlives the page (until unsubscribed).
  const stub = {
    endpoint: subscription.endpoint,
    expirationTime: null,
    toJSON() { return subscription; },
    unsubscribe() {
      current = null;
      sessionStorage.removeItem("stub-subscribed");
      return Promise.resolve(true);
    },
  };
  let current = sessionStorage.getItem("stub-subscribed") ? stub : null;
  PushManager.prototype.subscribe = function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    window.__applicationServerKey = btoa(String.fromCharCode(...key))
      .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
    current = stub;
    sessionStorage.setItem("stub-subscribed", "1");
    return Promise.resolve(stub);
  };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
  const ask = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = function () {
    window.__permissionAsked = (window.__permissionAsked || 0) + 1;
    return ask();
  };
})();
"""

NOTIFICATIONS = """() => navigator.serviceWorker.ready
  .then((r) => r.getNotifications())
  .then((list) => list.map((n) => ({title: n.title, body: n.body, tag: n.tag, lang: n.lang,
                                    dir: n.dir, icon: n.icon, data: n.data})))"""


def registration_id(context, page, base: str) -> str:
    """Return the service worker's registration id as CDP knows it."""
    cdp = context.new_cdp_session(page)
    found: dict[str, str] = {}

    def seen(event):
        for registration in event.get("registrations", []):
            if registration["scopeURL"] == f"{base}/" and not registration.get("isDeleted"):
                found["id"] = registration["registrationId"]

    cdp.on("ServiceWorker.workerRegistrationUpdated", seen)
    cdp.send("ServiceWorker.enable")
    wait_until(lambda: "id" in found, message="the service worker registration", page=page)
    return cdp, found["id"]


def test_turn_on_reminders_receive_one_and_open_it(app, live_server, browser, fake_push, vapid):
    clinic = create_clinic()
    patient, token = enrol_patient(clinic, first_session=datetime.now(UTC) - timedelta(hours=3))
    phone_end = fake_push.subscription()

    context = browser.new_context(**PHONE)
    context.grant_permissions(["notifications"], origin=live_server)
    context.add_init_script(STUB % json.dumps(phone_end.json))
    page = context.new_page()
    errors = watch_console(page)
    open_invite_in_browser(page, live_server, token)
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")

    card = page.locator("#reminders")
    button = card.get_by_role("button", name="Turn on reminders")
    expect(button).to_be_visible()
    assert page.evaluate("window.__permissionAsked") is None, "no prompt before the tap"
    card.scroll_into_view_if_needed()
    screenshot(page, "reminders-card.png")
    button.click()
    status = card.locator(".reminders-status")
    expect(status).to_contain_text("Done: reminders are on for this phone.")
    assert page.evaluate("window.__permissionAsked") == 1
    assert page.evaluate("window.__applicationServerKey") == vapid
    expect(card.get_by_role("button", name="Send me a test notification")).to_be_visible()

    # The server stored this browser's subscription for this patient.
    db.session.expire_all()
    [row] = db.session.scalars(sa.select(PushSubscription)).all()
    assert (row.patient_id, row.endpoint) == (patient.id, phone_end.endpoint)
    assert row.p256dh == phone_end.json["keys"]["p256dh"]

    # The worker, at the evening heat reminder's time: exactly that one message goes out.
    heat = db.session.scalar(sa.select(Reminder).where(Reminder.rule == "heat_day1"))
    with frozen(heat.fire_at + timedelta(minutes=1)):
        worker.run(once=True, batch=50, concurrency=2, lease=timedelta(seconds=60), poll=0,
                   should_stop=lambda: False, now=utcnow)
    [message] = fake_push.messages()
    declared = message.payload["notification"]  # Declarative Web Push: Safari shows it alone
    assert declared["title"] == "No sauna or hot bath tonight"
    assert "they are OK again from" in declared["body"]
    assert declared["navigate"] == f"{live_server}/today"
    # The kind of reminder travels encrypted (the tag); the push service sees an opaque Topic.
    assert declared["tag"] == "heat_day1"
    assert len(message.topic) == 32 and "heat" not in message.topic

    # That payload, delivered to the real service worker, becomes the same notification.
    page.goto(f"{live_server}/reminders")
    cdp, rid = registration_id(context, page, live_server)
    expected = {"title": declared["title"], "body": declared["body"], "tag": "heat_day1",
                "lang": "en-GB", "dir": "ltr", "icon": f"{live_server}/static/icons/icon-192.png",
                "data": {"url": f"{live_server}/today"}}

    def deliver(payload: dict) -> None:
        cdp.send("ServiceWorker.deliverPushMessage", {
            "origin": live_server, "registrationId": rid, "data": json.dumps(payload)})

    # The worker reads the declarative fields, not the flat ones kept for older workers: with
    # those gone it shows the same notification, which replaces the first one (same tag).
    deliver({**message.payload, "title": "old shape", "body": "old shape", "url": "/elsewhere"})
    [shown] = wait_until(lambda: page.evaluate(NOTIFICATIONS), message="the notification",
                         page=page)
    assert shown == expected
    deliver({"web_push": 8030, "notification": declared})
    wait_until(lambda: page.evaluate(NOTIFICATIONS) == [{**expected, "icon": ""}],
               message="the same notification, from the declarative fields alone", page=page)
    deliver(message.payload)
    wait_until(lambda: page.evaluate(NOTIFICATIONS) == [expected],
               message="the notification with its icon again", page=page)

    # Click-through: the open app window shows /today, and the notification is gone.
    sw = wait_until(lambda: context.service_workers, message="the service worker", page=page)[0]
    sw.evaluate("""async () => {
        const [notification] = await self.registration.getNotifications();
        self.dispatchEvent(new NotificationEvent("notificationclick", {notification}));
    }""")
    page.wait_for_url(f"{live_server}/today")
    wait_until(lambda: page.evaluate(NOTIFICATIONS) == [], message="the closed one", page=page)

    # A replaced subscription (pushsubscriptionchange): re-subscribed and told to the server.
    renewed = fake_push.subscription()
    sw.evaluate("""async ([renewed, oldEndpoint]) => {
        self.registration.pushManager.subscribe = async () => ({
            endpoint: renewed.endpoint, toJSON: () => renewed});
        const event = new ExtendableEvent("pushsubscriptionchange");
        Object.defineProperty(event, "oldSubscription", {value: {endpoint: oldEndpoint}});
        self.dispatchEvent(event);
    }""", [renewed.json, phone_end.endpoint])

    def endpoints():
        db.session.expire_all()
        return db.session.scalars(sa.select(PushSubscription.endpoint)).all()

    wait_until(lambda: endpoints() == [renewed.endpoint], message="the renewed endpoint",
               page=page)

    page.goto(f"{live_server}/reminders")
    screenshot(page, "reminders.png", full_page=True)
    context.close()
    assert errors == []


def test_turning_reminders_off_unsubscribes(app, live_server, browser, fake_push):
    patient, token = enrol_patient(create_clinic())
    phone_end = fake_push.subscription()
    context = browser.new_context(**PHONE)
    context.grant_permissions(["notifications"], origin=live_server)
    context.add_init_script(STUB % json.dumps(phone_end.json))
    page = context.new_page()
    errors = watch_console(page)
    open_invite_in_browser(page, live_server, token)
    page.goto(f"{live_server}/reminders")
    # Settings chosen, then the switch: turning reminders on saves them in the same step.
    page.get_by_label("Morning reminders at").select_option("08:30")
    page.get_by_label("Sun", exact=True).uncheck()
    page.get_by_role("button", name="Turn on reminders").click()
    expect(page.locator(".reminders-status")).to_have_text(
        "Done: reminders are on for this phone. Your settings are saved too.")
    db.session.expire_all()
    row = db.session.get(ReminderSettings, patient.id)
    assert (row.morning.strftime("%H:%M"), row.sun, row.heat) == ("08:30", False, True)
    test_button = page.get_by_role("button", name="Send me a test notification")
    test_button.click()
    expect(page.get_by_text("On its way: it should appear within a minute.")).to_be_visible()
    # The page only queued it: the reminder worker sends it, as it sends every reminder.
    assert fake_push.messages() == []
    worker.run(once=True, batch=50, concurrency=2, lease=timedelta(seconds=60), poll=0,
               should_stop=lambda: False, now=utcnow)
    assert [m.payload["notification"]["title"] for m in fake_push.messages()
            if m.payload["notification"]["tag"] == "test"] == ["Reminders work"]
    # A few tests in a row are fine; then the page says to wait.
    for _ in range(trial_push.LIMIT[0] - 1):
        ratelimit.count_failure(trial_push.limit_key(patient.id), trial_push.LIMIT,
                                datetime.now(UTC))
    db.session.commit()
    test_button.click()
    expect(page.get_by_text("You asked for several tests just now. Try again in a few "
                            "minutes.")).to_be_visible()
    page.get_by_role("button", name="Turn off").click()
    expect(page.get_by_text("Reminders are off for this phone.")).to_be_visible()
    expect(page.get_by_role("button", name="Turn on reminders")).to_be_visible()
    db.session.expire_all()
    assert db.session.scalars(sa.select(PushSubscription)).all() == []
    context.close()
    # Chromium logs every 4xx answer to a fetch; the 429 above was the point.
    assert [e for e in errors if "status of 429 (TOO MANY REQUESTS)" not in e] == []


IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


@pytest.mark.parametrize("push_api", [False, True])
def test_on_iphone_outside_the_installed_app_the_card_explains_the_home_screen(
        app, live_server, browser, vapid, push_api):
    """The Home Screen steps come before any switch on an iPhone, whether or not this Safari
    shows a Push API outside the installed app (iPhone Safari does not; some iPads do)."""
    _, token = enrol_patient(create_clinic())
    context = browser.new_context(**PHONE, user_agent=IPHONE_SAFARI)
    if not push_api:
        context.add_init_script("delete window.PushManager;")
    page = context.new_page()
    errors = watch_console(page)
    open_invite_in_browser(page, live_server, token)
    card = page.locator("#reminders")
    expect(card).to_have_attribute("data-state", "ios")
    expect(card.get_by_role("button", name="Turn on reminders")).to_be_hidden()
    expect(card.locator("[data-show=ios] li")).to_have_text([
        "Tap the Share button in Safari’s bar.",
        "Choose “Add to Home Screen”, then “Add”.",
        "Open the app from its new icon and tap “Turn on reminders” there."])
    card.scroll_into_view_if_needed()
    screenshot(page, f"reminders-iphone{'-push-api' if push_api else ''}.png")
    context.close()
    assert errors == []
