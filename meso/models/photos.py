"""Progress photos, kept in the database: bytes and content type in a table of their own, so
backups, clinic scoping, export and erasure need nothing else, and every web process and
machine sees the same photos."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from meso.extensions import Model
from meso.models.core import UTCDateTime, utcnow


class Photo(Model):
    """One progress photo, as meso/photos.py made it: a JPEG (at most 1600 px on its long side)
    and a 320 px thumbnail, with no metadata at all. The bytes are deferred: listing a
    patient's photos never loads them."""

    __tablename__ = "photo"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("patient.id", ondelete="CASCADE")
    )
    # The check-in it came with, if any. The photo is the patient's, not the check-in's: were
    # a check-in ever removed, its photo stays on the Timeline (erasure removes both).
    check_in_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("check_in.id", ondelete="SET NULL"), index=True
    )
    # Where in the course it was taken: sessions held by then (0 before the first), and the
    # patient's calendar day. The Timeline groups photos by session.
    session_number: so.Mapped[int] = so.mapped_column(sa.SmallInteger)
    local_date: so.Mapped[date]
    content_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    data: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, deferred=True)
    thumbnail: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, deferred=True)
    width: so.Mapped[int]
    height: so.Mapped[int]
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_photo_patient_taken", "patient_id", "created_at"),)
