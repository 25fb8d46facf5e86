"""The patient's calendar feed: the course in their phone's own calendar, behind a secret link."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from meso.extensions import Model
from meso.models.core import Patient, UTCDateTime, utcnow


class CalendarFeed(Model):
    """One per patient, made when they first ask for a calendar link.

    The link's token is stored only as its SHA-256 (None: no live link, stopped by the patient
    or by "sign out everywhere"). The row outlives a stopped link so that ``revision`` only
    ever grows: it is every event's SEQUENCE, so a calendar that imported an older copy takes
    the newer one for an update, whichever link it came through.
    """

    __tablename__ = "calendar_feed"

    patient_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True)
    issued_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)  # the live link's
    # Bumped by every change the course's events may follow (meso/calendar_feeds.py).
    revision: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    changed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # When a calendar last fetched the feed (written at most hourly): it is subscribed.
    fetched_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    patient: so.Mapped[Patient] = so.relationship()
