"""Core tables: clinics, staff, patients, their course, sessions and devices."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin

from meso import protocol
from meso.extensions import Model
from meso.timeutil import DEFAULT_ZONE_NAME

if TYPE_CHECKING:
    from meso.models.clinic import ClinicSettings


def utcnow() -> datetime:
    return datetime.now(UTC)


# Patient.attention_review_at of a row whose stored attention facts must be recomputed before
# the roster reads them (meso/attention_watch.py): long past, so any read finds it due.
ATTENTION_STALE = datetime(2000, 1, 1, tzinfo=UTC)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a bearer token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """Return a fresh bearer token: 256 bits from the OS, URL-safe."""
    return secrets.token_urlsafe(32)


class UTCDateTime(sa.types.TypeDecorator):
    """An aware UTC instant on every backend (SQLite has no time zones: it stores naive UTC)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


class Clinic(Model):
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    phone: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default=DEFAULT_ZONE_NAME)
    # The language a new patient gets unless staff pick another (a locale: "en", "it", ...).
    lang: so.Mapped[str] = so.mapped_column(sa.String(8), default="en", server_default="en")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    staff: so.WriteOnlyMapped[StaffUser] = so.relationship(back_populates="clinic")
    patients: so.WriteOnlyMapped[Patient] = so.relationship(back_populates="clinic")
    # The clinic's settings row, None for the defaults: read-only here, so that a patient's
    # page loads it in the same query as the clinic (meso.access); written as its own row
    # (meso.clinics, which expires this attribute when it adds one).
    settings: so.Mapped[ClinicSettings | None] = so.relationship(viewonly=True)


class StaffUser(UserMixin, Model):
    __tablename__ = "staff_user"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    clinic_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clinic.id"), index=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    role: so.Mapped[str] = so.mapped_column(sa.String(20), default="admin")
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # Bumped on deactivation and password change: signed-in sessions of the old one end.
    session_version: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    last_sign_in_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # The staff member's own language for the staff pages; None: the browser's Accept-Language.
    lang: so.Mapped[str | None] = so.mapped_column(sa.String(8))

    clinic: so.Mapped[Clinic] = so.relationship(back_populates="staff")

    @property
    def is_active(self) -> bool:
        return self.active

    @so.validates("email")
    def normalise_email(self, key: str, email: str) -> str:
        # One account per address, however it was typed.
        return email.strip().lower()


class Patient(Model):
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    clinic_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clinic.id"), index=True)
    # The least we need: how the clinic and the app address the patient, and an e-mail
    # address only when the patient consented to reminders by e-mail (issue 13).
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    # The patient's language (pages, notifications, the offline copy); None: the clinic's.
    lang: so.Mapped[str | None] = so.mapped_column(sa.String(8))
    # A confirmed address reminders may go to when push cannot reach the patient, and when
    # the patient (or the desk, on their behalf) consented. None: no e-mail reminders.
    email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    email_consent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # When the address on file bounced for good and was dropped (the reminders page says so
    # until the patient gives an address again); the address itself is not kept.
    email_dropped_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    invite_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True)
    invite_expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Devices the current invite has opened (meso.access caps it); a new invite starts at 0.
    invite_uses: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    archived_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # When the patient asked, from their phone, for everything to be erased; their clinic
    # sees it on the patient's page, and an admin erases (meso/erasure.py).
    erasure_requested_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Bumped by every write a patient's page could show (meso/page_versions.py): a rendered
    # page kept under an older version (meso/page_cache.py) is never shown again.
    version: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    # The roster's "next session" sort key, stored so a clinic of 100,000 pages by an index
    # (meso/next_session.py, kept by courses.after_course_change): the next booked session,
    # else the projected one (the last known + the interval) while sessions remain, else
    # None. ``next_session_booked`` marks a booked one, which goes stale once it passes.
    next_session_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    next_session_booked: so.Mapped[bool] = so.mapped_column(default=False,
                                                            server_default=sa.false())
    # What the roster filters attention by, from an index (meso/attention_watch.py): a missed
    # check-in exactly while missed_from <= now < missed_until; ``attention_watch`` true while
    # any reason but an alert may hold (a superset the roster narrows by); all recomputed
    # when ``attention_review_at`` has passed. A new row is watched and due for review.
    # ``first_session_at``: the course's first session, for "reached by nothing in the first
    # hours" (meso/reach.py) without a subquery per row.
    first_session_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    missed_from: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    missed_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    attention_watch: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    attention_review_at: so.Mapped[datetime | None] = so.mapped_column(
        UTCDateTime, default=ATTENTION_STALE)

    # The roster's first page in each order (meso/roster_query.py).
    __table_args__ = (
        sa.Index("ix_patient_roster_next", "clinic_id", "next_session_at",
                 sa.text("lower(name)"), "id",
                 postgresql_where=sa.text("archived_at IS NULL"),
                 sqlite_where=sa.text("archived_at IS NULL")),
        sa.Index("ix_patient_roster_name", "clinic_id", sa.text("lower(name)"), "id",
                 postgresql_where=sa.text("archived_at IS NULL"),
                 sqlite_where=sa.text("archived_at IS NULL")),
        sa.Index("ix_patient_roster_recent", "clinic_id", "created_at", "id",
                 postgresql_where=sa.text("archived_at IS NULL"),
                 sqlite_where=sa.text("archived_at IS NULL")),
        # The archived list: a clinic's archived patients, found without reading its current
        # ones (a scan of every row before, 50 ms at 100,000), in the order of "name".
        sa.Index("ix_patient_roster_archived", "clinic_id", sa.text("lower(name)"), "id",
                 postgresql_where=sa.text("archived_at IS NOT NULL"),
                 sqlite_where=sa.text("archived_at IS NOT NULL")),
        # Booked sessions that have passed, found without reading the clinic's other rows.
        sa.Index("ix_patient_next_booked", "clinic_id", "next_session_at",
                 postgresql_where=sa.text("next_session_booked"),
                 sqlite_where=sa.text("next_session_booked")),
        # The roster's "needs attention" group in the order of "next": only watched rows.
        sa.Index("ix_patient_roster_watch", "clinic_id", "next_session_at",
                 sa.text("lower(name)"), "id",
                 postgresql_where=sa.text("archived_at IS NULL AND attention_watch"),
                 sqlite_where=sa.text("archived_at IS NULL AND attention_watch")),
        # The rows due for review, found without reading the clinic's other rows.
        sa.Index("ix_patient_attention_review", "clinic_id", "attention_review_at",
                 postgresql_where=sa.text("attention_review_at IS NOT NULL"),
                 sqlite_where=sa.text("attention_review_at IS NOT NULL")),
    )

    clinic: so.Mapped[Clinic] = so.relationship(back_populates="patients")
    course: so.Mapped[Course] = so.relationship(
        back_populates="patient", cascade="all, delete-orphan", uselist=False
    )
    devices: so.WriteOnlyMapped[PatientDevice] = so.relationship(
        back_populates="patient", cascade="all, delete-orphan", passive_deletes=True
    )

    def issue_invite(self, now: datetime, days: int) -> str:
        """Replace the invite link with a new one and return its token (stored only hashed)."""
        token = new_token()
        self.invite_hash = hash_token(token)
        self.invite_expires_at = now + timedelta(days=days)
        self.invite_uses = 0
        return token

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else self.name


class Course(Model):
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("patient.id", ondelete="CASCADE"), unique=True
    )
    area: so.Mapped[str] = so.mapped_column(sa.String(20))
    planned_sessions: so.Mapped[int]
    interval_weeks: so.Mapped[int]
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # The patient tapped "Ask for a time" for a session the clinic has not booked; cleared when
    # a session is recorded or moved. The roster and the patient's page show it.
    time_requested_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    patient: so.Mapped[Patient] = so.relationship(back_populates="course")
    sessions: so.Mapped[list[TreatmentSession]] = so.relationship(
        back_populates="course",
        cascade="all, delete-orphan",
        order_by="TreatmentSession.starts_at",
    )

    __table_args__ = (
        sa.CheckConstraint("planned_sessions BETWEEN {} AND {}".format(*protocol.SESSIONS_RANGE),
                           name="planned_sessions_range"),
        sa.CheckConstraint("interval_weeks BETWEEN {} AND {}".format(*protocol.INTERVAL_RANGE),
                           name="interval_weeks_range"),
    )

    @property
    def session_starts(self) -> list[datetime]:
        return [s.starts_at for s in self.sessions]


class TreatmentSession(Model):
    __tablename__ = "treatment_session"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("course.id", ondelete="CASCADE"), index=True
    )
    number: so.Mapped[int]
    starts_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)

    course: so.Mapped[Course] = so.relationship(back_populates="sessions")

    __table_args__ = (
        sa.UniqueConstraint("course_id", "number"),
        # Covers the roster's per-course aggregate (count, first, last, next) without the table.
        sa.Index("ix_treatment_session_course_starts", "course_id", "starts_at"),
        # The sessions of the last days, for missed check-ins (attention.missed_checkins).
        sa.Index("ix_treatment_session_starts", "starts_at"),
    )


class PatientDevice(Model):
    """A browser the patient opened their link in: a revocable, hashed device cookie."""

    __tablename__ = "patient_device"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    patient: so.Mapped[Patient] = so.relationship(back_populates="devices")
