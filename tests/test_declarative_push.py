"""Push payloads are Declarative Web Push messages: what Safari shows by itself, even when the
service worker is gone. Each is decrypted by the fake push service and checked against the
Push API's declarative push message: normal reminders, discreet ones and the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as clock
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from conftest import create_clinic, enrol_patient
from flask_babel import force_locale
from helpers import frozen

from meso import formatting, notifications, push, reminder_texts, trial_push, worker
from meso import protocol as p
from meso.config import base_url_settings
from meso.extensions import db
from meso.models import PushSubscription, ReminderSettings, utcnow

ROME = ZoneInfo("Europe/Rome")
SESSION = datetime(2026, 11, 20, 10, 0, tzinfo=ROME)
EVENING = datetime(2026, 11, 21, 18, 0, tzinfo=ROME)  # day 1, 18:00: the heat reminder
BASE = "https://aftercare.clinic.example"
# The members a declarative push message's notification may have (the Push API's list).
NOTIFICATION_MEMBERS = {"title", "dir", "lang", "body", "navigate", "tag", "image", "icon",
                        "badge", "vibrate", "timestamp", "renotify", "silent",
                        "requireInteraction", "data", "actions", "app_badge"}
# What aes128gcm adds to the padded payload: its header (salt, record size, key) and one record's
# delimiter and tag.
AES128GCM_OVERHEAD = 16 + 4 + 1 + 65 + 1 + 16


@pytest.fixture
def phone(app, fake_push):
    """An enrolled patient's phone subscribed on the fake push service; links on BASE."""
    app.config.update(base_url_settings(BASE))
    with frozen(SESSION + timedelta(hours=3)):
        patient, _ = enrol_patient(create_clinic(), first_session=SESSION.astimezone(UTC))
    client = fake_push.subscription()
    keys = client.json["keys"]
    db.session.add(PushSubscription(patient_id=patient.id, endpoint=client.endpoint,
                                    p256dh=keys["p256dh"], auth=keys["auth"]))
    db.session.commit()
    return patient, client


def send_due(at: datetime) -> None:
    with frozen(at):
        worker.run(once=True, batch=50, concurrency=2, lease=timedelta(seconds=60), poll=0,
                   should_stop=lambda: False, now=utcnow)


def current_lang_tag(app) -> str:
    with app.test_request_context(), force_locale(app.config["BABEL_DEFAULT_LOCALE"]):
        return formatting.lang_tag()


def declarative(payload: dict, lang: str) -> dict:
    """Check a decrypted payload is a valid declarative push message; return its notification."""
    assert payload["web_push"] == 8030 and type(payload["web_push"]) is int
    notification = payload["notification"]
    assert isinstance(notification, dict) and set(notification) <= NOTIFICATION_MEMBERS
    for member in ("title", "body", "navigate", "lang", "tag"):
        assert isinstance(notification[member], str) and notification[member], member
    target = urlsplit(notification["navigate"])
    assert target.scheme in ("https", "http") and target.netloc
    assert f"{target.scheme}://{target.netloc}" == BASE, "a page of this app, on MESO_BASE_URL"
    assert notification["lang"] == lang
    assert notification["dir"] in ("auto", "ltr", "rtl")
    return notification


def test_a_reminder_is_declarative_web_push(app, phone, fake_push):
    send_due(EVENING)
    [message] = fake_push.messages()
    shown = declarative(message.payload, current_lang_tag(app))
    assert shown["title"] == "No sauna or hot bath tonight"
    assert shown["body"].startswith("Heat can still irritate your treated skin.")
    assert shown["navigate"] == f"{BASE}/today"
    assert (shown["lang"], shown["dir"], shown["tag"]) == ("en-GB", "ltr", "heat_day1")
    # Workers installed before the format read the flat fields: the same words.
    assert (message.payload["title"], message.payload["body"], message.payload["url"]) == (
        shown["title"], shown["body"], "/today")
    assert (message.size - AES128GCM_OVERHEAD) % push.PAD_BLOCK == 0, "padded to whole blocks"


def test_a_discreet_reminder_is_declarative_and_says_no_treatment_word(app, phone, fake_push):
    patient, _ = phone
    db.session.add(ReminderSettings(patient_id=patient.id, discreet=True, morning=clock(9),
                                    quiet_start=clock(21), quiet_end=clock(8)))
    db.session.commit()
    send_due(EVENING)
    [message] = fake_push.messages()
    shown = declarative(message.payload, current_lang_tag(app))
    assert shown["title"] == "Reminder"
    assert "skin" not in shown["body"] and shown["navigate"] == f"{BASE}/today"
    assert shown["tag"] == "heat_day1"
    assert (message.size - AES128GCM_OVERHEAD) % push.PAD_BLOCK == 0


@pytest.mark.parametrize(("discreet", "title"), [(False, "Reminders work"),
                                                 (True, "Reminder")])
def test_the_test_notification_is_declarative_web_push(app, phone, fake_push, discreet, title):
    patient, _ = phone
    if discreet:
        db.session.add(ReminderSettings(patient_id=patient.id, discreet=True))
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    with frozen(now):
        trial_push.queue(patient, now)
        db.session.commit()
    send_due(now.astimezone(ROME))
    [message] = [m for m in fake_push.messages() if m.payload["notification"]["tag"] == "test"]
    shown = declarative(message.payload, current_lang_tag(app))
    assert shown["title"] == title
    assert shown["body"] == "This is how your reminders will appear on this phone."
    assert shown["navigate"] == f"{BASE}/reminders"


def test_every_reminder_still_fits_one_padded_block(app):
    """Declarative fields and the flat ones for older workers, every rule's every variant:
    one block each, so the size of what crosses the push service tells no reminder apart."""
    app.config.update(base_url_settings("https://aftercare.a-rather-long-clinic-name.example"))
    start = SESSION.astimezone(UTC)
    sizes = set()
    with app.test_request_context(), force_locale(app.config["BABEL_DEFAULT_LOCALE"]):
        for rule in p.REMINDER_RULES.values():
            for categories in rule.texts:
                for discreet in (False, True):
                    title, body = reminder_texts.render(
                        rule, categories, start, start, p.DEFAULT_PROTOCOL, ROME, discreet,
                        formatting.wording())
                    payload = notifications.payload(title, body, rule.link, rule.key,
                                                    id=2**31 - 1)
                    sizes.add(len(push.padded(payload)))
    assert sizes == {push.PAD_BLOCK}
