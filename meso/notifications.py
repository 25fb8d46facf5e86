"""Notification texts: a reminder row rendered, at send time, in the patient's zone.

The texts live in protocol.REMINDER_RULES (translatable); reminder_texts.render words them
from the row's session start and the patient's protocol, as the preview does.
Texts are in the patient's language (meso/locales.py), chosen at send time: a patient who
switched language gets the next reminder in the new one.

Every payload is a Declarative Web Push message (``"web_push": 8030`` with a ``notification``
of title, body, navigate, lang, dir and tag): Safari shows it by itself, even when the service
worker is gone, and static/js/sw-push.js shows the same notification from the same fields
where the worker runs.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale
from flask import current_app
from flask_babel import force_locale, get_locale, gettext

from meso import formatting, links, push, reminder_texts, reminders
from meso import protocol as p

ICON = "/static/icons/icon-192.png"
# The member that marks a push message as declarative (the Push API's "declarative push
# message"; 8030 is the Web Push RFC's number).
WEB_PUSH = 8030
TRIAL_LINK = "/reminders"


def render(row, rule: p.ReminderRule, enabled: tuple[str, ...], settings: reminders.Settings,
           zone: ZoneInfo, protocol: p.Protocol, now: datetime,
           locale: str | None = None) -> push.Message:
    """Return the push message for an outbox row (its texts, link, Topic, TTL and Urgency),
    in ``locale`` (the patient's; default: the app's)."""
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        title, body = reminder_texts.render(rule, enabled, row.anchor_at, row.fire_at, protocol,
                                            zone, settings.discreet, formatting.wording())
        content = payload(title, body, rule.link, row.topic, id=row.id)
    # The push service may hold it until it is pointless, and not a second longer.
    ttl = max(1, int((row.expires_at - now).total_seconds()))
    return push.Message(payload=content, ttl=ttl, topic=row.topic, urgency=rule.urgency)


def trial_message(settings: reminders.Settings, locale: str | None = None) -> push.Message:
    """Return the "send me a test notification" message (discreet when the patient asked),
    in ``locale`` (the patient's; default: the app's)."""
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        title = gettext(p.DISCREET_TITLE) if settings.discreet else gettext("Reminders work")
        body = gettext("This is how your reminders will appear on this phone.")
        content = payload(title, body, TRIAL_LINK, "test")
    return push.Message(payload=content, ttl=10 * 60, topic="test", urgency="normal")


def payload(title: str, body: str, link: str, tag: str, **extra) -> dict:
    """Return a notification as a Declarative Web Push message, in the current locale.

    ``navigate`` is the absolute address a tap opens (on MESO_BASE_URL): Safari opens it
    without running any of our code. ``tag`` names the reminder's kind, so a newer one of
    the same kind replaces the older instead of stacking. The flat title, body, url, tag,
    icon and badge beside it are what service workers installed before this format read
    (a phone keeps its old worker until it next opens the app); the current worker reads
    ``notification`` and takes only the icons from there. ``extra`` (the outbox row's id)
    rides along for the same readers.
    """
    locale = get_locale() or Locale.parse(current_app.config["BABEL_DEFAULT_LOCALE"])
    notification = {
        "title": title,
        "body": body,
        "navigate": links.public_base_url() + link,
        "lang": formatting.lang_tag(),
        "dir": locale.text_direction,
        "tag": tag,
    }
    return {"web_push": WEB_PUSH, "notification": notification,
            "title": title, "body": body, "url": link, "tag": tag, "icon": ICON, "badge": ICON,
            **extra}
