"""Clinic-side tables: protocol settings, per-patient windows, staff invites and sessions,
access codes, rate-limit counters and the audit log."""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from meso import protocol
from meso.extensions import Model, db
from meso.models.core import UTCDateTime, utcnow

if TYPE_CHECKING:
    from meso.models.core import StaffUser

# Clinic defaults before an admin changes anything: the protocol's.
DEFAULT_FIRST_WEEKS_DAYS = protocol.DEFAULT_FIRST_WEEKS.days
DEFAULT_REMINDER_TIME = protocol.DEFAULT_MORNING
DEFAULT_QUIET_START, DEFAULT_QUIET_END = protocol.DEFAULT_QUIET_HOURS


class ClinicSettings(Model):
    """A clinic's protocol settings; a clinic without a row uses the defaults."""

    __tablename__ = "clinic_settings"

    clinic_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True
    )
    # Only the windows the clinic changed, {restriction key: hours}; the rest are defaults.
    window_hours: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    first_weeks_days: so.Mapped[int] = so.mapped_column(default=DEFAULT_FIRST_WEEKS_DAYS)
    reminder_time: so.Mapped[time] = so.mapped_column(sa.Time, default=DEFAULT_REMINDER_TIME)
    quiet_start: so.Mapped[time] = so.mapped_column(sa.Time, default=DEFAULT_QUIET_START)
    quiet_end: so.Mapped[time] = so.mapped_column(sa.Time, default=DEFAULT_QUIET_END)
    # Patients may add progress photos (on by default). Off: no new photos; those already
    # taken stay the patient's, on their Timeline and in their export.
    photos_enabled: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    # The week's opening hours (meso/opening_hours.py: seven days, Monday first, each null or
    # ["09:00", "19:00"]); null when the clinic gave none. Today says what to do out of hours.
    opening_hours: so.Mapped[list | None] = so.mapped_column(sa.JSON)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("first_weeks_days BETWEEN {} AND {}".format(*protocol.FIRST_WEEKS_RANGE),
                           name="first_weeks_range"),
    )

    @classmethod
    def of(cls, clinic_id: int) -> ClinicSettings:
        """Return the clinic's settings row, or an unsaved one holding the defaults."""
        return db.session.get(cls, clinic_id) or cls.defaults(clinic_id)

    @classmethod
    def defaults(cls, clinic_id: int) -> ClinicSettings:
        """An unsaved row holding the defaults (a clinic that changed nothing has no row)."""
        return cls(
            clinic_id=clinic_id,
            window_hours={},
            first_weeks_days=DEFAULT_FIRST_WEEKS_DAYS,
            reminder_time=DEFAULT_REMINDER_TIME,
            quiet_start=DEFAULT_QUIET_START,
            quiet_end=DEFAULT_QUIET_END,
            photos_enabled=True,
        )


class WindowOverride(Model):
    """One restriction window changed for one patient ("sauna 72 h for this patient")."""

    __tablename__ = "window_override"

    patient_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True
    )
    key: so.Mapped[str] = so.mapped_column(sa.String(20), primary_key=True)
    hours: so.Mapped[int]
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class StaffInvite(Model):
    """A one-time link to set a password: a new colleague's invite, or a reset for one."""

    __tablename__ = "staff_invite"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    clinic_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("clinic.id", ondelete="CASCADE"), index=True
    )
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    role: so.Mapped[str] = so.mapped_column(sa.String(20))
    # Set for a password reset of an existing account; None for a new colleague.
    staff_user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


class StaffSession(Model):
    """A signed-in staff session, held on the server.

    The session cookie carries a random token and this row its SHA-256: signing out deletes
    the row, so a copy of the cookie made before stops working. The row also keeps the
    idle and absolute clocks and a keyed digest of the client's network (ratelimit.py).
    """

    __tablename__ = "staff_session"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    staff_user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    address_key: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow,
                                                         index=True)


class AccessCode(Model):
    """A patient's access code for the installed app.

    The code is a public locator (to find the patient and rate-limit guesses at them) plus a
    secret derived from SECRET_KEY and ``salt``: nothing stored here reveals the secret, yet
    the app can show the code on the patient's Today and printed card.
    """

    __tablename__ = "access_code"

    patient_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True
    )
    locator: so.Mapped[str] = so.mapped_column(sa.String(8), unique=True)
    salt: so.Mapped[str] = so.mapped_column(sa.String(32))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class RateLimit(Model):
    """Failures counted in a fixed window, by key ("ip:<hmac>", "code:<locator>")."""

    __tablename__ = "rate_limit"

    key: so.Mapped[str] = so.mapped_column(sa.String(80), primary_key=True)
    window_start: so.Mapped[datetime] = so.mapped_column(UTCDateTime, index=True)
    count: so.Mapped[int] = so.mapped_column(default=0)


class AuditEvent(Model):
    """Who did what, when (UTC). Never a token, a code or a password in ``detail``.

    Erasing a patient (meso/erasure.py) removes every event about them and records one
    "patient.erased" event: by whom and when, with no patient_id and no detail.
    """

    __tablename__ = "audit_event"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # None only for a failed sign-in with an email no clinic has.
    clinic_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("clinic.id", ondelete="CASCADE")
    )
    staff_user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="SET NULL"), index=True
    )
    patient_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("patient.id", ondelete="SET NULL")
    )
    action: so.Mapped[str] = so.mapped_column(sa.String(40))
    detail: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    staff: so.Mapped[StaffUser | None] = so.relationship(
        foreign_keys=[staff_user_id], lazy="joined"
    )

    __table_args__ = (
        sa.Index("ix_audit_event_clinic_created", "clinic_id", "created_at"),
        sa.Index("ix_audit_event_patient_created", "patient_id", "created_at"),
    )


class ClinicReplan(Model):
    """A clinic's settings changed: the reminder worker re-plans its patients (a queue row).

    The settings request only stamps this row (one statement, whatever the clinic's size); the
    worker (meso/clinic_replans.py) re-plans the patients in id order, a batch at a time,
    under a lease, and deletes the row when the last one is done. A newer change bumps
    ``generation`` and starts again from the first patient; a batch made under an older one
    is rolled back, never recorded.
    """

    __tablename__ = "clinic_replan"

    clinic_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True
    )
    requested_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)  # the latest change
    generation: so.Mapped[int] = so.mapped_column(default=1)
    after_patient_id: so.Mapped[int] = so.mapped_column(default=0)  # done up to this id
    lease_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
