"""Notification texts: a reminder row rendered, at send time, in the patient's zone.

The texts live in protocol.REMINDER_RULES (translatable); reminder_texts.render words them
from the row's session start and the patient's protocol, as the preview does.
Texts are in the default locale: patients have no language of their own yet.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, gettext

from meso import formatting, push, reminder_texts, reminders
from meso import protocol as p

ICON = "/static/icons/icon-192.png"


def render(row, rule: p.ReminderRule, enabled: tuple[str, ...], settings: reminders.Settings,
           zone: ZoneInfo, protocol: p.Protocol, now: datetime) -> push.Message:
    """Return the push message for an outbox row (its texts, link, Topic, TTL and Urgency)."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        title, body = reminder_texts.render(rule, enabled, row.anchor_at, row.fire_at, protocol,
                                            zone, settings.discreet, formatting.wording())
    # The push service may hold it until it is pointless, and not a second longer.
    ttl = max(1, int((row.expires_at - now).total_seconds()))
    payload = {"title": title, "body": body, "url": rule.link, "tag": row.topic, "id": row.id,
               "icon": ICON, "badge": ICON}
    return push.Message(payload=payload, ttl=ttl, topic=row.topic, urgency=rule.urgency)


def trial_message(settings: reminders.Settings) -> push.Message:
    """Return the "send me a test notification" message (discreet when the patient asked)."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        title = gettext(p.DISCREET_TITLE) if settings.discreet else gettext("Reminders work")
        body = gettext("This is how your reminders will appear on this phone.")
    payload = {"title": title, "body": body, "url": "/reminders", "tag": "test", "icon": ICON,
               "badge": ICON}
    return push.Message(payload=payload, ttl=10 * 60, topic="test", urgency="normal")
