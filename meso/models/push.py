"""Push reminders: the patient's push subscriptions, their settings and the reminder outbox."""

from __future__ import annotations

from datetime import datetime, time

import sqlalchemy as sa
import sqlalchemy.orm as so

from meso import protocol
from meso.extensions import Model
from meso.models.core import UTCDateTime, utcnow

ENDPOINT_MAX = 1000
REMINDER_STATUSES = ("pending", "sent", "failed", "skipped", "cancelled")


class PushSubscription(Model):
    """One browser's push subscription (a patient may have several devices)."""

    __tablename__ = "push_subscription"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    # The browser the subscription came from: revoking the device silences it too.
    device_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("patient_device.id", ondelete="CASCADE"), index=True
    )
    endpoint: so.Mapped[str] = so.mapped_column(sa.String(ENDPOINT_MAX), unique=True)
    p256dh: so.Mapped[str] = so.mapped_column(sa.String(100))
    auth: so.Mapped[str] = so.mapped_column(sa.String(50))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_success_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


class ReminderSettings(Model):
    """A patient's reminder choices; no row means the defaults (everything on)."""

    __tablename__ = "reminder_settings"

    patient_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True
    )
    sun: so.Mapped[bool] = so.mapped_column(default=True)
    heat: so.Mapped[bool] = so.mapped_column(default=True)
    exfoliants: so.Mapped[bool] = so.mapped_column(default=True)
    sessions: so.Mapped[bool] = so.mapped_column(default=True)
    checkins: so.Mapped[bool] = so.mapped_column(default=True)
    morning: so.Mapped[time] = so.mapped_column(sa.Time, default=protocol.DEFAULT_MORNING)
    quiet_start: so.Mapped[time] = so.mapped_column(
        sa.Time, default=protocol.DEFAULT_QUIET_HOURS[0])
    quiet_end: so.Mapped[time] = so.mapped_column(sa.Time, default=protocol.DEFAULT_QUIET_HOURS[1])
    discreet: so.Mapped[bool] = so.mapped_column(default=False)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class Reminder(Model):
    """The outbox: one row per (patient, session, rule); the worker sends the due ones.

    No text is stored: the worker renders it at send time from the rule and the session, so the
    table holds no health data beyond "a reminder of this kind exists".
    """

    __tablename__ = "reminder"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("patient.id", ondelete="CASCADE")
    )
    session: so.Mapped[int]
    rule: so.Mapped[str] = so.mapped_column(sa.String(40))
    category: so.Mapped[str] = so.mapped_column(sa.String(20))
    anchor_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)  # the session's start
    fire_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    topic: so.Mapped[str] = so.mapped_column(sa.String(32))
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default="pending")
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    # A claimed row is leased: a worker killed mid-batch leaves it to the next one after this.
    lease_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    # How it went out: "push" or "email" (never both); None until sent.
    channel: so.Mapped[str | None] = so.mapped_column(sa.String(8))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("patient_id", "session", "rule", name="uq_reminder_key"),
        sa.Index("ix_reminder_due", "status", "next_attempt_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'skipped', 'cancelled')", name="status"
        ),
    )


EMAIL_STATUSES = ("pending", "sent", "failed")


class OutboundEmail(Model):
    """An e-mail to clinic staff, sent by the worker and retried like a push.

    Says only that a patient needs attention, with a link: never a name or a symptom. Tied
    to the patient (when about one) so erasing the patient removes it.
    """

    __tablename__ = "outbound_email"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    clinic_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("clinic.id", ondelete="CASCADE"), index=True
    )
    patient_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    # One e-mail per reason and recipient ("attention:<check-in id>:<staff id>"): enqueueing
    # twice never sends twice.
    dedupe_key: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    to_address: so.Mapped[str] = so.mapped_column(sa.String(254))
    subject: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default="pending")
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    lease_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_outbound_email_due", "status", "next_attempt_at"),)
