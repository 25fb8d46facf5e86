"""Reminders by e-mail, for patients push cannot reach: written, sent and settled for the worker.

A due reminder row goes by e-mail when the patient has no working push subscription at that
moment (none, or the push service said the last one is gone) and a confirmed address on file,
and the worker has a mail server (SMTP_URL). Never both: the worker decides per row, and a row
sent by push is done. The row is the same outbox row as for a push, so everything decided
before the channel holds for e-mail too: the texts, rendered at send time as for a push, quiet
hours, "pointless by then" (``expires_at``), the categories, a day's check-in silencing the
nudge. Sent, the row says ``channel = "email"``.

Discreet patients get the subject "A reminder from your clinic", the discreet text, and a From
without the app's name: nothing in the e-mail names a treatment. Every e-mail links to Today
and carries a one-click unsubscribe (RFC 8058: List-Unsubscribe with an https link and
List-Unsubscribe-Post), whose link (patient_email.unsubscribe_link) is dead once the address
changes.

An address the recipient's server refuses for good (a 5xx to RCPT TO) is dropped
(patient_email.drop_bounced). Log lines name rows by id and outcome only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from meso import (
    formatting,
    links,
    locales,
    mailer,
    outbox,
    patient_email,
    reach,
    reminder_texts,
    reminders,
)
from meso import protocol as p

log = logging.getLogger("meso.reminders")

CHANNEL = "email"
DISCREET_SUBJECT = _l("A reminder from your clinic")
DISCREET_SENDER = _l("Reminder")
SUBJECT_MAX = 200


@dataclass(frozen=True)
class Mail:
    """One reminder e-mail as plain values: the send threads never touch the database."""

    patient_id: int
    to: str
    subject: str
    body: str
    headers: dict[str, str]
    sender_name: str | None  # None: MAIL_FROM as it is


def reachable(patient) -> bool:
    """Whether reminders may go to this patient by e-mail (a consented address on file)."""
    return reach.email_on(patient.email, patient.email_consent_at)


def compose(row, rule: p.ReminderRule, enabled: tuple[str, ...], settings: reminders.Settings,
            zone: ZoneInfo, protocol: p.Protocol, patient) -> Mail:
    """Write the e-mail for a due outbox row, in the same words and language as its push."""
    with force_locale(locales.patient_locale(patient)):  # as notifications.render
        title, text = reminder_texts.render(rule, enabled, row.anchor_at, row.fire_at,
                                            protocol, zone, settings.discreet,
                                            formatting.wording())
        return letter(patient, title, text, settings.discreet)


def letter(patient, title: str, text: str, discreet: bool) -> Mail:
    """The e-mail around a reminder's title and text (in the current locale)."""
    today = links.external_url("patient.today")
    unsubscribe = patient_email.unsubscribe_link(patient)
    subject = str(DISCREET_SUBJECT) if discreet else title
    lines = [] if discreet else [title, ""]
    lines += [
        text,
        "",
        _("Open the app: %(link)s", link=today),
        "",
        _("You get these e-mails because reminders cannot reach your phone as notifications. "
          "To stop them: %(link)s", link=unsubscribe),
        "",
    ]
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return Mail(patient.id, patient.email, " ".join(subject.split())[:SUBJECT_MAX],
                "\n".join(lines), headers, str(DISCREET_SENDER) if discreet else None)


def send(sender: mailer.Mailer, mail: Mail, now: datetime, row_id: int) -> mailer.Outcome:
    """Send one reminder e-mail (in a worker thread); never raises."""
    try:
        return sender.send(mail.to, mail.subject, mail.body, now, headers=mail.headers,
                           sender_name=mail.sender_name)
    except Exception as exc:  # a bug must cost one e-mail, not the batch and its lease
        log.error("reminder %s: e-mailing raised %s", row_id, type(exc).__name__)
        return mailer.Outcome(mailer.FAILED, f"unexpected {type(exc).__name__}")


def settle(row_id: int, attempts: int, expires_at: datetime, mail: Mail,
           outcome: mailer.Outcome, now: datetime) -> dict:
    """The row's outcome after an e-mail: sent, retried with the push backoff (never past the
    point where it would be pointless), or failed; a bounced address is dropped."""
    if outcome.kind == mailer.SENT:
        log.info("reminder %s: e-mailed", row_id)
        return {**outbox.sent(now, attempts + 1), "channel": CHANNEL}
    if outcome.kind == mailer.RETRY:
        values = outbox.retry(attempts, expires_at, now, None, outcome.error)
    else:
        values = outbox.closed("failed", outcome.error, now, attempts + 1)
    if outcome.bounced and patient_email.drop_bounced(mail.patient_id, mail.to, now):
        log.warning("reminder %s: the address bounced (%s) and was dropped", row_id,
                    outcome.error)
    else:
        log.warning("reminder %s: e-mail %s: %s", row_id,
                    "failed" if values.get("status") == "failed" else "will retry",
                    outcome.error)
    return values


def fall_back(values: dict, now: datetime) -> dict:
    """A push that found every device gone: the row is due again at once, and the next batch,
    seeing no device, e-mails it (same row, so never both)."""
    if values.get("status") == "skipped" and values.get("last_error") == outbox.NO_DEVICE:
        return {"last_error": None, **outbox.postpone(now, now)}
    return values
