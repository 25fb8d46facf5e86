"""Notification texts: a reminder row rendered, at send time, in the patient's zone.

The texts live in protocol.REMINDER_RULES (translatable); what they say is derived from the
row's session start and the patient's protocol by reminders.wording, as the schedule derived it.
Texts are in the default locale: patients have no language of their own yet.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, gettext

from meso import formatting, push, reminders
from meso import protocol as p

ICON = "/static/icons/icon-192.png"


def render(row, rule: p.ReminderRule, enabled: tuple[str, ...], settings: reminders.Settings,
           zone: ZoneInfo, protocol: p.Protocol, now: datetime) -> push.Message:
    """Return the push message for an outbox row (its texts, link, Topic, TTL and Urgency)."""
    params, still = reminders.wording(rule, row.anchor_at, protocol, zone, row.fire_at)
    text = rule.texts[enabled]
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        values = {
            name: (formatting.clock(value) if name == "session_time"
                   else formatting.day_month(value) if name == "session_day"
                   else formatting.weekday_time(value))
            for name, value in params.items()
        }
        if settings.discreet:
            title, body = gettext(p.DISCREET_TITLE), gettext(text.discreet_body) % values
        else:
            title, body = gettext(text.title) % values, gettext(text.body) % values
        if still and text.still:
            body = f"{body} {gettext(text.still) % values}"
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
